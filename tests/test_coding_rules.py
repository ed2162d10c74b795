"""Each coding rule on a hand-built case model (no spaCy pipeline): what it must advise, and what
it must never advise (an upcode, an unbundled code, a code the case's own facts exclude)."""

from __future__ import annotations

import pytest

from casebuild import case, mention, view
from opnote import coding
from opnote import rules as rule_files

CL = rule_files.checklist("27365")


def codes(advisories, kind):
    return sorted(a.code for a in advisories if a.kind == kind and a.code)


def selection(c, v):
    return coding.code_selection(c, v, CL)


# ------------------------------------------------------------------------------- code selection
@pytest.mark.parametrize(
    ("operation", "level", "code"),
    [("amputation", "transfemoral", "27590"), ("amputation", "transtibial", "27880"), ("amputation", "hindquarter", "27290"),
     ("disarticulation", "knee", "27598"), ("disarticulation", "hip", "27295")],
)
def test_amputation_code_follows_the_level(operation, level, code):
    text = "PROCEDURE: amputation."
    adv = selection(case(text, operation=operation, level=level), view(text))
    assert codes(adv, "code_selection") == [code]


def test_below_knee_amputation_is_not_sent_to_the_thigh_family():
    text = "PROCEDURE: below-knee amputation for a proximal tibia osteosarcoma."
    adv = selection(case(text, operation="amputation", level="transtibial", site="proximal_tibia"), view(text))
    assert codes(adv, "code_selection") == ["27880"] and "27590" not in adv[0].message


def test_tibia_curettage_is_a_tibia_curettage_code_not_27645():
    text = "Curettage of the proximal tibia lesion, packed with cancellous allograft chips."
    v = view(text, mention(text, "cancellous allograft chips", "RECON", finding="reconstruction", kind="allograft"))
    adv = selection(case(text, operation="intralesional", site="proximal_tibia", category="benign_aggressive_bone", histology="aneurysmal bone cyst"), v)
    assert codes(adv, "code_selection") == ["27638"]
    assert "27645" not in " ".join(a.message for a in adv)


@pytest.mark.parametrize(("graft", "code"), [(None, "27355"), ("allograft", "27356"), ("autograft", "27357")])
def test_femur_curettage_by_graft(graft, code):
    text = "Curettage of the distal femur lesion with graft."
    ms = [mention(text, "graft", "RECON", finding="reconstruction", kind=graft)] if graft else []
    adv = selection(case(text, operation="intralesional", category="benign_aggressive_bone", histology="chondroblastoma"), view(text, *ms))
    assert codes(adv, "code_selection") == [code]


def test_curettage_with_autograft_never_adds_graft_harvest_codes():
    text = "Curettage; autograft harvested from the iliac crest and impacted into the cavity."
    v = view(text, mention(text, "autograft", "RECON", finding="reconstruction", kind="autograft"))
    adv = coding.bundling(case(text, operation="intralesional", category="benign_aggressive_bone", histology="osteoblastoma"), v)
    assert codes(adv, "bundling") == [] and "20900/20902" in adv[0].message and "do not add" in adv[0].message


def test_bone_chips_after_curettage_are_not_structural_allograft_add_ons():
    text = "Curettage; cavity packed with allograft chips."
    v = view(text, mention(text, "allograft chips", "RECON", finding="reconstruction", kind="allograft"))
    adv = coding.bundling(case(text, operation="intralesional", category="benign_aggressive_bone", histology="chondroblastoma"), v)
    assert codes(adv, "bundling") == [] and "not the structural allograft add-ons" in adv[0].message


@pytest.mark.parametrize(("tumor", "margin", "site", "code"), [
    ("3.5 cm", None, "thigh", "27329"), ("6 cm", None, "thigh", "27364"),
    ("4.0 cm", "1.5 cm", "thigh", "27364"),  # greatest diameter plus the narrowest margin
    ("3 cm", None, "calf", "27615"), ("7 cm", None, "calf", "27616"),
])
def test_soft_tissue_codes_by_size_plus_margin_and_by_region(tumor, margin, site, code):
    text = f"The tumor measured {tumor}." + (f" Closest margin {margin}." if margin else "")
    ms = [mention(text, tumor, "DIMENSION", finding="dimension", values_mm=[float(tumor.split()[0]) * 10], measures="tumor")]
    if margin:
        ms.append(mention(text, margin, "DIMENSION", finding="dimension", values_mm=[float(margin.split()[0]) * 10], measures="margin_distance"))
    c = case(text, operation="soft_tissue_resection", tissue="soft_tissue", site=site, category="soft_tissue_sarcoma", histology="undifferentiated pleomorphic sarcoma")
    assert codes(selection(c, view(text, *ms)), "code_selection") == [code]


def test_calf_sarcoma_with_the_tibia_untouched_is_not_27645():
    text = "Myxofibrosarcoma of the calf, tibia untouched."
    c = case(text, operation="soft_tissue_resection", tissue="soft_tissue", site="calf", category="soft_tissue_sarcoma", histology="myxofibrosarcoma")
    adv = selection(c, view(text))
    assert codes(adv, "code_selection") == ["27615/27616"]


@pytest.mark.parametrize(("words", "code"), [("total knee arthroplasty", "27447"), ("total hip arthroplasty", "27130")])
def test_arthroplasty_by_joint(words, code):
    text = f"PROCEDURE: {words}."
    c = case(text, operation="arthroplasty", status="none", histology=None, evidence=(11, 11 + len(words)))
    assert codes(selection(c, view(text)), "code_selection") == [code]


def test_prophylactic_fixation_of_the_femur():
    text = "Prophylactic nailing of the femur."
    assert codes(selection(case(text, operation="prophylactic_fixation", category="metastatic_bone", histology="metastatic carcinoma"), view(text)), "code_selection") == ["27495"]


@pytest.mark.parametrize("operation", ["biopsy", "revision", "other"])
def test_no_code_is_named_where_the_reference_has_none(operation):
    text = "PROCEDURE: something."
    adv = selection(case(text, operation=operation), view(text))
    assert [a.code for a in adv] == [None] and "27365 does not apply" in adv[0].message


def test_a_radical_femur_resection_gets_no_code_selection():
    text = "Radical resection of the distal femur."
    assert selection(case(text), view(text)) == []


# ------------------------------------------------------------------------------- bundling
def test_free_flap_is_not_15738_and_a_pedicled_flap_is():
    free = "A free anterolateral thigh flap was anastomosed to the femoral vessels."
    pedicled = "The medial gastrocnemius flap was rotated over the implant."
    for text, code in ((free, "15756-15758"), (pedicled, "15738")):
        v = view(text, mention(text, "flap", "RECON", finding="reconstruction", kind="muscle_flap"))
        assert codes(coding.bundling(case(text), v), "bundling") == [code]


def test_no_hinged_knee_code_for_any_endoprosthesis():
    text = "A proximal femoral replacement with a bipolar head was cemented."
    v = view(text, mention(text, "proximal femoral replacement", "RECON", finding="reconstruction", kind="endoprosthesis"))
    adv = coding.bundling(case(text, site="proximal_femur"), v)
    assert "27445" not in codes(adv, "bundling") and "27445" not in " ".join(a.message for a in adv)


def test_no_bundling_on_a_washout_or_an_amputation():
    text = "Irrigation and debridement; the distal femoral replacement was retained. A flap closed the stump."
    v = view(text, mention(text, "distal femoral replacement", "RECON", finding="reconstruction", kind="endoprosthesis"),
             mention(text, "flap", "RECON", finding="reconstruction", kind="muscle_flap"))
    assert coding.bundling(case(text, operation="other"), v) == []
    assert coding.bundling(case(text, operation="amputation", level="transfemoral"), v) == []
    assert "59/XS" not in codes(coding.modifiers(case(text, operation="amputation", level="transfemoral"), v), "modifier")


def test_allograft_message_does_not_contradict_itself():
    text = "An intercalary allograft was fixed with two plates."
    v = view(text, mention(text, "intercalary allograft", "RECON", finding="reconstruction", kind="allograft"))
    msg = coding.bundling(case(text, site="femoral_shaft"), v)[0].message
    assert "20932" in msg and "20930-20938" not in msg and "20930, 20931 and 20936-20939" in msg


# ------------------------------------------------------------------------------- modifiers
def test_no_assistant_documents_no_assistant():
    text = "ASSISTANT: None. No assistant was used."
    v = view(text, mention(text, "ASSISTANT", "ASSISTANT"), mention(text, "assistant", "ASSISTANT"))
    assert not [a for a in coding.modifiers(case(text), v) if "assist" in a.message.lower()]


def test_a_resident_assisting_is_a_warning_not_a_billing_cue():
    text = "Assistant: Jane Roe, MD (PGY-4 resident)."
    v = view(text, mention(text, "Assistant", "ASSISTANT"))
    adv = [a for a in coding.modifiers(case(text), v) if "resident" in a.message]
    assert adv and adv[0].code is None and "not billable" in adv[0].message


def test_a_physician_assistant_is_an_80_82_as_cue():
    text = "Assistant: John Doe, PA-C."
    v = view(text, mention(text, "Assistant", "ASSISTANT"))
    assert "80/82/AS" in codes(coding.modifiers(case(text), v), "modifier")


def test_tumor_stage_is_not_a_staged_procedure():
    text = "Enneking stage IIB osteosarcoma."
    v = view(text, mention(text, "stage", "MOD58"))
    assert "58" not in codes(coding.modifiers(case(text), v), "modifier")
    planned = "This is the first stage of a planned two-stage reconstruction."
    v2 = view(planned, mention(planned, "first stage", "MOD58"))
    assert "58" in codes(coding.modifiers(case(planned), v2), "modifier")


def test_a_flap_under_the_plastic_surgeons_own_code_is_not_co_surgery():
    text = "Dr. Lee of plastic surgery, co-surgeon, raised the free flap under a separate note."
    v = view(text, mention(text, "co-surgeon", "MOD62"))
    assert "62" not in codes(coding.modifiers(case(text), v), "modifier")


def test_a_closing_washout_is_not_a_return_and_a_return_starts_no_global_period():
    closing = "DATE OF SERVICE: 03/14/2026\nThe wound was irrigated; washout before closure."
    v = view(closing, mention(closing, "washout", "MOD78", group="mod.return"))
    assert "78" not in codes(coding.modifiers(case(closing), v), "modifier")
    assert coding.global_period(case(closing), closing, 90) is not None
    ret = "DATE OF SERVICE: 04/01/2026\nUnplanned return to the operating room 12 days after resection for wound dehiscence; washout."
    v2 = view(ret, mention(ret, "return to the operating room", "MOD78", group="mod.return"))
    c = case(ret, operation="other")
    assert "78" in codes(coding.modifiers(c, v2), "modifier")
    assert coding.global_period(c, ret, 90) is None


# ------------------------------------------------------------------------------- diagnosis codes
@pytest.mark.parametrize(("category", "histology", "site", "expected"), [
    ("soft_tissue_sarcoma", "undifferentiated pleomorphic sarcoma", "thigh", ["C49.21"]),
    ("soft_tissue_sarcoma", "malignant peripheral nerve sheath tumor", "thigh", ["C47.21"]),
    ("hematologic", "multiple myeloma", "femoral_shaft", ["C90.00"]),
    ("hematologic", "solitary plasmacytoma", "femoral_shaft", ["C90.30"]),
    ("hematologic", "diffuse large b-cell lymphoma", "femoral_shaft", ["C83.398"]),
    ("benign_aggressive_bone", "aneurysmal bone cyst", "distal_femur", ["M85.551"]),
    ("benign_aggressive_bone", "fibrous dysplasia", "proximal_femur", ["M85.051"]),
    ("benign_aggressive_bone", "polyostotic fibrous dysplasia", "proximal_femur", ["Q78.1"]),
    ("primary_malignant_bone", "osteosarcoma", "patella", ["C40.31"]),
])
def test_expected_codes_follow_the_histology(category, histology, site, expected):
    assert coding.expected_codes(case(category=category, histology=histology, site=site)) == expected


def test_an_impending_fracture_is_not_coded_as_a_fracture():
    assert coding.expected_codes(case(category="metastatic_bone", histology="metastatic carcinoma", fracture=False)) == ["C79.51"]
    assert coding.expected_codes(case(category="metastatic_bone", histology="metastatic carcinoma", fracture=True)) == ["C79.51", "M84.551A"]


def assess(c, claim):
    diag, status, msg, adv = coding.assess_diagnosis(c, claim, "")
    return diag, status, msg


@pytest.mark.parametrize("claim", [["C79.51", "C64.2"], ["C79.51", "Z85.528"]])
def test_a_metastasis_with_its_primary_or_its_history_is_consistent(claim):
    diag, status, msg = assess(case(category="metastatic_bone", histology="metastatic renal cell carcinoma"), claim)
    assert status == "met" and claim[1] in diag.companions and "companion" in msg


def test_the_osseous_defect_code_the_tabular_asks_for_is_a_companion():
    diag, status, _ = assess(case(), ["C40.21", "M89.751"])
    assert status == "met" and diag.companions == ["M89.751"]


def test_a_bone_primary_code_beside_a_bone_metastasis_is_a_conflict():
    _, status, msg = assess(case(category="metastatic_bone", histology="metastatic renal cell carcinoma"), ["C79.51", "C40.21"])
    assert status == "conflict" and "C40.21" in msg


def test_a_bone_code_for_a_soft_tissue_sarcoma_is_a_conflict():
    c = case(operation="soft_tissue_resection", tissue="soft_tissue", site="thigh", category="soft_tissue_sarcoma", histology="undifferentiated pleomorphic sarcoma")
    _, status, msg = assess(c, ["C40.21"])
    assert status == "conflict" and "soft tissue" in msg
    _, ok, _ = assess(c, ["C49.21"])
    assert ok == "met"


def test_a_benign_neoplasm_code_for_an_aneurysmal_bone_cyst_is_a_conflict():
    _, status, msg = assess(case(category="benign_aggressive_bone", histology="aneurysmal bone cyst"), ["D16.21"])
    assert status == "conflict" and "not a neoplasm" in msg


def test_a_confirmed_code_on_an_uncertain_diagnosis_is_flagged_with_the_reason():
    c = case(certainty="uncertain", histology="osteosarcoma")
    _, status, msg = assess(c, ["C40.21"])
    assert status == "conflict" and "suspected" in msg and "D49.2" in msg
    _, status2, _ = assess(c, ["D49.2"])
    assert status2 == "partial"


def test_history_and_complication_codes_on_a_revision_are_not_conflicts():
    c = case(operation="revision", status="historical", histology=None, historical_category="primary_malignant_bone")
    diag, status, _ = assess(c, ["T84.032A", "Z85.830"])
    assert status == "missing" and set(diag.companions) == {"T84.032A", "Z85.830"}
    assert coding.expected_codes(c) == ["Z85.830"]


# ------------------------------------------------------------------------------- fee context
def test_fee_context_is_keyed_by_the_year_of_service():
    fee = coding.fee_context("27365", "DATE OF SERVICE: 05/02/2026")
    assert (fee.year, fee.national_amount, fee.total_rvus, fee.global_days) == (2026, 1837.05, 55, 90) and fee.source
    old = coding.fee_context("27365", "DATE OF SERVICE: 05/02/2024")
    assert old.national_amount is None and "No fee-schedule figures for 2024" in old.note
    undated = coding.fee_context("27365", "no date here")
    assert undated.year == 2026 and "No date of service" in undated.note
    assert coding.fee_context("27645", "") is None
