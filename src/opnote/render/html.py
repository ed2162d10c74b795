"""The surgeon-facing HTML report: one self-contained page per note, and a batch index.

Every page is a single file with inline CSS and no external resources (no scripts, fonts, images
or style sheets are fetched), so it opens offline from an e-mail attachment or an EHR viewer. The
per-note report has no script at all. The index opens with a summary of the batch drawn as inline
SVG (:mod:`~opnote.render.dashboard`), then a table of every note; one inline script sorts and
filters the table, shows it a page at a time and downloads the matching rows as CSV, from the
rows' summary.csv cells kept in the page as JSON. Without the script the page is fully readable
(the summary, and every row of the table). A Content-Security-Policy meta tag forbids any network
load and, on the report, any script, as a second line of defence behind HTML escaping.

How a page is made (the layout of spaCy's displaCy, with Jinja2):

* ``view.py`` decides everything a page shows and returns typed dataclasses
  (:class:`~opnote.render.view.ReportView`, :class:`~opnote.render.view.IndexView`);
  ``highlight.py`` turns the evidence spans into the pieces of the highlighted note;
* ``templates/`` holds the pages (``report.html``, ``index.html``) and their partials
  (``_checklist.html``, ``_coding.html``, ``_note.html``, ``_evidence.html``; the index's
  ``_dashboard.html`` and ``_patterns.html``), which only write the view out. Autoescaping is on
  for every value (the index's row data goes through Jinja2's ``tojson``);
* ``static/`` holds the CSS and the index's script as package files; they are read once and
  inlined, so the page stays self-contained, and the script is allowed by its hash in the policy.

Every value is escaped by Jinja2's autoescape, quotes too; the page's quote entities are then
written as :func:`html.escape` writes them (``&#x27;``, ``&quot;``), so pages are byte-identical
to those of the renderer before the templates.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .. import __version__
from .highlight import Span, evidence_spans
from .labels import (
    ADVISORY_LABEL,
    CATEGORY_LABEL,
    GAP_STATUSES,
    PALETTE,
    STATUS_ICON,
    STATUS_LABEL,
    VERDICT_ICON,
    VERDICT_LABEL,
    VERDICT_RANK,
)
from .view import index_view, report_view

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import Report

__all__ = [
    "render_html",
    "render_index",
    "evidence_spans",
    "esc",
    "Span",
    "STATUS_LABEL",
    "STATUS_ICON",
    "VERDICT_LABEL",
    "VERDICT_ICON",
    "VERDICT_RANK",
    "ADVISORY_LABEL",
    "CATEGORY_LABEL",
    "GAP_STATUSES",
    "PALETTE",
]

# The policies are ours (no note text in them): written as they are, not escaped.
_CSP_REPORT = Markup("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'")
_CSP_INDEX = Markup("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{hash}'; base-uri 'none'; form-action 'none'")


def esc(s: object) -> str:
    """HTML-escape any value (quotes too, so the result is safe in attribute values)."""
    return _html.escape("" if s is None else str(s), quote=True)


def _entities(page: str) -> str:
    """Write the quote entities as :func:`html.escape` does, as the pages always have.

    Jinja2's autoescape (markupsafe) writes ``'`` and ``"`` as ``&#39;`` and ``&#34;``. Those
    strings can only come from escaping (a note's own ``&#39;`` is escaped to ``&amp;#39;``, and
    the templates, CSS and script contain neither), so replacing them on the whole page is exact.
    """
    return page.replace("&#39;", "&#x27;").replace("&#34;", "&quot;")


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("opnote.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@cache
def _static(name: str) -> Markup:
    """A CSS or script file shipped in ``static/`` (trusted package data, inlined as it is)."""
    return Markup(files("opnote.render").joinpath("static", name).read_text(encoding="utf-8"))


@cache
def _index_script() -> Markup:
    return Markup(_static("index.js").rstrip("\n"))


def _csp_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def render_html(report: Report, text: str | None = None) -> str:
    """One self-contained HTML page for a report; with ``text``, the note with its evidence highlighted."""
    page = report_view(report, text, csp=_CSP_REPORT, version=__version__)
    return _entities(_env().get_template("report.html").render(page=page, css=_static("report.css")))


def render_index(rows: Sequence[Mapping[str, Any]], code: str = "27365", *, group_by: str | None = None) -> str:
    """One page for a batch: a summary with charts, then every note in a table to filter, sort and download.

    ``rows`` are the dicts ``opnote check --out`` builds (:func:`opnote.sinks.summary_row`):
    ``file``, ``id``, ``score``, ``verdict``, ``verdict_reason``, one key per checklist item id
    (its status), ``case``, ``date_of_service``, ``advisories``, ``amount_at_stake``, ``report``
    (the report's file name in the same folder) and ``error`` (non-empty for a note that could not
    be checked); any of them may be missing. ``group_by`` ("month" or "week") adds the gap rates
    by period of the date of service.
    """
    script = _index_script()
    page = index_view(rows, code, csp=_CSP_INDEX.format(hash=_csp_hash(script)), version=__version__, group_by=group_by)
    return _entities(_env().get_template("index.html").render(page=page, css=_static("index.css"), script=script))
