"""A report as a FHIR R4B Bundle: the note as a DocumentReference, each gap as a DetectedIssue.

This renderer sits beside the others; ``opnote.fhir`` is kept as an alias of it. It imports the
report models only for type checking, so the schema (whose ``Report.to_fhir`` calls it) and this
module never import each other at load time.

``to_fhir(report, text)`` builds plain JSON-ready dicts and needs nothing beyond the standard
library. ``validate=True`` (or :func:`to_fhir_resource`) checks the result with the
``fhir.resources`` R4B models, which come with the ``fhir`` extra.

The Bundle (``type: collection``) holds:

* one ``DocumentReference`` for the note: a ``text/plain`` attachment, with the note's UTF-8 bytes
  as base64 ``data`` (plus ``size`` and ``hash``) when ``text`` is given;
* one ``Device`` for opnote itself (name, version, checklist version), the issues' author;
* one ``DetectedIssue`` (status ``preliminary``) per checklist gap (partial, missing or conflict
  item; a diagnosis-code conflict is the ``diagnosis_code`` item in conflict) and per advisory.

Each DetectedIssue points at the DocumentReference in ``implicated``, and each evidence span is an
``evidence.detail`` reference to it carrying the standard ``derivation-reference`` extension with
``offset`` (0-based, in characters of the note text, as in the report) and ``length``.

Full URLs are ``urn:uuid:`` values derived from the report (and the text), so the same report
always gives the same Bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from fhir.resources.R4B.bundle import Bundle

    from ..schema import Advisory, ChecklistItem, Evidence, Report

__all__ = [
    "to_fhir",
    "to_fhir_resource",
    "validate_fhir",
    "issue_severity",
    "advisory_severity",
    "CHECKLIST_SYSTEM",
    "ADVISORY_SYSTEM",
    "DERIVATION_REFERENCE",
]

#: Code system of opnote's checklist item ids (``frozen_section``, ``margin_intent``, ...).
CHECKLIST_SYSTEM = "urn:opnote:fhir:CodeSystem:checklist-item"
#: Code system of opnote's advisories: ``KIND`` or ``KIND:CODE`` (``modifier:62``, ``bundling:27445``).
ADVISORY_SYSTEM = "urn:opnote:fhir:CodeSystem:advisory"
#: The standard extension that locates a span in a source text.
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
LOINC = "http://loinc.org"
OPERATIVE_NOTE_LOINC = ("11504-8", "Surgical operation note")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:opnote:fhir")
_GAPS = ("partial", "missing", "conflict")

_MISSING_EXTRA = (
    "FHIR validation needs the fhir.resources package, which is not installed: "
    "install opnote with the 'fhir' extra (pip install 'opnote[fhir]')"
)


def issue_severity(item: ChecklistItem) -> str:
    """DetectedIssue severity of a checklist gap.

    conflict: high; missing: high when the item is required, moderate when recommended;
    partial: moderate when required, low when recommended.
    """
    status = item.status
    required = item.severity == "required"
    if status == "conflict":
        return "high"
    if status == "missing":
        return "high" if required else "moderate"
    if status == "partial":
        return "moderate" if required else "low"
    raise ValueError(f"checklist item {item.id!r} is {status}, not a gap")


def advisory_severity(advisory: Advisory) -> str:
    """DetectedIssue severity of an advisory: low, except a laterality contradiction (high)."""
    return "high" if advisory.kind == "laterality" else "low"


def _urn(seed: str, what: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, f"{seed}/{what}"))


def _check_text(report: Report, text: str) -> None:
    spans: list[Evidence] = []
    for it in report.checklist:
        spans += it.evidence
    for adv in report.advisories:
        spans += adv.evidence
    for ev in spans:
        if text[ev.start:ev.end] != ev.text:
            raise ValueError(
                f"text is not the note this report was made from (evidence at offsets {ev.start}-{ev.end} does not match)"
            )


def _evidence(spans: list[Evidence], doc_url: str) -> list[dict[str, Any]]:
    out = []
    for ev in spans:
        out.append({
            "detail": [{
                "extension": [{
                    "url": DERIVATION_REFERENCE,
                    "extension": [
                        {"url": "reference", "valueReference": {"reference": doc_url}},
                        {"url": "offset", "valueInteger": ev.start},
                        {"url": "length", "valueInteger": ev.end - ev.start},
                    ],
                }],
                "reference": doc_url,
                "display": ev.text,
            }],
        })
    return out


def _document_reference(report: Report, text: str | None) -> dict[str, Any]:
    attachment: dict[str, Any] = {"contentType": "text/plain; charset=utf-8"}
    if text is not None:
        data = text.encode("utf-8")
        attachment["data"] = base64.b64encode(data).decode("ascii")
        attachment["size"] = len(data)
        attachment["hash"] = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
    if report.source:
        attachment["title"] = report.source
    code, display = OPERATIVE_NOTE_LOINC
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": "Operative note"},
        "description": f"Operative note checked against the CPT {report.code} documentation checklist",
        "content": [{"attachment": attachment}],
    }


def _device(report: Report) -> dict[str, Any]:
    version: list[dict[str, Any]] = [{"value": report.opnote_version or _version()}]
    if report.checklist_version:
        version.append({"type": {"text": f"CPT {report.code} checklist"}, "value": report.checklist_version})
    return {
        "resourceType": "Device",
        "deviceName": [{"name": "opnote", "type": "user-friendly-name"}],
        "version": version,
    }


def _version() -> str:
    from .. import __version__

    return __version__


def _detail(message: str, suggestion: str | None) -> str:
    return message + (f"\nSuggested wording: {suggestion}" if suggestion else "")


def to_fhir(report: Report, text: str | None = None, *, validate: bool = False) -> dict[str, Any]:
    """The report as a FHIR R4B Bundle (a JSON-ready dict).

    ``text`` is the note the report was made from: when given, it is embedded (base64) in the
    DocumentReference and every evidence span is checked against it (``ValueError`` if one does
    not match). ``validate=True`` also validates the Bundle with the ``fhir.resources`` R4B models
    (``ImportError`` naming the ``fhir`` extra when that package is missing).
    """
    if text is not None:
        _check_text(report, text)
    seed_src = report.model_dump_json()
    if text is not None:
        seed_src += hashlib.sha256(text.encode("utf-8")).hexdigest()
    seed = hashlib.sha256(seed_src.encode("utf-8")).hexdigest()
    doc_url = _urn(seed, "DocumentReference")
    dev_url = _urn(seed, "Device")
    author = {"reference": dev_url, "display": f"opnote {report.opnote_version or _version()}"}
    implicated = [{"reference": doc_url, "display": "Operative note"}]

    entries: list[dict[str, Any]] = [
        {"fullUrl": doc_url, "resource": _document_reference(report, text)},
        {"fullUrl": dev_url, "resource": _device(report)},
    ]
    n = 0
    for item in report.checklist:
        if item.status not in _GAPS:
            continue
        n += 1
        title = item.title or item.id
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "status": "preliminary",
            "code": {
                "coding": [{"system": CHECKLIST_SYSTEM, "code": item.id, "display": title}],
                "text": f"{title}: {item.status}",
            },
            "severity": issue_severity(item),
            "author": author,
            "implicated": implicated,
            "detail": _detail(item.message, item.suggestion),
        }
        if item.evidence:
            issue["evidence"] = _evidence(item.evidence, doc_url)
        entries.append({"fullUrl": _urn(seed, f"DetectedIssue/{n}"), "resource": issue})
    for adv in report.advisories:
        n += 1
        code = adv.kind if adv.code is None else f"{adv.kind}:{adv.code}"
        issue = {
            "resourceType": "DetectedIssue",
            "status": "preliminary",
            "code": {
                "coding": [{"system": ADVISORY_SYSTEM, "code": code, "display": f"{adv.kind.replace('_', ' ')} advisory" + (f" ({adv.code})" if adv.code else "")}],
                "text": f"Coding advisory ({adv.kind.replace('_', ' ')}, {adv.confidence})",
            },
            "severity": advisory_severity(adv),
            "author": author,
            "implicated": implicated,
            "detail": _detail(adv.message, None) + (f"\nSource: {adv.source}" if adv.source else ""),
        }
        if adv.evidence:
            issue["evidence"] = _evidence(adv.evidence, doc_url)
        entries.append({"fullUrl": _urn(seed, f"DetectedIssue/{n}"), "resource": issue})

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    if validate:
        validate_fhir(bundle)
    return bundle


def _bundle_model() -> type[Bundle]:
    try:
        from fhir.resources.R4B.bundle import Bundle
    except ImportError as e:
        raise ImportError(_MISSING_EXTRA) from e
    return Bundle


def validate_fhir(bundle: dict[str, Any]) -> Bundle:
    """Validate a Bundle dict with the ``fhir.resources`` R4B models and return the model.

    Raises ``ImportError`` (naming the ``fhir`` extra) when ``fhir.resources`` is not installed,
    and pydantic's ``ValidationError`` when the Bundle is not valid R4B.
    """
    return _bundle_model().model_validate(json.loads(json.dumps(bundle)))


def to_fhir_resource(report: Report, text: str | None = None) -> Bundle:
    """The report as a validated ``fhir.resources.R4B.bundle.Bundle`` (needs the ``fhir`` extra)."""
    _bundle_model()  # fail before building when the extra is missing
    return validate_fhir(to_fhir(report, text))
