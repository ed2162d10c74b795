"""The report contract (version 1) as pydantic models.

Names here are a public contract: fields may be added, never renamed or removed without raising
``SCHEMA_VERSION``. ``Report.model_dump(mode="json")`` is exactly what ``opnote check --format json``
prints.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = "1"


class Status(StrEnum):
    """Status of one checklist item."""

    met = "met"
    partial = "partial"
    missing = "missing"
    conflict = "conflict"
    not_applicable = "not_applicable"


class Verdict(StrEnum):
    """Overall verdict for the note."""

    ready = "ready"
    at_risk = "at_risk"
    not_supported = "not_supported"


FindingKind = Literal[
    "tumor_location",
    "margin",
    "dimension",
    "frozen_section",
    "imaging",
    "reconstruction",
    "pathology",
    "consent",
    "procedure",
]
Assertion = Literal["present", "negated", "possible", "hypothetical", "historical"]
AdvisoryKind = Literal["code_selection", "modifier", "bundling", "laterality"]
Confidence = Literal["verified", "likely"]
DiagnosisCategory = Literal[
    "primary_malignant_bone",
    "metastatic_bone",
    "benign_aggressive_bone",
    "uncertain_behavior_bone",
    "soft_tissue_sarcoma",
    "hematologic",
    "unknown",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)


_M = TypeVar("_M", bound=BaseModel)
_setattr = object.__setattr__


def trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for ``values`` that give every field, in the model's field
    order, from typed data the code itself made: the instance, made without model_construct's
    walk over the fields and their defaults (a report holds a few hundred of them)."""
    m = cls.__new__(cls)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", set(values))
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


class Evidence(_Model):
    """A span of the original note: ``note[start:end] == text``."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class ChecklistItem(_Model):
    """One of the checklist items, always reported in the checklist's order."""

    id: str
    status: Status
    evidence: list[Evidence] = Field(default_factory=list)
    message: str
    suggestion: str | None = None
    title: str = ""
    severity: Literal["required", "recommended"] = "required"
    why: str = ""


class Finding(_Model):
    """Something the pipeline found in the note, with its assertion and normalized attributes."""

    kind: FindingKind
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    section: str | None = None
    assertion: Assertion = "present"
    attributes: dict[str, Any] = Field(default_factory=dict)


class Diagnosis(_Model):
    """The tumor the note documents and the ICD-10-CM codes it supports."""

    tumor_type: str | None = None
    category: DiagnosisCategory = "unknown"
    laterality: Literal["right", "left"] | None = None
    certainty: Literal["confirmed", "uncertain", "none"] = "none"
    companions: list[str] = Field(default_factory=list)
    site: str | None = None
    expected_icd10: list[str] = Field(default_factory=list)
    claim_icd10: list[str] = Field(default_factory=list)
    consistent: bool | None = None
    problems: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class Advisory(_Model):
    """A coding advisory: a better-fitting code, a modifier cue, a bundling reminder."""

    kind: AdvisoryKind
    code: str | None = None
    message: str
    confidence: Confidence = "likely"
    source: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


Operation = Literal[
    "radical_resection", "intralesional", "soft_tissue_resection", "amputation", "disarticulation", "biopsy",
    "prophylactic_fixation", "arthroplasty", "revision", "other", "unknown",
]
AmputationLevel = Literal["transfemoral", "knee", "transtibial", "hip", "hindquarter", "other"]
Tissue = Literal["bone", "soft_tissue", "soft_tissue_invading_bone", "unknown"]
TumorStatus = Literal["current", "historical", "none", "unknown"]
Side = Literal["right", "left", "bilateral"]
VerdictReason = Literal["ready", "gaps", "operation", "tissue", "tumor_status", "site", "code_selection", "conflict"]


class OperationFact(_Model):
    """What was done in this operation, and the spans that say so."""

    value: Operation = "unknown"
    evidence: list[Evidence] = Field(default_factory=list)


class AmputationLevelFact(_Model):
    value: AmputationLevel | None = None
    evidence: list[Evidence] = Field(default_factory=list)


class TissueFact(_Model):
    value: Tissue = "unknown"
    evidence: list[Evidence] = Field(default_factory=list)


class TumorStatusFact(_Model):
    value: TumorStatus = "unknown"
    evidence: list[Evidence] = Field(default_factory=list)


class SideConflict(_Model):
    """A mention of the other side, where it stands (diagnosis, procedure, implants, ...)."""

    value: Side
    place: str
    evidence: list[Evidence] = Field(default_factory=list)


class SideFact(_Model):
    value: Side | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    conflicts: list[SideConflict] = Field(default_factory=list)


class Case(_Model):
    """What the note says happened, settled before any checklist item is judged."""

    operation: OperationFact = Field(default_factory=OperationFact)
    amputation_level: AmputationLevelFact = Field(default_factory=AmputationLevelFact)
    tissue: TissueFact = Field(default_factory=TissueFact)
    tumor_status: TumorStatusFact = Field(default_factory=TumorStatusFact)
    side: SideFact = Field(default_factory=SideFact)


class FeeContext(_Model):
    """What the code is worth, as data with its year and source (never a promise of payment)."""

    code: str
    year: int
    national_amount: float | None = None
    total_rvus: float | None = None
    global_days: int | None = None
    currency: str = "USD"
    setting: str = "facility"
    confidence: Confidence = "likely"
    source: str = ""
    note: str = ""


class GlobalPeriod(_Model):
    """The global surgical period that starts with the date of service in the note."""

    date_of_service: str
    starts: str
    ends: str
    days: int
    evidence: list[Evidence] = Field(default_factory=list)


class Report(_Model):
    """The documentation report for one note (contract version 1)."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    source: str | None = None
    code: str = "27365"
    score: int = Field(ge=0, le=100)
    verdict: Verdict
    summary: str = ""
    checklist: list[ChecklistItem]
    findings: list[Finding] = Field(default_factory=list)
    diagnosis: Diagnosis = Field(default_factory=Diagnosis)
    case: Case = Field(default_factory=Case)
    verdict_reason: VerdictReason | None = None
    advisories: list[Advisory] = Field(default_factory=list)
    global_period: GlobalPeriod | None = None
    fee: FeeContext | None = None
    encoding: str | None = None
    opnote_version: str = ""
    checklist_version: str = ""

    def item(self, item_id: str) -> ChecklistItem:
        """Return the checklist item with this id (``KeyError`` if the checklist has none)."""
        for it in self.checklist:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    @property
    def gaps(self) -> list[ChecklistItem]:
        """Items that are partial, missing or in conflict."""
        return [i for i in self.checklist if i.status in ("partial", "missing", "conflict")]

    def to_fhir(self, text: str | None = None, *, validate: bool = False) -> dict[str, Any]:
        """This report as a FHIR R4B Bundle dict (see :func:`opnote.fhir.to_fhir`)."""
        from .fhir import to_fhir

        return to_fhir(self, text, validate=validate)


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Report` (what ``opnote schema`` prints)."""
    schema = Report.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "opnote report v" + SCHEMA_VERSION
    return schema
