"""One assessor per checklist item, found by the item's id in the checklist file.

An assessor is a function from the note's :class:`Context` (its mentions, its settled case, the
checklist, the claim's codes) to an :class:`Assessment` (status, message, evidence). Adding a
checklist item means a row in ``rules/checklists/CODE.json`` and one function here registered with
:func:`assessor`; nothing else lists the items. What each status requires is written down in
``docs/items.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RuleFileError
from .base import ASSESSORS, STATUSES, Assessment, Assessor, Context, assessor

if TYPE_CHECKING:
    from ..rules import Checklist

__all__ = ["ASSESSORS", "STATUSES", "Assessment", "Assessor", "Context", "assessor", "assessor_for", "check_checklist"]


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
