"""The batch table: the columns of ``summary.csv`` and how a cell is written.

One row per input, whatever happened to it. ``summary.csv`` (:mod:`opnote.sinks`) and the CSV that
``index.html`` downloads are written from the same row dicts with :func:`summary_cells`, so the
two files agree cell for cell. Kept beside the renderers (not in :mod:`opnote.sinks`) because the
batch index needs the columns and the cell rule too, and the sinks import the renderers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ..io import display_name

#: A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def item_ids(code: str = "27365") -> list[str]:
    """The item ids of ``code``'s checklist, in its order: one status column each (read from the checklist file)."""
    from .. import rules as rule_files

    return [it.id for it in rule_files.checklist(code).items]


def summary_fields(code: str = "27365") -> list[str]:
    """The columns of summary.csv for a run checked against ``code``."""
    return [
        "file", "id", "score", "verdict", "verdict_reason", *item_ids(code),
        "case", "date_of_service", "advisories", "amount_at_stake", "report", "error",
    ]


def spreadsheet_safe(value: object) -> str:
    """A CSV cell that no spreadsheet runs as a formula and that stays on its row.

    Control characters are escaped as in messages (``\\r``: the csv module does not quote a
    lone carriage return, which would end the row); a cell that still starts with ``= + - @``
    gets a leading ``'``, as OWASP advises against CSV injection.
    """
    text = display_name("" if value is None else str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def summary_cells(row: Mapping[str, object], fields: Sequence[str]) -> list[str]:
    """The cells of one summary.csv line: ``row``'s value of each field, spreadsheet-safe (empty when absent)."""
    return [spreadsheet_safe(row.get(k)) for k in fields]
