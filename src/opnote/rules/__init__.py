"""Rule files shipped inside the package, validated with pydantic when loaded.

Every file is found with :mod:`importlib.resources`, never by path arithmetic, so the rules are
the same in a checkout, an installed wheel or a zip.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import RuleFileError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionGroup(_Strict):
    category: str
    phrases: list[str]


class SectionFile(_Strict):
    version: str
    description: str
    sections: list[SectionGroup]


LABELS = {
    "SITE", "SIDE", "TUMOR", "MARGIN", "MARGIN_STATUS", "FROZEN", "IMAGING", "IMAGING_GENERIC",
    "RECON", "RECON_GENERIC", "PATH_PENDING", "BIOPSY", "CONSENT", "AMPUTATION_DISCUSSION",
    "ONCOLOGIC", "PROCEDURE", "FRACTURE", "MOD22", "MOD58", "MOD62", "MOD78", "MOD79", "GLOBAL_CUE", "ASSISTANT",
}


class TargetGroup(_Strict):
    id: str
    label: str
    attrs: dict[str, Any]
    phrases: list[str] = []
    patterns: list[list[dict[str, Any]]] = []
    not_followed_by: list[str] = []

    @field_validator("label")
    @classmethod
    def _known_label(cls, v: str) -> str:
        if v not in LABELS:
            raise ValueError(f"unknown label {v!r}; known: {sorted(LABELS)}")
        return v


class TargetFile(_Strict):
    version: str
    description: str
    groups: list[TargetGroup]


class Abbreviation(_Strict):
    short: str
    long: str
    target: str | None
    lower: bool


class AbbreviationFile(_Strict):
    version: str
    description: str
    abbreviations: list[Abbreviation]


class ContextRuleRow(_Strict):
    literal: str
    category: Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY"]
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
    allowed_types: list[str] | None = None
    max_scope: int | None = None


class ContextFile(_Strict):
    version: str
    description: str
    result_bearing_labels: list[str]
    default_excluded: dict[str, list[str]]
    context_rules: list[ContextRuleRow]


def read_json(name: str) -> Any:
    """Read a JSON file from ``opnote/rules`` (``name`` may contain ``/``)."""
    ref = resources.files(__name__)
    for part in name.split("/"):
        ref = ref.joinpath(part)
    try:
        return json.loads(ref.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RuleFileError(f"rule file {name} is missing from the package") from e
    except json.JSONDecodeError as e:
        raise RuleFileError(f"rule file {name} is not valid JSON: line {e.lineno}: {e.msg}") from e


def validate(model: type[BaseModel], data: Any, name: str) -> Any:
    """Validate ``data`` against ``model``; a failure names the file and each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"rule file {name} does not validate:"]
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise RuleFileError("\n".join(lines)) from None


@lru_cache(maxsize=None)
def sections() -> SectionFile:
    return validate(SectionFile, read_json("sections.json"), "sections.json")


@lru_cache(maxsize=None)
def targets() -> TargetFile:
    data = validate(TargetFile, read_json("targets.json"), "targets.json")
    ids = [g.id for g in data.groups]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuleFileError(f"rule file targets.json repeats group ids: {sorted(dupes)}")
    return data


@lru_cache(maxsize=None)
def abbreviations() -> AbbreviationFile:
    data = validate(AbbreviationFile, read_json("abbreviations.json"), "abbreviations.json")
    known = {g.id for g in targets().groups}
    for a in data.abbreviations:
        if a.target is not None and a.target not in known:
            raise RuleFileError(f"abbreviations.json: {a.short} points to unknown target group {a.target!r}")
    return data


@lru_cache(maxsize=None)
def context() -> ContextFile:
    return validate(ContextFile, read_json("context_rules.json"), "context_rules.json")


def target_attrs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Map each target group id to its (label, attributes)."""
    return {g.id: (g.label, dict(g.attrs)) for g in targets().groups}


def target_exclusions() -> dict[str, set[str]]:
    """Map a target group id to the words that must not follow its match ("spacer" + "blocks")."""
    return {g.id: {w.lower() for w in g.not_followed_by} for g in targets().groups if g.not_followed_by}


class ChecklistItemRule(_Strict):
    id: Literal[
        "tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging",
        "pathology", "diagnosis_code", "reconstruction", "informed_consent",
    ]
    title: str
    severity: Literal["required", "recommended"]
    weight: int
    satisfied_by: str
    why: str
    suggestion: str
    source: str


class Checklist(_Strict):
    code: str
    version: str
    title: str
    descriptor_note: str
    sites: list[str]
    better_code_for_site: dict[str, str]
    global_days: int
    items: list[ChecklistItemRule]

    @field_validator("items")
    @classmethod
    def _all_nine(cls, v: list[ChecklistItemRule]) -> list[ChecklistItemRule]:
        ids = [i.id for i in v]
        if len(ids) != 9 or len(set(ids)) != 9:
            raise ValueError("a checklist lists each of the nine items exactly once")
        return v


def available_checklists() -> list[str]:
    """CPT codes that have a checklist file."""
    ref = resources.files(__name__).joinpath("checklists")
    return sorted(p.name[:-5] for p in ref.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def checklist(code: str = "27365") -> Checklist:
    """The checklist for a CPT code (``RuleFileError`` when none or malformed)."""
    if code not in available_checklists():
        raise RuleFileError(f"no checklist for CPT {code}; available: {', '.join(available_checklists())}")
    return validate(Checklist, read_json(f"checklists/{code}.json"), f"checklists/{code}.json")
