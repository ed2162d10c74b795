"""The assessor registry and the types assessors read and return (see :mod:`opnote.assess`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
