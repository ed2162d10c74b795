"""One assessor per checklist item, found by the item's id in the checklist file.

An assessor is a function from the note's :class:`Context` (its mentions, its settled case, the
checklist, the claim's codes) to an :class:`Assessment` (status, message, evidence). Adding a
checklist item means a row in ``rules/checklists/CODE.json`` and one function here registered with
:func:`assessor`; nothing else lists the items. What each status requires is written down in
``docs/items.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import RuleFileError

if TYPE_CHECKING:
    from ..case import Case, Span
    from ..mentions import NoteView
    from ..rules import Checklist
    from ..schema import Diagnosis

STATUSES = ("met", "partial", "missing", "conflict", "not_applicable")


@dataclass
class Context:
    """What an assessor reads."""

    view: NoteView
    case: Case
    checklist: Checklist
    diagnosis: Diagnosis
    diagnosis_status: tuple[str, str] = ("missing", "")

    @property
    def text(self) -> str:
        return self.view.text


@dataclass
class Assessment:
    """An assessor's judgment of one item."""

    status: str
    message: str
    evidence: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


Assessor = Callable[[Context], Assessment]
ASSESSORS: dict[str, Assessor] = {}


def assessor(name: str) -> Callable[[Assessor], Assessor]:
    """Register ``fn`` as the assessor named ``name`` (by default a checklist item's id)."""

    def register(fn: Assessor) -> Assessor:
        if name in ASSESSORS:
            raise ValueError(f"assessor {name!r} registered twice")
        ASSESSORS[name] = fn
        return fn

    return register


def assessor_for(name: str) -> Assessor:
    """The assessor named ``name`` (a :class:`RuleFileError` when a checklist names an unknown one)."""
    from . import items  # noqa: F401  (registers the assessors)

    try:
        return ASSESSORS[name]
    except KeyError:
        raise RuleFileError(f"no assessor for checklist item {name!r}; known: {', '.join(sorted(ASSESSORS))}") from None


def check_checklist(checklist: Checklist) -> None:
    """Fail early when a checklist names an item no assessor judges."""
    for item in checklist.items:
        assessor_for(item.assessor_name)
