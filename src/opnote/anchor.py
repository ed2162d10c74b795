"""Re-anchor a report built on a note's canonical text onto the note as read.

The pipeline reads :func:`opnote.normalize.canonical` text; every offset a report carries
(checklist evidence, findings, the case block, advisories, the diagnosis, the global period) is
mapped back here, and each quoted text is cut from the original, so ``note[start:end] == text``
holds for the note the user gave.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from .normalize import Canonical
from .schema import Evidence, Finding, Report


def _fix(obj: Evidence | Finding, canon: Canonical) -> None:
    s, e = canon.to_original(obj.start, obj.end)
    # The model's own fields, set in place without pydantic's per-attribute assignment hook (these
    # models do not validate assignment; the values are an int, an int and a str).
    fields = obj.__dict__
    fields["start"], fields["end"], fields["text"] = s, e, canon.original[s:e]


def _spans(report: Report) -> Iterator[Evidence | Finding]:
    """Every span a report carries (a test walks the model to prove none is missed)."""
    for item in report.checklist:
        yield from item.evidence
    yield from report.findings
    yield from report.diagnosis.evidence
    for adv in report.advisories:
        yield from adv.evidence
    if report.global_period is not None:
        yield from report.global_period.evidence
    case = report.case
    for fact in (case.operation, case.amputation_level, case.tissue, case.tumor_status, case.side):
        yield from fact.evidence
    for conflict in case.side.conflicts:
        yield from conflict.evidence


def all_spans(obj: Any) -> Iterator[Evidence | Finding]:
    """Every Evidence and Finding inside a pydantic model, found by walking it (slow; for tests)."""
    if isinstance(obj, (Evidence, Finding)):
        yield obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from all_spans(getattr(obj, name))
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from all_spans(x)


def reanchor(report: Report, canon: Canonical) -> Report:
    """``report`` with every span mapped from the canonical text to the original (in place)."""
    if canon.changed:
        for span in _spans(report):
            _fix(span, canon)
    return report
