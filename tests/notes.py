"""Small synthetic notes for unit tests, built from parts so each test changes one thing."""

from __future__ import annotations

PARTS = {
    "pre": "PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the right distal femur.",
    "post": "POSTOPERATIVE DIAGNOSIS: Same.",
    "proc": "PROCEDURE: Radical resection of the right distal femur with distal femoral replacement.",
    "ind": (
        "INDICATIONS: Biopsy-proven osteosarcoma. Preoperative MRI of the right femur and CT of the chest "
        "were reviewed for planning. We discussed limb salvage versus above-knee amputation, the malignant "
        "nature of the tumor and the risk of local recurrence, and informed consent was obtained."
    ),
    "desc": (
        "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was "
        "osteotomized 15 cm from the joint line. Frozen section of the femoral canal margin was negative "
        "for tumor. A cemented distal femoral replacement was implanted."
    ),
    "path": "SPECIMENS: Distal femur sent to pathology for permanent sections; margins pending.",
}


def note(**changes: str | None) -> str:
    """The base note with parts replaced (a string) or removed (None)."""
    parts = dict(PARTS)
    for k, v in changes.items():
        if v is None:
            parts.pop(k, None)
        else:
            parts[k] = v
    return "\n\n".join(parts.values()) + "\n"
