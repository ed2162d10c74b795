"""Rule files shipped inside the package, validated with pydantic when loaded.

Every file is found with :mod:`importlib.resources`, never by path arithmetic, so the rules are
the same in a checkout, an installed wheel or a zip.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

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
    description: str = ""

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
    # CLAUSE_END: a TERMINATE of its own category, so that it ends the scope of every modifier
    # (medspaCy does not let a TERMINATE limit a modifier of its own category with other target types).
    category: Literal["NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY", "CLAUSE_END"]
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


_M = TypeVar("_M", bound=BaseModel)


def validate(model: type[_M], data: Any, name: str) -> _M:
    """Validate ``data`` against ``model``; a failure names the file and each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"rule file {name} does not validate:"]
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise RuleFileError("\n".join(lines)) from None


class NormalizationFile(_Strict):
    version: str
    description: str
    spelling: dict[str, str]
    phrases: dict[str, str]
    spoken_punctuation: dict[str, str] = {}
    spoken_punctuation_min: int = 3
    not_a_spoken_period: list[str] = []
    side_homophones: dict[str, str] = {}
    side_homophone_next: list[str] = []
    # A side written short in another language right after the limb ("femore dx", "fêmur E",
    # "fémur izq."): the short form -> "right" / "left", read only after one of the limb words.
    side_after_limb: dict[str, str] = {}
    side_after_limb_words: list[str] = []
    # A heading written short at the start of its line, before its colon ("IC: explained to the
    # patient ...", the informed consent of an EMR form): short form as written -> the heading.
    heading_abbreviations: dict[str, str] = {}


@cache
def normalization() -> NormalizationFile:
    """Spelling variants and dictation phrases rewritten before the rules read a note."""
    data: NormalizationFile = validate(NormalizationFile, read_json("normalize.json"), "normalize.json")
    return data


class SideRules(_Strict):
    weights: dict[str, float]
    conflict_min_weight: float
    anywhere_places: list[str]
    not_the_tumor_side: list[str]
    not_the_tumor_side_after: list[str]
    not_a_side_before: list[str]
    abbreviation_not_a_side_before: str
    not_a_side_after: list[str]
    correction: str
    abbreviations: list[str]
    after_the_site: list[str]
    error_words: str
    other_limb_places: list[str]
    other_limb_condition: str
    tumor_words: str
    other_lesion: str
    marking: str
    operation_after: str


class OperationRules(_Strict):
    weights: dict[str, float]
    precedence: list[str]
    classes: dict[str, str]
    levels: dict[str, str]
    past_anchor: str
    still_to_come: str
    after_anchor: str
    narrative_start: str
    consent_ends: str
    not_done: str
    procedure_line_chars: int


class BoneRules(_Strict):
    spared: str
    resected: str


class TissueRules(_Strict):
    soft_tissue_histology: list[str]
    either_histology: list[str]
    bone_context: str
    soft_context: str
    invasion: str


class TumorRules(_Strict):
    historical: str
    current: str
    treated_then: str
    then: str
    transformation: str
    pathology_confirms: str
    not_confirming: str


class StruckRules(_Strict):
    description: str
    bracket: str
    cues: str
    keeps: str
    spoken: str


class CaseFile(_Strict):
    version: str
    description: str
    places: dict[str, str]
    side: SideRules
    operation: OperationRules
    bone: BoneRules
    tissue: TissueRules
    tumor: TumorRules
    struck: StruckRules

    @field_validator("places")
    @classmethod
    def _has_default(cls, v: dict[str, str]) -> dict[str, str]:
        if "" not in v:
            raise ValueError('places needs a default ("") for text outside any heading')
        return v


def _regexes(case: CaseFile) -> list[tuple[str, str]]:
    s, o = case.side, case.operation
    out = [("side.correction", s.correction), ("operation.past_anchor", o.past_anchor), ("operation.after_anchor", o.after_anchor)]
    out += [(f"side.not_the_tumor_side[{i}]", r) for i, r in enumerate(s.not_the_tumor_side)]
    out += [(f"side.not_the_tumor_side_after[{i}]", r) for i, r in enumerate(s.not_the_tumor_side_after)]
    out += [(f"side.not_a_side_before[{i}]", r) for i, r in enumerate(s.not_a_side_before)]
    out += [("side.abbreviation_not_a_side_before", s.abbreviation_not_a_side_before)]
    out += [(f"side.not_a_side_after[{i}]", r) for i, r in enumerate(s.not_a_side_after)]
    out += [("operation.not_done", o.not_done), ("operation.narrative_start", o.narrative_start), ("operation.consent_ends", o.consent_ends), ("side.error_words", s.error_words)]
    out += [("operation.still_to_come", o.still_to_come)]
    out += [("struck.bracket", case.struck.bracket), ("struck.cues", case.struck.cues), ("struck.keeps", case.struck.keeps), ("struck.spoken", case.struck.spoken)]
    out += [(f"operation.levels.{k}", r) for k, r in o.levels.items()]
    out += [("bone.spared", case.bone.spared), ("bone.resected", case.bone.resected)]
    out += [(f"tissue.{k}", getattr(case.tissue, k)) for k in ("bone_context", "soft_context", "invasion")]
    out += [("tumor.historical", case.tumor.historical), ("tumor.current", case.tumor.current)]
    out += [("tumor.treated_then", case.tumor.treated_then), ("tumor.then", case.tumor.then)]
    out += [(f"tumor.{k}", getattr(case.tumor, k)) for k in ("transformation", "pathology_confirms", "not_confirming")]
    return out


@cache
def case_rules() -> CaseFile:
    """The rules that settle the case model (places, weights, precedence, cue expressions)."""
    import re

    data: CaseFile = validate(CaseFile, read_json("case.json"), "case.json")
    for where, rx in _regexes(data):
        try:
            re.compile(rx)
        except re.error as e:
            raise RuleFileError(f"rule file case.json: {where} is not a valid regular expression: {e}") from None
    unknown = set(data.operation.classes.values()) - set(data.operation.precedence)
    if unknown:
        raise RuleFileError(f"rule file case.json: operation classes {sorted(unknown)} have no precedence")
    return data


class CodeEntry(_Strict):
    """A code the note's facts point to (by variant: graft kind, size class), with its footing."""

    code: str | None = None
    none: str | None = None
    allograft: str | None = None
    autograft: str | None = None
    small: str | None = None
    large: str | None = None
    what: str
    confidence: Literal["verified", "likely"]
    source: str


class FeeEntry(_Strict):
    code: str
    year: int
    total_rvus: float | None = None
    national_amount: float | None = None
    global_days: int | None = None
    currency: str = "USD"
    setting: str = "facility"
    confidence: Literal["verified", "likely"]
    source: str


class CodingFile(_Strict):
    version: str
    description: str
    operation_codes: dict[str, dict[str, CodeEntry]]
    fees: list[FeeEntry]


@cache
def coding() -> CodingFile:
    """Code-selection facts and fee-schedule context (only verified or likely facts)."""
    data: CodingFile = validate(CodingFile, read_json("coding.json"), "coding.json")
    return data


@cache
def sections() -> SectionFile:
    return validate(SectionFile, read_json("sections.json"), "sections.json")


@cache
def targets() -> TargetFile:
    data = validate(TargetFile, read_json("targets.json"), "targets.json")
    ids = [g.id for g in data.groups]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuleFileError(f"rule file targets.json repeats group ids: {sorted(dupes)}")
    return data


@cache
def abbreviations() -> AbbreviationFile:
    data = validate(AbbreviationFile, read_json("abbreviations.json"), "abbreviations.json")
    known = {g.id for g in targets().groups}
    for a in data.abbreviations:
        if a.target is not None and a.target not in known:
            raise RuleFileError(f"abbreviations.json: {a.short} points to unknown target group {a.target!r}")
    return data


@cache
def context() -> ContextFile:
    return validate(ContextFile, read_json("context_rules.json"), "context_rules.json")


def target_attrs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Map each target group id to its (label, attributes)."""
    return {g.id: (g.label, dict(g.attrs)) for g in targets().groups}


def target_exclusions() -> dict[str, set[str]]:
    """Map a target group id to the words that must not follow its match ("spacer" + "blocks")."""
    return {g.id: {w.lower() for w in g.not_followed_by} for g in targets().groups if g.not_followed_by}


class ChecklistItemRule(_Strict):
    id: str
    title: str
    # A column heading of a few letters for tables of many notes (the batch index); the title's first word when not given.
    short: str | None = None
    severity: Literal["required", "recommended"]
    weight: int
    satisfied_by: str
    why: str
    suggestion: str
    source: str
    # The assessor that judges this item (opnote.assess); the item's id when not given.
    assessor: str | None = None

    @property
    def assessor_name(self) -> str:
        return self.assessor or self.id

    @property
    def short_title(self) -> str:
        return self.short or self.title.split()[0]


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
    def _unique(cls, v: list[ChecklistItemRule]) -> list[ChecklistItemRule]:
        ids = [i.id for i in v]
        if not ids or len(ids) != len(set(ids)):
            raise ValueError("a checklist lists at least one item, each id once")
        return v

    @property
    def item_ids(self) -> list[str]:
        """The item ids in the checklist's order."""
        return [i.id for i in self.items]


def available_checklists() -> list[str]:
    """CPT codes that have a checklist file."""
    ref = resources.files(__name__).joinpath("checklists")
    return sorted(p.name[:-5] for p in ref.iterdir() if p.name.endswith(".json"))


@cache
def checklist(code: str = "27365") -> Checklist:
    """The checklist for a CPT code (``RuleFileError`` when none or malformed)."""
    if code not in available_checklists():
        raise RuleFileError(f"no checklist for CPT {code}; available: {', '.join(available_checklists())}")
    return validate(Checklist, read_json(f"checklists/{code}.json"), f"checklists/{code}.json")
