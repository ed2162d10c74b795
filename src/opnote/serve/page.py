"""What the live page shows for a report (``PATCH /v1/sessions/{id}?format=page``).

Every decision is made here, in Python, with the words, symbols and colours of the other
renderers (``opnote.render.labels``, the case line of ``opnote.render.case``); the page's script
only writes these fields into the page, as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..render.case import case_summary
from ..render.labels import (
    GAP_STATUSES,
    STATUS_ICON,
    STATUS_LABEL,
    VERDICT_ICON,
    VERDICT_LABEL,
    colour,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import ChecklistItem, Report

__all__ = ["page_view"]


def _item(n: int, item: ChecklistItem) -> dict[str, Any]:
    background, border = colour(n)
    return {
        "id": item.id,
        "number": n + 1,
        "title": item.title,
        "status": item.status,
        "status_label": STATUS_LABEL[item.status],
        "status_icon": STATUS_ICON[item.status],
        "gap": item.status in GAP_STATUSES,
        "message": item.message,
        "suggestion": item.suggestion,
        "colour": background,
        "border": border,
        "evidence": [{"start": e.start, "end": e.end} for e in item.evidence],
    }


def page_view(report: Report) -> dict[str, Any]:
    """The page's view of ``report``: verdict, case line, checklist (with evidence offsets), and the report itself."""
    summary = case_summary(report)
    verdict = report.verdict.value if hasattr(report.verdict, "value") else str(report.verdict)
    return {
        "verdict": verdict,
        "verdict_label": VERDICT_LABEL[verdict],
        "verdict_icon": VERDICT_ICON[verdict],
        "score": report.score,
        "summary": report.summary,
        "case_line": summary.text if summary else None,
        "side_conflict": bool(summary and summary.has_conflict),
        "items": [_item(n, item) for n, item in enumerate(report.checklist)],
        "report": report.model_dump(mode="json"),
    }
