"""Behavioral tests (CheckList, Ribeiro et al. 2020): rewrites of the gold notes that must not change
the judgment, and rewrites that must change exactly what they name.

The fast tests check the rewrites themselves on one note written here; the slow test runs every
rewrite over every sample note and holds the rates to floors a little under what was measured
(`opnote evaluate sample_notes --perturb`), so a change that makes the checker depend on layout,
case or spelling again fails here. Only rates are compared: no note's result is printed.
"""

from __future__ import annotations

import re

import pytest

from opnote.perturb import REWRITES, _answer, _matches, run_perturbations

NOTE = """PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma, right distal femur.
POSTOPERATIVE DIAGNOSIS: Same.
PROCEDURE: Wide resection of the right distal femur with a distal femoral replacement.

INDICATIONS: Biopsy-proven osteosarcoma after neoadjuvant chemotherapy. MRI of the right femur showed
the marrow extent 11 cm from the joint line.

CONSENT: We discussed limb salvage with a distal femoral replacement versus an above-knee amputation
with the patient and his mother; they chose limb salvage and signed consent for resection of the tumor.

DESCRIPTION: The biopsy tract was excised in continuity. The femur was osteotomized 15 cm from the joint
line and the specimen removed en bloc with a wide margin. Frozen section of the proximal marrow was
negative for tumor. A 15 cm cemented distal femoral replacement with a rotating hinge was implanted.

SPECIMEN: Right distal femur, 15 cm, to pathology; final margins pending.
"""
GOLD = {
    "checklist": {"informed_consent": "met", "frozen_section": "met", "resection_dimensions": "met"},
    "case": {"side": "right"},
    "attributes": {"site": "distal_femur", "tumor_type": "osteosarcoma"},
}
BY_NAME = {rw.name: rw for rw in REWRITES}


def test_at_least_twenty_rewrites_of_both_kinds():
    kinds = {rw.kind for rw in REWRITES}
    assert len(REWRITES) >= 20 and kinds == {"invariance", "directional"}
    assert len({rw.name for rw in REWRITES}) == len(REWRITES)


def test_layout_rewrites_change_only_layout():
    joined = BY_NAME["no_line_breaks"].apply(NOTE, GOLD)
    assert joined is not None and joined.count("\n") <= 1
    assert re.sub(r"\s+", " ", joined).strip() == re.sub(r"\s+", " ", NOTE).strip()
    crlf = BY_NAME["crlf"].apply(NOTE, GOLD)
    assert crlf.replace("\r\n", "\n") == NOTE
    lower = BY_NAME["lower_case"].apply(NOTE, GOLD)
    assert lower == NOTE.lower()


def test_side_flip_touches_the_diagnosis_line_only():
    flipped = BY_NAME["side_flipped_in_diagnosis"].apply(NOTE, GOLD)
    assert flipped is not None
    first, rest = flipped.split("\n", 1)
    assert "left distal femur" in first and "right" not in first
    assert rest == NOTE.split("\n", 1)[1]


def test_consent_boilerplate_replaces_the_consent_and_keeps_the_procedure_line():
    new = BY_NAME["consent_boilerplate"].apply(NOTE, GOLD)
    assert new is not None
    assert "limb salvage" not in new and "Risks, benefits and alternatives were discussed" in new
    assert "PROCEDURE: Wide resection of the right distal femur" in new
    assert "above-knee amputation" not in new


def test_a_procedure_rewrite_replaces_the_brief_notes_line_and_the_full_reports():
    two = (
        "Procedure(s): Wide resection R distal femur, DFR\n\n"
        + NOTE
        + "\nPROCEDURE: The patient was brought to the room. The femur was osteotomized and the tumor resected en bloc.\n"
        "The frozen section was negative.\n"
    )
    new = BY_NAME["procedure_curettage"].apply(two, GOLD)
    assert new is not None
    assert "Wide resection R distal femur" not in new and "PROCEDURE: Wide resection of the right distal femur" not in new
    assert new.count("Curettage and cementation of the right distal femur lesion.") == 2
    assert "The frozen section was negative." in new  # a narrative under a later heading stays


def test_length_removal_keeps_no_resection_length():
    new = BY_NAME["resection_length_removed"].apply(NOTE, GOLD)
    assert new is not None
    assert "15 cm" not in new
    assert "INDICATIONS" in new and "osteotomized" in new


def test_the_checker_behaves_on_this_note(checker):
    """Every rewrite that applies to the note written here behaves as it must."""
    base = _answer(checker.check(NOTE))
    assert base["verdict"] == "ready"
    bad = []
    for rw in REWRITES:
        new = rw.apply(NOTE, GOLD)
        want = rw.expect(base) if new is not None else None
        if want is None:
            continue
        if not _matches(_answer(checker.check(new)), want):
            bad.append(rw.name)
    assert bad == []


def test_matches_reads_not_met_and_alternatives():
    got = {"verdict": "at_risk", "items": {"a": "partial", "b": "missing"}}
    assert _matches(got, {"verdict": "at_risk", "items": {"a": "not_met", "b": ("missing", "conflict")}})
    assert not _matches(got, {"verdict": "at_risk", "items": {"a": "met"}})
    assert not _matches(got, {"verdict": "ready", "items": {}})


# Floors a little under the rates measured on the sample notes; see the README's table.
INVARIANCE_FLOOR = 0.98
INVARIANCE_EACH_FLOOR = 0.88
DIRECTIONAL_FLOOR = 0.90


@pytest.mark.slow
def test_rewritten_sample_notes_keep_or_change_their_judgment_as_they_must(checker, sample_dir):
    result = run_perturbations(sample_dir, checker=checker)
    summary = result["summary"]
    rows = result["rewrites"]
    assert all(rows[rw.name]["applied"] > 0 for rw in REWRITES), "a rewrite applied to no note"
    assert summary["invariance"]["rate"] >= INVARIANCE_FLOOR, summary
    low = {name: round(r["ok"] / r["applied"], 3) for name, r in rows.items() if r["kind"] == "invariance" and r["ok"] / r["applied"] < INVARIANCE_EACH_FLOOR}
    assert low == {}
    assert summary["directional"]["rate"] >= DIRECTIONAL_FLOOR, summary
