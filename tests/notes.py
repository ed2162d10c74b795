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


# A sample note that is complete ("ready"), and the same note with a line that only the note
# could have put into a log or an error message (for the no-patient-text tests).
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "sample_notes" / "dev"
READY_NOTE = DEV / "right_distal_femur_osteosarcoma_dfr_templated.txt"
SECRET = "The patient Zebulon Quartermaine-Vasquez was seen in clinic."
SECRET_NOTE = SECRET + "\n" + READY_NOTE.read_text(encoding="utf-8")
