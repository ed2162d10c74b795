"""The one case line a surgeon checks at the top of every report.

"Right distal femur, bone, current tumor, radical resection": the side and site, the tissue, the
tumor's status and the operation, read from ``report.case`` (when the report has one) and
``report.diagnosis``. A side the note contradicts elsewhere is shown in words and with a symbol
("⚠ SIDE CONFLICT: left in implants"), never by colour alone.

``report.case`` is read with ``getattr(report, "case", None)`` and each of its parts as an
attribute or a mapping key, so this works with reports made before the case block existed, with
pydantic models and with plain dicts of the JSON shape::

    {"operation": {"value": "radical_resection", "evidence": [...]},
     "side": {"value": "right", "evidence": [...],
              "conflicts": [{"value": "left", "place": "implants", "evidence": [...]}]}, ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

CONFLICT_ICON: Final = "⚠"

_TISSUE: Final[dict[str, str]] = {
    "bone": "bone",
    "soft_tissue": "soft tissue",
    "soft_tissue_invading_bone": "soft tissue invading bone",
}
_TUMOR_STATUS: Final[dict[str, str]] = {
    "current": "current tumor",
    "historical": "previous tumor, none now",
    "none": "no tumor",
}
_AMPUTATION_LEVEL: Final[dict[str, str]] = {
    "transfemoral": "transfemoral (above-knee)",
    "knee": "through the knee",
    "transtibial": "transtibial (below-knee)",
    "hip": "hip disarticulation",
    "hindquarter": "hindquarter (hemipelvectomy)",
    "other": "other level",
}
_UNKNOWN: Final = frozenset({"", "unknown"})


@dataclass(frozen=True, slots=True)
class SideConflict:
    """Another side the note gives, and where (``place`` as the report names it)."""

    value: str
    place: str


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """The case line as text, and the side conflicts it shows."""

    text: str
    conflicts: tuple[SideConflict, ...] = ()

    @property
    def has_conflict(self) -> bool:
        return bool(self.conflicts)


def _part(obj: object, name: str) -> object:
    """``obj.name`` or ``obj[name]``; None when ``obj`` has neither."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _text(value: object) -> str | None:
    """``value`` as text; None when it is absent, null, empty or ``unknown``."""
    if value is None or str(value) in _UNKNOWN:
        return None
    return str(value)


def _value(block: object, name: str) -> str | None:
    """The ``value`` of the case field ``name`` (see :func:`_text`)."""
    return _text(_part(_part(block, name), "value"))


def _words(value: str) -> str:
    return value.replace("_", " ")


def _conflicts(case: object) -> tuple[SideConflict, ...]:
    found = _part(_part(case, "side"), "conflicts")
    if not isinstance(found, (list, tuple)):
        return ()
    return tuple(
        SideConflict(value=_text(_part(c, "value")) or "another side", place=_words(_text(_part(c, "place")) or ""))
        for c in found
    )


def _conflict_text(conflicts: tuple[SideConflict, ...]) -> str:
    by_side: dict[str, list[str]] = {}
    for c in conflicts:
        places = by_side.setdefault(c.value, [])
        if c.place and c.place not in places:
            places.append(c.place)
    where = "; ".join(f"{side} in {' and '.join(places)}" if places else side for side, places in by_side.items())
    return f"({CONFLICT_ICON} SIDE CONFLICT: {where})"


def _where(side: str | None, site: str | None, conflicts: tuple[SideConflict, ...]) -> str:
    """'Right distal femur', 'Right side', 'Distal femur, side not stated' (+ the conflict)."""
    if side and site:
        text = f"{side.capitalize()} {_words(site)}"
    elif side:
        text = f"{side.capitalize()} side"
    elif site:
        text = f"{_words(site).capitalize()}, side not stated"
    else:
        text = "Side not stated"
    return f"{text} {_conflict_text(conflicts)}" if conflicts else text


def _operation(case: object) -> str | None:
    operation = _value(case, "operation")
    if operation is None:
        return None
    level = _value(case, "amputation_level")
    if level is None:
        return _words(operation)
    return f"{_words(operation)}, {_AMPUTATION_LEVEL.get(level, _words(level))}"


def case_summary(report: object) -> CaseSummary | None:
    """The case line of ``report`` with its side conflicts; None when nothing about the case is known."""
    case = getattr(report, "case", None)
    diagnosis = getattr(report, "diagnosis", None)
    side = _value(case, "side") or _text(_part(diagnosis, "laterality"))
    site = _text(_part(diagnosis, "site"))
    conflicts = _conflicts(case)
    tissue = _value(case, "tissue")
    status = _value(case, "tumor_status")
    rest = [
        _TISSUE.get(tissue, _words(tissue)) if tissue else None,
        _TUMOR_STATUS.get(status, _words(status)) if status else None,
        _operation(case),
    ]
    parts = [p for p in rest if p]
    if not (side or site or conflicts or parts):
        return None
    return CaseSummary(", ".join([_where(side, site, conflicts), *parts]), conflicts)


def case_line(report: object) -> str | None:
    """One line a surgeon can check: "Right distal femur, bone, current tumor, radical resection".

    Built from ``report.case`` when the report has one and from ``report.diagnosis`` (site and
    laterality); a side conflict shows as "(⚠ SIDE CONFLICT: left in implants)" after the side.
    None when the report says nothing about the case.
    """
    summary = case_summary(report)
    return summary.text if summary else None
