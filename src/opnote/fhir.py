"""Compatibility alias: the FHIR renderer lives in :mod:`opnote.render.fhir`.

``from opnote.fhir import to_fhir`` keeps working; new code imports from ``opnote.render.fhir``.
"""

from __future__ import annotations

from .render.fhir import (
    ADVISORY_SYSTEM,
    CHECKLIST_SYSTEM,
    DERIVATION_REFERENCE,
    advisory_severity,
    issue_severity,
    to_fhir,
    to_fhir_resource,
    validate_fhir,
)

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
