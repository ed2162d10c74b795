"""Re-anchor a report built on a note's canonical text onto the note as read.

The pipeline reads :func:`opnote.normalize.canonical` text; every offset a report carries
(checklist evidence, findings, the case block, advisories, the diagnosis, the global period) is
mapped back here, and each quoted text is cut from the original, so ``note[start:end] == text``
holds for the note the user gave.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .normalize import Canonical
from .schema import Evidence, Finding, Report


def _fix(obj: Any, canon: Canonical) -> None:
    if isinstance(obj, (Evidence, Finding)):
        s, e = canon.to_original(obj.start, obj.end)
        obj.start, obj.end, obj.text = s, e, canon.original[s:e]
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            _fix(getattr(obj, name), canon)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _fix(x, canon)


def reanchor(report: Report, canon: Canonical) -> Report:
    """``report`` with every span mapped from the canonical text to the original (in place)."""
    if canon.changed:
        _fix(report, canon)
    return report
