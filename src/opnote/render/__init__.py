"""Report renderers: text (terminal), JSON, JSON lines, Markdown, HTML, FHIR."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .case import case_line

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import Report

__all__ = ["FORMATS", "SUFFIX", "case_line", "render", "report_dict", "to_json"]

FORMATS = ("text", "json", "jsonl", "markdown", "html", "fhir")


def report_dict(report: Report) -> dict[str, Any]:
    """The contract's JSON object for a report."""
    return report.model_dump(mode="json")


def to_json(report: Report, *, indent: int | None = 2) -> str:
    return json.dumps(report_dict(report), indent=indent, ensure_ascii=False, sort_keys=False)


def render(report: Report, fmt: str, *, text: str | None = None, color: bool = False) -> str:
    """Render one report in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "jsonl":
        return to_json(report, indent=None) + "\n"
    if fmt == "text":
        from .text import render_text

        return render_text(report, color=color)
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report, text=text)
    if fmt == "html":
        from .html import render_html

        return render_html(report, text=text)
    if fmt == "fhir":
        from .fhir import to_fhir

        return json.dumps(to_fhir(report, text=text), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


SUFFIX = {"text": ".txt", "json": ".json", "jsonl": ".jsonl", "markdown": ".md", "html": ".html", "fhir": ".fhir.json"}
