"""Unit tests for each pipeline component, including the operative-note traps."""

from __future__ import annotations

import re

import pytest

from notes import PARTS, note

from opnote.components.measurements import find_dimensions, parse_number
from opnote.normalize import canonical


def assert_side_conflict(report, side: str, other: str) -> None:
    """The case's side is ``side``, one conflict with ``other`` is kept, and the note is not supported."""
    assert report.case.side.value == side and [c.value for c in report.case.side.conflicts] == [other]
    assert report.verdict == "not_supported"


def item_status(checker, text: str, item_id: str) -> str:
    """The status the checker gives one checklist item of a note."""
    return next(i.status for i in checker.check(text).checklist if i.id == item_id)


def present_attrs(report, kind: str, key: str) -> set:
    """The values of ``key`` among a report's present findings of ``kind`` (margin intents, reconstruction kinds)."""
    return {f.attributes.get(key) for f in report.findings if f.kind == kind and f.assertion == "present"}


def as_typed_and_in_capitals(text: str) -> tuple[str, str]:
    """A note as written and the same note typed in capitals: both must be judged alike."""
    return text, text.upper()


def findings(nlp, text, kind=None):
    import opnote

    doc = opnote.process(nlp, text)
    return [f for f in doc._.opnote_findings if kind is None or f["kind"] == kind]


# ------------------------------------------------------------------ sentences
def test_sentencizer_splits_lines_headings_and_spoken_punctuation(nlp):
    text = "FINDINGS:\nTumor in the distal femur\n\n1. Resection\n2. Reconstruction\nthe femur was cut period the canal was reamed new paragraph closure"
    sents = [s.text.strip() for s in nlp(text).sents]
    assert "Tumor in the distal femur" in sents
    assert "1. Resection" in sents and "2. Reconstruction" in sents
    assert "the femur was cut period" in sents
    assert "closure" in sents


def test_sentencizer_keeps_postoperative_period_inside_the_sentence(nlp):
    sents = [s.text for s in nlp("He is in the postoperative period and doing well. Next.").sents]
    assert sents[0] == "He is in the postoperative period and doing well."


# ------------------------------------------------------------------ sections
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("PREOPERATIVE DIAGNOSIS: Osteosarcoma of the distal femur.", "preop_diagnosis"),
        ("1. PROCEDURE: Radical resection of the distal femur.", "procedure"),
        ("Indications: This young man has an osteosarcoma of the distal femur.", "indications"),
        ("intro\nDESCRIPTION OF PROCEDURE\nThe distal femur was exposed.", "procedure_description"),
        ("procedure colon radical resection of the distal femur period", "procedure"),
        ("Estimated blood loss: 400 mL. FROZEN SECTION: distal femur marrow negative.", "frozen_section"),
    ],
)
def test_sectionizer_recognizes_operative_headings(nlp, text, category):
    sites = findings(nlp, text, "tumor_location")
    assert sites and sites[-1]["section"] == category


def test_sectionizer_no_headings_means_no_section(nlp):
    sites = findings(nlp, "The distal femur was resected for osteosarcoma.", "tumor_location")
    assert sites[0]["section"] is None


# ------------------------------------------------------------------ measurements
@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("specimen measuring 12 x 6.5 x 5 cm", [120, 65, 50]),
        ("a resection length of 150 mm", [150]),
        ("a 14-cm resection of the femur", [140]),
        ("the femur was cut fourteen centimeters from the joint line", [140]),
        ("a margin of one point five cm", [15]),
        ("osteotomy at sixteen point five centimeters", [165]),
        ("12 cm x 6 cm x 5 cm specimen", [120, 60, 50]),
    ],
)
def test_measurements_normalize_to_millimetres(text, values):
    dims = find_dimensions(text)
    assert dims and dims[0]["values_mm"] == values
    d = dims[0]
    assert text[d["start"]:d["end"]].strip()


@pytest.mark.parametrize(
    ("text", "measures"),
    [
        ("The femur was osteotomized 15 cm from the joint line.", "resection_length"),
        ("The specimen measured 18 x 9 x 8 cm.", "specimen"),
        ("The closest margin was 2 cm of normal marrow.", "margin_distance"),
        ("MRI showed a tumor measuring 9 cm.", "tumor"),
        ("A 20 cm incision was made.", "other"),
        # a distance from the tumor, whatever verb stands before it
        ("Level marked: femur to be cut 10 cm above the proximal marrow extent on MRI.", "margin_distance"),
        # a few millimetres off a joint surface is not the length of bone resected ...
        ("Proximal tibia cut 3 mm, tibial tray size M cemented.", "other"),
        ("A 9 mm tibial cut was made with the jig.", "other"),
        # ... a femoral cut of centimetres is the osteotomy of the resection
        ("The femoral cut was made 16 cm above the lateral joint line.", "resection_length"),
        # length, width and height measure the specimen
        ("Specimen removed en bloc, 19 x 12 x 9 cm, inked by the surgeon.", "specimen"),
        # a segment of a vein is not a length of bone
        ("Popliteal vein: encased by tumor. Vein ligated and cut proximal and distal to tumor, a segment of about 70 mm taken with the tumor.", "other"),
    ],
)
def test_measurements_say_what_they_measure(text, measures):
    assert find_dimensions(text)[0]["measures"] == measures


@pytest.mark.parametrize(("words", "value"), [("fourteen", 14), ("one point five", 1.5), ("twenty two", 22), ("two and a half", 2.5), ("6,5", 6.5)])
def test_measurements_parse_spoken_numbers(words, value):
    assert parse_number(words) == value


# ------------------------------------------------------------------ context traps
def test_context_frozen_section_negative_for_tumor_was_done(nlp):
    fs = findings(nlp, "Frozen section of the femoral canal margin was negative for tumor.", "frozen_section")
    assert fs[0]["assertion"] == "present"
    assert fs[0]["attributes"]["result"] == "negative"
    assert fs[0]["attributes"]["site"] == "femoral canal margin"


def test_context_sites_not_involved_are_negated(nlp):
    sites = {f["attributes"]["site"]: f["assertion"] for f in findings(nlp, "The proximal tibia and patella were not involved.", "tumor_location")}
    assert sites == {"proximal_tibia": "negated", "patella": "negated"}


def test_context_flap_not_required_is_negated(nlp):
    rec = findings(nlp, "A medial gastrocnemius flap was not required.", "reconstruction")
    assert rec[0]["assertion"] == "negated"


def test_context_planned_imaging_is_hypothetical(nlp):
    img = findings(nlp, "We will obtain a CT of the chest postoperatively.", "imaging")
    assert img[0]["assertion"] == "hypothetical"


def test_context_history_of_is_historical(nlp):
    tum = [f for f in findings(nlp, "History of osteosarcoma of the femur treated in 2010.", "pathology")]
    assert tum[0]["assertion"] == "historical"


@pytest.mark.parametrize("field", ["FROZEN SECTION: ___", "FROZEN SECTION: N/A", "FROZEN SECTION:\n\nIMPLANTS: DFR"])
def test_context_blank_template_field_documents_nothing(nlp, field):
    assert findings(nlp, "PROCEDURE: Radical resection of the distal femur.\n" + field + "\n", "frozen_section") == []


def test_context_frozen_section_not_sent_with_reason(nlp):
    fs = findings(nlp, "No frozen section was sent because the diagnosis was established on prior biopsy.", "frozen_section")
    assert fs[0]["attributes"]["result"] == "not_performed" and fs[0]["attributes"]["reason"] is True


def test_context_frozen_section_pending(nlp):
    fs = findings(nlp, "Frozen section of the marrow margin is pending.", "frozen_section")
    assert fs[0]["attributes"]["result"] == "pending"


def test_context_frozen_section_with_the_diagnosis_deferred_is_pending(nlp):
    text = "Frozen section: adequacy - diagnostic lesional tissue present; diagnosis deferred to permanent sections.\n"
    assert findings(nlp, text, "frozen_section")[0]["attributes"]["result"] == "pending"


def test_context_frozen_section_field_does_not_read_the_next_fields(nlp):
    text = ("Procedure: En bloc resection of the left femoral diaphysis with intercalary allograft\n"
            "Frozen section: intramedullary margin sent\nEBL: 1600 mL\nSpecimen: thigh sarcoma with femoral diaphysis, en bloc\n\n")
    assert findings(nlp, text, "frozen_section")[0]["attributes"]["result"] == "unknown"


@pytest.mark.parametrize(
    "text",
    [
        "Curettings sent for HPE; frozen section not sent (diagnosis confirmed on core biopsy).",
        "Frozen section: not sent - recurrence confirmed on CT-guided core biopsy 09/2025.",
        "Frozen section: none - no clinical concern for tumor; cultures only.",
    ],
)
def test_context_frozen_section_not_sent_reasons(nlp, text):
    fs = findings(nlp, text, "frozen_section")
    assert fs[0]["attributes"]["result"] == "not_performed" and fs[0]["attributes"]["reason"] is True


@pytest.mark.parametrize(("text", "intent"), [("The margin was therefore wide, through normal bone and muscle.", "wide"),
                                              ("Margin intent ............ Wide (above the compartment involvement)\n", "wide"),
                                              ("Margins: radical.", "radical")])
def test_margins_told_as_a_field_or_a_statement(nlp, text, intent):
    assert [f["attributes"]["intent"] for f in findings(nlp, text, "margin")] == [intent]


def test_context_rules_hold_one_rule_per_literal():
    # Two rules on the same words leave one modifier, and which one would depend on rule order.
    from collections import Counter

    from opnote.components.context import build_context_rules

    counts = Counter(str(r["literal"]).lower() for r in build_context_rules())
    assert [k for k, n in counts.items() if n > 1] == []


def test_context_negation_after_a_long_option_reaches_back(nlp):
    text = ("Given the multifocal disease, wide resection of the femoral lesion with segmental endoprosthetic "
            "replacement was not considered; the aim was stabilisation of the whole femur.")
    assert {f["kind"]: f["assertion"] for f in findings(nlp, text) if f["kind"] in ("margin", "procedure")} == {"margin": "negated", "procedure": "negated"}


def test_context_free_flap_is_not_a_negation(nlp):
    text = "Operation: Intercalary wide resection of Lt femoral diaphysis (18 cm) + reconstruction with free vascularised fibula graft\n"
    sites = [f for f in findings(nlp, text, "tumor_location") if f["attributes"]["site"] == "femoral_shaft"]
    assert sites and sites[0]["assertion"] == "present"


@pytest.mark.parametrize(("text", "tumor"), [("Provisional diagnosis: Lt distal femur lesion - ? osteosarcoma\n", "osteosarcoma"),
                                             ("Pre-procedure Diagnosis: Aggressive lesion left distal femur, suspect osteosarcoma\n", "osteosarcoma")])
def test_context_queried_and_suspected_tumors_are_possible(nlp, text, tumor):
    found = [f for f in findings(nlp, text, "pathology") if f["text"].lower() == tumor]
    assert found and found[0]["assertion"] == "possible"


def test_sentencizer_question_mark_before_a_word_ends_nothing(nlp):
    import opnote

    doc = opnote.process(nlp, "Dx: Lt distal femur lesion - ? osteosarcoma, r/o Ewing sarcoma")
    assert [doc.text[s:e].strip() for s, e in doc._.opnote_sents if doc.text[s:e].strip()] == ["Dx: Left distal femur lesion - ? osteosarcoma, r/o Ewing sarcoma"]
    doc = opnote.process(nlp, "Is it painful? Yes.")
    assert [doc.text[s:e].strip() for s, e in doc._.opnote_sents if doc.text[s:e].strip()] == ["Is it painful?", "Yes."]


# ------------------------------------------------------------------ abbreviations
@pytest.mark.parametrize(
    ("text", "kind", "attr", "value"),
    [
        ("Reconstruction with a DFR.", "reconstruction", "kind", "endoprosthesis"),
        ("PTR was cemented.", "reconstruction", "kind", "endoprosthesis"),
        ("APC reconstruction was done.", "reconstruction", "kind", "allograft_prosthetic_composite"),
        ("Prior TKA on this side.", "reconstruction", "kind", "arthroplasty"),
        ("FS of the marrow: negative.", "frozen_section", "result", "negative"),
        ("Biopsy showed GCT.", "pathology", "histology", "giant cell tumor"),
        ("Biopsy showed high-grade OS.", "pathology", "histology", "osteosarcoma"),
        ("Core biopsy: UPS.", "pathology", "histology", "undifferentiated pleomorphic sarcoma"),
    ],
)
def test_abbreviations_lexicon(nlp, text, kind, attr, value):
    got = [f["attributes"].get(attr) for f in findings(nlp, text, kind)]
    assert value in got


def test_abbreviations_defined_in_the_note(nlp):
    from opnote.normalize import canonical

    text = "Endoprosthetic reconstruction (ENR) was chosen. The ENR was cemented."
    rec = findings(nlp, text, "reconstruction")
    seen = canonical(text).text  # the pipeline's offsets index the canonical text
    assert {seen[f["start"]:f["end"]] for f in rec} >= {"ENR"}


# ------------------------------------------------------------------ raw dictation
def test_raw_dictation_end_to_end(checker):
    text = (
        "preoperative diagnosis colon osteosarcoma of the left distal femur period procedure colon radical resection "
        "of the left distal femur with distal femoral replacement period new paragraph the mri was reviewed period "
        "we discussed limb salvage versus amputation for this malignant tumor and consent was signed period "
        "the tumor was removed in bloc with a wide margin comma the femur was cut fifteen centimeters from the joint line period "
        "frozen section of the marrow was negative period the cemented distal femoral replacement was assembled with a rotating hinge period "
        "specimen to pathology for permanent sections period"
    )
    report = checker.check(text)
    assert report.verdict == "ready", [(i.id, i.status) for i in report.checklist]
    for f in report.findings:
        assert text[f.start:f.end] == f.text


def test_side_of_a_phrase_closed_by_side_does_not_reach_the_next_one(checker):
    """"against the right side, the femoral osteotomy": "right side" is a phrase of its own, so a
    left-sided resection keeps one side."""
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the left distal femur.",
        proc="PROCEDURE: Radical resection of the left distal femur with distal femoral replacement.",
    ).replace("MRI of the right femur", "MRI of the left femur")
    text = text.replace(
        "The femur was osteotomized 15 cm from the joint line.",
        "Allowing for growth measured against the right side, the femoral osteotomy was made 15 cm from the joint line.",
    )
    report = checker.check(text)
    assert report.case.side.value == "left"
    assert report.item("tumor_location").status == "met"


def test_sentencizer_a_heading_on_its_own_line_starts_a_sentence_in_lower_case_notes(nlp):
    doc = nlp(
        "preoperative diagnosis: chondrosarcoma of the right proximal femur extending into the femoral triangle\n"
        "postoperative diagnosis: same\nprocedure: right hip disarticulation\n"
    )
    starts = [s.text.split(":")[0] for s in doc.sents]
    assert starts[:3] == ["preoperative diagnosis", "postoperative diagnosis", "procedure"]


# ---------------------------------------------------------------- record-form layouts
FORM_NOTE = """PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the right distal femur.
Side: [ ] Left  [x] Right
Margin intent: ( ) Intralesional  (•) Wide  ( ) Marginal
Pre-op imaging: [x] MRI  [ ] CT  [x] X-ray  [ ] Bone scan
Frozen section: [X] Yes  [ ] No   Result: negative for tumor at the femoral canal margin
PROCEDURE: Radical resection of the right distal femur, 160 mm, with distal femoral replacement.
CONSENT: We discussed the osteosarcoma, limb salvage with a distal femoral replacement versus
above-knee amputation, and the risks; she signed.
SPECIMENS: Distal femur sent to pathology for permanent sections and margins.
"""


def test_form_boxes_not_ticked_document_nothing(checker):
    """"[ ] CT" is a CT not done, "[ ] Left" a side not chosen, "( ) Intralesional" a margin not
    intended: only the ticked options count."""
    report = checker.check(FORM_NOTE)
    assert report.case.side.value == "right" and report.item("tumor_location").status == "met"
    assert report.item("margin_intent").status == "met"
    kinds = {f.attributes.get("modality") for f in report.findings if f.kind == "imaging" and f.assertion == "present"}
    assert "ct" not in kinds and "bone_scan" not in kinds and {"mri", "radiograph"} <= kinds
    for f in report.findings:  # offsets still index the original text
        assert FORM_NOTE[f.start:f.end] == f.text


def test_record_exports_read_as_labelled_fields(checker):
    """XML fields, JSON lines and FIELD=value exports give the same report as the labelled note."""
    plain = checker.check(FORM_NOTE)
    lines = [ln for ln in FORM_NOTE.replace("\nabove", " above").splitlines() if ln.strip()]
    pairs = [ln.split(":", 1) for ln in lines]
    xml = "<Document>\n" + "\n".join(f'<Field name="{k.title().replace(" ", "").replace("-", "")}">{v.strip()}</Field>' for k, v in pairs) + "\n</Document>\n"
    kv = "\n".join(f"{k.upper().replace(' ', '_').replace('-', '_')}={v.strip().replace(';', ',')}" for k, v in pairs) + "\n"
    for text in (xml, kv):
        report = checker.check(text)
        assert report.verdict == plain.verdict
        assert {i.id: i.status for i in report.checklist} == {i.id: i.status for i in plain.checklist}


def test_lines_cut_at_a_fixed_width_mid_word_are_joined(checker):
    text = FORM_NOTE.replace("[ ] Left  [x] Right", "Right").replace("( ) Intralesional  (•) Wide  ( ) Marginal", "Wide")
    flat = " ".join(text.split("\n"))
    wrapped = "\n".join(flat[i:i + 60] for i in range(0, len(flat), 60))
    cut = [w for w in flat.split() if not any(w in line for line in wrapped.split("\n"))]
    assert cut  # words the 60-column cut split in two
    joined = canonical(wrapped).text
    assert all(w in joined for w in cut)
    a, b = checker.check(text), checker.check(wrapped)
    assert {i.id: i.status for i in b.checklist} == {i.id: i.status for i in a.checklist}


@pytest.mark.parametrize(
    ("words", "item", "status"),
    [
        ("Medullary content sent for transoperative study: negative for neoplasia.", "frozen_section", "met"),
        ("Simple radiography and a bone gammagram were reviewed before surgery.", "preop_imaging", "met"),
        ("Resected distal femur sent for HPE.", "pathology", "met"),
    ],
)
def test_usage_of_other_englishes(checker, words, item, status):
    base = note(path=None, desc="DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. A distal femoral replacement was cemented.",
                ind="INDICATIONS: We discussed limb salvage versus above-knee amputation for the malignant tumor; consent was signed.")
    extra = {"frozen_section": "FINDINGS: " + words, "preop_imaging": "STUDIES: " + words, "pathology": "SPECIMENS: " + words}[item]
    assert checker.check(base).item(item).status != status
    assert checker.check(base + "\n" + extra + "\n").item(item).status == status


def test_a_curette_that_samples_the_marrow_is_not_the_margin(checker):
    text = note(desc=(
        "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was osteotomized "
        "15 cm from the joint line. Curettage of the medullary canal of the proximal stump was sent for frozen "
        "section: negative for tumor. On the back table the marrow contents were curetted out of the segment for "
        "research. A cemented distal femoral replacement was implanted."
    ))
    report = checker.check(text)
    intents = present_attrs(report, "margin", "intent")
    assert "intralesional" not in intents and "wide" in intents


def test_a_frozen_section_result_lines_below_its_field(checker):
    text = note(desc=(
        "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. "
        "A cemented distal femoral replacement was implanted."
    )) + "\nFROZEN SECTION:\nFrozen section: sent\nSpecimen: proximal femoral marrow at the osteotomy\nResult: negative for tumor\n"
    item = checker.check(text).item("frozen_section")
    assert item.status == "met"


def test_a_tumor_size_on_dated_imaging_is_its_size(checker):
    text = note(
        desc="DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. A distal femoral replacement was cemented.",
        ind=(
            "INDICATIONS: MRI of the right femur 09/05/2024: 8.5 cm lesion of the distal metaphysis with a soft "
            "tissue component, 6 x 4 x 3 cm. We discussed limb salvage versus above-knee amputation for the malignant "
            "tumor, and consent was signed."
        ),
        path="SPECIMENS: Distal femur sent to pathology for permanent sections.",
    )
    item = checker.check(text).item("resection_dimensions")
    assert item.status == "partial" and "tumor size" in item.message


def test_a_flag_answered_n_is_a_no(checker):
    text = note(desc=(
        "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. "
        "A cemented distal femoral replacement was implanted."
    )) + "\nCurettage / cement: N\n"
    report = checker.check(text)
    intents = present_attrs(report, "margin", "intent")
    assert "intralesional" not in intents


def test_text_copied_forward_from_an_earlier_encounter_is_that_encounters(checker):
    text = (
        "PREOPERATIVE DIAGNOSIS: Loose femoral stem, left distal femoral replacement; osteosarcoma treated 2014.\n"
        "PROCEDURE: Revision of the femoral stem, left distal femoral replacement.\n\n"
        "----- COPIED FORWARD FROM ENCOUNTER 2014-09-16 (original operation) -----\n"
        "Procedure: Wide resection left distal femur osteosarcoma, 170 mm. Frozen section of marrow margin negative.\n"
        "----- END COPIED TEXT -----\n\n"
        "The stem was removed and a longer cemented stem implanted.\n"
    )
    report = checker.check(text)
    assert report.item("frozen_section").status != "met"
    assert not any(f.kind == "margin" and f.assertion == "present" for f in report.findings)


def test_a_fibula_harvested_for_a_graft_is_not_the_tumor_site(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Osteosarcoma of the right femur, mid shaft.",
        proc=(
            "PROCEDURE: Intercalary resection of the right femoral diaphysis; reconstruction with a fibula autograft "
            "(left fibula harvest) and a plate; fibula strut fixed with screws."
        ),
        desc=(
            "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, a 14 cm segment. "
            "The second team harvested the left fibula through a lateral approach. The fibula autograft was "
            "placed as an intramedullary strut and fixed with a plate."
        ),
    )
    report = checker.check(text)
    assert report.diagnosis.site == "femoral_shaft"
    assert "27646" not in [a.code for a in report.advisories if a.kind == "code_selection"]



# ------------------------------------------------------------------ tokenizer
def test_the_tokenizer_gives_spacys_tokens(nlp):
    import spacy

    plain = spacy.blank("en").tokenizer
    text = (
        "Surgeon: Dr. A. Smith, M.D.; assistant e.g. the fellow\n"  # special cases first, as in most headers
        "PROCEDURE: Radical resection (15 cm), distal femur -- DFR; can't wait :) 3x4cm.\n\n"
        "The femur's canal was reamed to 13.5mm; Mr. Lee's knee isn't stiff.\n" * 3
    )
    expected = [(t.text, t.whitespace_, t.norm_) for t in plain(text)]
    for _ in range(2):  # the second time, its lines are not tokenized again on their own
        assert [(t.text, t.whitespace_, t.norm_) for t in nlp.tokenizer(text)] == expected
    assert nlp.config["nlp"]["tokenizer"]["@tokenizers"] == "opnote.Tokenizer.v1"


# ------------------------------------------------------------------ what the note says was done
SOFT_TISSUE_FEMUR_KEPT = (
    "PREOPERATIVE DIAGNOSIS: Myxofibrosarcoma of the right thigh, abutting the femur.\n\n"
    "PROCEDURE: Wide resection of the right thigh soft-tissue sarcoma, femoral periosteum taken as the deep margin.\n\n"
    "INDICATIONS: MRI showed the mass on the femoral shaft without cortical erosion. The plan was to keep the "
    "femur unless it was invaded, in which case we would resect a segment of femur and reconstruct it with a "
    "distal femoral replacement. We discussed limb salvage versus amputation for this sarcoma; she consented.\n\n"
    "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The periosteum was elevated with "
    "the specimen; the cortex was intact and the femur was left whole. Frozen section of the deep margin was "
    "negative. The wound was closed over drains.\n"
)


def test_an_implant_the_plan_would_have_needed_is_not_one_put_in(checker):
    report = checker.check(SOFT_TISSUE_FEMUR_KEPT)
    assert report.case.tissue.value == "soft_tissue"
    assert report.case.operation.value == "soft_tissue_resection"
    assert report.verdict != "ready"


@pytest.mark.parametrize("greeting", [
    "RE: MRS HONORA DELACOURT-MENSAH, 71 YEARS\nTHANK YOU FOR REFERRING MRS DELACOURT-MENSAH WITH A LUMP IN HER THIGH.\n\n",
    "PATIENT: MRS. JUNE ABARA\n\n",
])
def test_a_title_before_a_name_in_a_note_in_capitals_is_no_implant(checker, greeting):
    # "MRS" is also the short name of a modular resection system; before a name it is the
    # patient's title, and a soft-tissue resection stays one.
    report = checker.check((greeting + SOFT_TISSUE_FEMUR_KEPT).upper())
    assert report.case.operation.value == "soft_tissue_resection"
    assert report.verdict == "not_supported"


@pytest.mark.parametrize("recon", ["a Stryker MRS", "the MRS, cemented", "MRS components"])
def test_the_modular_resection_system_in_capitals_is_still_an_implant(checker, recon):
    desc = PARTS["desc"].replace(" A cemented distal femoral replacement was implanted.", f" Reconstruction with {recon}.")
    report = checker.check(note(proc="PROCEDURE: Radical resection of the right distal femur.", desc=desc).upper())
    assert [f.attributes.get("kind") for f in report.findings if f.kind == "reconstruction" and f.assertion == "present"] == ["endoprosthesis"]


@pytest.mark.parametrize("words", [
    # "left" as a verb after a muscle's name, every word in capitals
    "A layer of vastus intermedius left circumferentially on the diaphysis as the margin.",
    # the other leg's position, its sentence broken across two lines
    "Bump under the right hip, left leg in\na well-leg holder.",
    # a maker's name spelled out letter by letter by speech recognition
    "Reconstruction with a Stryker G M L S distal femoral replacement.",
    # an OCR'd list number "(1)" read as a letter before the side
    "Specimens: (L) right distal femur, sent fresh.",
])
def test_a_side_word_that_is_no_side_makes_no_conflict_in_capitals(checker, words):
    text = note(desc="DESCRIPTION OF PROCEDURE:\n" + words + "\n" + PARTS["desc"].removeprefix("DESCRIPTION OF PROCEDURE: "))
    for version in as_typed_and_in_capitals(text):
        report = checker.check(version)
        assert report.case.side.value == "right" and report.case.side.conflicts == [], version[-200:]


def test_a_side_after_its_site_in_a_note_in_capitals_still_names_it(checker):
    # The same wording with the side of the opposite leg is still a conflict.
    text = note(pre="PREOPERATIVE DIAGNOSIS: HIGH-GRADE OSTEOSARCOMA OF THE DISTAL FEMUR LEFT.").upper()
    assert_side_conflict(checker.check(text), "right", "left")


_COLUMN_FORM = (
    "Pre op diagnosis  Aggressive lesion right distal femur, suspected osteosarcoma\n"
    "Post op diagnosis  Same, frozen section shows atypical spindle cells\n"
    "Procedure  Open incisional biopsy of the right distal femur through a small lateral incision\n\n"
    "Indication  Night pain for six weeks. MRI right femur: 8 cm intramedullary lesion. The track is placed so that "
    "a later wide resection can excise it.\n\n"
    "Description  A 3 cm incision in line with the future resection; a cortical window was made and several "
    "samples taken. The window was plugged with bone wax and the wound closed.\n"
)


_CASE_REPORT = (
    "A 58-year-old man presented with a painful mass of the right proximal femur. Open biopsy showed a grade 3 "
    "chondrosarcoma.\n\n"
    "Limb salvage was judged impossible because the tumor encased the femoral vessels, and a hip disarticulation was "
    "carried out with a wide margin. The wound was closed over drains.\n"
)


@pytest.mark.parametrize("said", [
    "The tumor cannot be removed by an amputation.",
    "She doesn't want an amputation.",
    "He didn't need an amputation.",
])
def test_a_contraction_in_capitals_negates_as_in_lower_case(checker, said):
    # spaCy lists "cannot" and "didn't" as special cases, not "CANNOT" or "DIDN'T"
    text = note(desc=PARTS["desc"] + " " + said)
    for version in as_typed_and_in_capitals(text):
        found = [f.assertion for f in checker.check(version).findings if f.kind == "procedure" and f.text.lower() == "amputation"]
        assert found == ["negated"], version[-120:]


def test_the_capital_contractions_leave_other_capitals_whole(nlp):
    assert [t.text for t in nlp.tokenizer("CANNOT; DON'T GO, IM NAIL")] == ["CAN", "NOT", ";", "DO", "N'T", "GO", ",", "IM", "NAIL"]


_PLATE_AFTER_SARCOMA = (
    "Preoperative diagnosis: Impending pathologic fracture, left femoral shaft, in an irradiated femur.\n"
    "History of soft-tissue sarcoma of the left thigh, treated 2020.\n"
    "Postoperative diagnosis: Same.\n\n"
    "Procedure: Prophylactic internal fixation of the left femur with a lateral locking plate.\n\n"
    "Indications: In 2020 she had a leiomyosarcoma of the left thigh, excised with radiotherapy. CT shows a thin "
    "cortex with no mass.\n\n"
    "Description: Through a lateral approach the plate was applied with eight bicortical screws. The wound was closed.\n"
)


@pytest.mark.parametrize(("text", "operation", "tumor_status"), [
    # headings parted from their values by two spaces, one field per line: in capitals the lines
    # must not be joined as a wrapped sentence, or the procedure line is lost
    (_COLUMN_FORM, "biopsy", "current"),
    # "LIMB SALVAGE WAS JUDGED ...": "Limb" is also a heading's word; before a verb it opens a sentence
    (_CASE_REPORT, "disarticulation", "current"),
    # "HISTORY OF SOFT-TISSUE SARCOMA ...": a heading's word before "of" opens a phrase, not a field
    (_PLATE_AFTER_SARCOMA, "prophylactic_fixation", "historical"),
], ids=["form with columns", "case report", "history of"])
def test_a_note_in_capitals_is_read_as_the_note_as_typed(checker, text, operation, tumor_status):
    for version in as_typed_and_in_capitals(text):
        report = checker.check(version)
        assert (report.case.operation.value, report.case.tumor_status.value, report.verdict) == (operation, tumor_status, "not_supported")


def test_implant_sizes_under_the_specimen_heading_are_no_specimen_size(checker):
    # The specimen's field runs on into the implant's line: "body segment 100 mm, 12 mm cemented
    # stem" are the implant's sizes, not the specimen's, and document no resection.
    desc = PARTS["desc"].replace(" The femur was osteotomized 15 cm from the joint line.", "")
    path = ("SPECIMENS: Distal femur out intact, sent to pathology.\n"
            "DFR: tibia prepared; distal femoral component medium, body segment 100 mm, 12 mm cemented stem, rotating hinge.")
    text = note(desc=desc, path=path)
    for version in as_typed_and_in_capitals(text):
        assert item_status(checker, version, "resection_dimensions") == "missing"


def test_a_side_of_another_bone_or_of_the_leg_out_of_the_way_is_no_conflict(checker):
    text = note(
        pre=(
            "PREOPERATIVE DIAGNOSIS: Metastasis of lung adenocarcinoma, right distal femur (bone biopsy of the left "
            "iliac crest metastasis showed adenocarcinoma)."
        ),
        desc=(
            "DESCRIPTION OF PROCEDURE: Supine on the table, left leg in lithotomy position. The tumor was resected "
            "en bloc with a wide margin. The femur was osteotomized 15 cm from the joint line. Frozen section of the "
            "femoral canal margin was negative for tumor. A cemented distal femoral replacement was implanted."
        ),
    )
    side = checker.check(text).case.side
    assert side.value == "right" and side.conflicts == []


def test_a_donor_leg_named_after_harvest_is_not_the_tumors_side(checker):
    text = note(proc=(
        "PROCEDURE: Radical resection of the right distal femur with distal femoral replacement; "
        "free fibula harvest L leg for the extensor repair."
    ))
    assert checker.check(text).case.side.conflicts == []


def test_a_length_of_the_bone_removed_is_not_a_part_of_the_implant(checker):
    text = note(
        proc=(
            "PROCEDURE: Radical resection of the right distal femur with a 16 cm segment of the right femoral "
            "diaphysis; reconstruction with an intercalary prosthesis."
        ),
        desc=(
            "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. Frozen section of the "
            "femoral canal margin was negative for tumor. Intercalary prosthesis implanted, details of components "
            "as per implant sheet."
        ),
    )
    assert checker.check(text).item("reconstruction").status == "partial"


def test_the_leg_under_a_compression_device_is_not_the_tumors_side(checker):
    text = note(path="SPECIMENS: Distal femur sent to pathology for permanent sections; margins pending.\nVTE prophylaxis: [SCDs left leg]")
    side = checker.check(text).case.side
    assert side.value == "right" and side.conflicts == []


def test_side_written_short_is_the_side(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the Rt. distal femur.",
                proc="PROCEDURE: Radical resection of the Rt distal femur with distal femoral replacement.")
    report = checker.check(text)
    assert report.case.side.value == "right" and report.item("tumor_location").status == "met"


def test_a_note_copied_from_an_earlier_operation_is_that_operations(checker):
    text = (
        "Pre-op dx: Chronic periprosthetic infection of a right distal femoral replacement\n"
        "Procedure: Right above-knee amputation\n\n"
        "HISTORY (copied from 2021 resection note header, for reference)\n"
        "Pre-op dx: High-grade osteosarcoma R distal femur. Procedure: wide resection R distal femur, 14 cm, DFR.\n\n"
        "NARRATIVE\nShe has had no evidence of disease on surveillance since the resection in 2021.\n"
    )
    case = checker.check(text).case
    assert case.operation.value == "amputation" and case.tumor_status.value == "historical"


def _operation_and_verdict(checker, text: str) -> tuple[str | None, str]:
    report = checker.check(text)
    return report.case.operation.value, report.verdict


def test_bone_resection_said_not_performed_keeps_a_soft_tissue_resection(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Synovial sarcoma of the right popliteal fossa.",
        proc="PROCEDURE: Wide excision of the right popliteal synovial sarcoma, en bloc with a popliteal vein segment.",
        desc=("DESCRIPTION OF PROCEDURE: The popliteal vein was encased; a segment of about 70 mm was taken with the tumor. "
              "The periosteum of the popliteal surface was included with the specimen. Femur not breached. "
              "Bone resection not performed. A segment of the superficial femoral artery was spared."),
    )
    assert _operation_and_verdict(checker, text) == ("soft_tissue_resection", "not_supported")


def test_a_metastasis_stays_current_beside_its_primarys_history(checker):
    text = note(pre=("PREOPERATIVE DIAGNOSIS: Solitary metastasis of clear cell renal cell carcinoma, right proximal femur, "
                     "impending pathological fracture. History of left nephrectomy 2019."))
    assert checker.check(text).case.tumor_status.value == "current"


def test_a_case_series_is_judged_on_its_first_patient(checker):
    text = ("Case 1. An 11-year-old girl with Ewing sarcoma of the right femoral diaphysis underwent a wide intercalary "
            "resection of 19 cm of the right femoral diaphysis with an allograft and plate.\n\n"
            "Case 2. A 16-year-old boy with Ewing sarcoma of the left femoral shaft was treated in the same way.\n")
    side = checker.check(text).case.side
    assert side.value == "right" and side.conflicts == []


def test_a_template_frozen_section_answered_no_with_its_reason(nlp):
    text = "Frozen section:        Performed: No; Reason: histology established on core biopsy\n"
    fs = findings(nlp, text, "frozen_section")
    assert fs[0]["attributes"]["result"] == "not_performed" and fs[0]["attributes"]["reason"] is True


def test_the_donor_legs_later_mentions_are_not_the_tumors_side(checker):
    text = note(
        proc=("PROCEDURE: Intercalary wide resection of the right femoral diaphysis; reconstruction with an allograft "
              "and a free vascularized fibula."),
        desc=("DESCRIPTION OF PROCEDURE: Right thigh and left leg both prepped and draped. The fibula was harvested by "
              "plastics. The femur was osteotomized 15 cm from the joint line and the segment resected en bloc. "
              "Frozen section of the femoral canal margin was negative for tumor. Left leg wound closed separately."),
    )
    side = checker.check(text).case.side
    assert side.value == "right" and side.conflicts == []


def test_a_relapse_is_a_current_tumor(checker):
    text = note(pre=(
        "PREOPERATIVE DIAGNOSIS: Local relapse of Ewing sarcoma of the right distal femur, previously treated with "
        "chemotherapy and radiotherapy (2022)."
    ))
    assert checker.check(text).case.tumor_status.value == "current"


@pytest.mark.parametrize(
    ("words", "tumor_type"),
    [
        ("metastasis of breast carcinoma", "metastatic breast carcinoma"),
        ("high-grade chondroblastic osteosarcoma", "osteosarcoma"),
        ("parosteal osteosarcoma", "parosteal osteosarcoma"),
        ("low-grade central osteosarcoma", "low-grade central osteosarcoma"),
        ("clear-cell chondrosarcoma", "clear cell chondrosarcoma"),
        ("conventional high-grade osteosarcoma", "osteosarcoma"),
    ],
)
def test_tumor_type_is_the_histology(checker, words, tumor_type):
    text = note(pre=f"PREOPERATIVE DIAGNOSIS: Right distal femur {words}.")
    assert checker.check(text).diagnosis.tumor_type == tumor_type


@pytest.mark.parametrize(
    "sentence",
    [
        "Joint-sparing curettage was preferred to wide resection of the distal femur.",
        "A wide resection of the distal femur was never a consideration for this benign lesion.",
        "The biopsy tract was marked so it can be excised en bloc at the time of the definitive wide resection.",
    ],
)
def test_a_margin_not_chosen_is_not_the_margin(checker, sentence):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Aneurysmal bone cyst of the right distal femur.",
        proc="PROCEDURE: Curettage and bone grafting of the right distal femur.",
        ind=f"INDICATIONS: {sentence} The family signed consent for curettage.",
        desc="DESCRIPTION OF PROCEDURE: A cortical window was made and the lesion was curetted and packed with allograft chips.",
    )
    intents = present_attrs(checker.check(text), "margin", "intent")
    assert "wide" not in intents


def test_case_report_prose_tells_the_index_operation_in_the_past(checker):
    text = (
        "A 14-year-old girl presented with pain above the right knee. Radiographs and MRI showed a lesion of the "
        "right distal femur, and a core needle biopsy confirmed osteosarcoma. Ten weeks after diagnosis she underwent "
        "wide resection of the right distal femur, and the defect was reconstructed with a distal femoral replacement. "
        "Six weeks later the wound was healed.\n"
    )
    assert checker.check(text).case.operation.value == "radical_resection"
    text2 = (
        "A 71-year-old woman had a myxofibrosarcoma of the right thigh. Core needle biopsy confirmed it. Six weeks "
        "later the tumor was excised en bloc with a wide margin; the femoral periosteum was taken and no bone was resected.\n"
    )
    assert checker.check(text2).case.operation.value == "soft_tissue_resection"


def test_a_note_that_never_states_the_side_supports_only_an_unspecified_code(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the distal femur.",
        proc="PROCEDURE: Radical resection of the distal femur with distal femoral replacement.",
        ind=(
            "INDICATIONS: Biopsy-proven osteosarcoma. Preoperative MRI of the femur and CT of the chest were reviewed "
            "for planning. We discussed limb salvage versus above-knee amputation for this malignant tumor, and "
            "informed consent was obtained."
        ),
    )
    report = checker.check(text)
    item = report.item("diagnosis_code")
    assert report.diagnosis.expected_icd10 == ["C40.20"]
    assert item.status == "partial" and "side" in item.message


def test_a_cortical_shave_with_an_osteotome_is_not_a_bone_resection(checker):
    text = (
        "PREOPERATIVE DIAGNOSIS: Pleomorphic liposarcoma of the right anterior thigh. Femur not invaded.\n\n"
        "PROCEDURE: Radical resection of the right anterior thigh compartment; deep margin the femoral periosteum "
        "with a thin cortical shave. No segmental bone resection.\n\n"
        "DESCRIPTION OF PROCEDURE: The compartment was removed en bloc with a wide margin. Where the muscle was most "
        "adherent a thin cortical shave, 1 to 2 mm, was taken with a broad osteotome and kept on the specimen. The "
        "medullary canal was not entered and the femur remained in continuity. Frozen section of the deep margin "
        "was negative.\n"
    )
    report = checker.check(text)
    assert report.case.operation.value == "soft_tissue_resection"
    assert report.verdict != "ready"


def test_an_extraskeletal_sarcoma_is_a_soft_tissue_tumor(checker):
    text = (
        "PREOPERATIVE DIAGNOSIS: Extraskeletal Ewing sarcoma of the left distal thigh, abutting the femur.\n\n"
        "PROCEDURE: Wide excision of the left distal thigh mass.\n\n"
        "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin; the periosteum was taken as the "
        "deep margin and no bone was resected.\n"
    )
    report = checker.check(text)
    assert report.case.tissue.value == "soft_tissue"
    assert report.diagnosis.expected_icd10 == ["C49.22"]


def test_a_sarcoma_of_the_mid_thigh_invading_the_femur_is_a_soft_tissue_tumor(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Undifferentiated pleomorphic sarcoma of the left mid-thigh soft tissues, invading the left femoral diaphysis.",
        proc="PROCEDURE: Wide en bloc resection of the tumor with a segment of the left femoral diaphysis; intercalary allograft and plate.",
        desc=(
            "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was osteotomized "
            "15 cm from the joint line. The allograft was fixed with a locking plate."
        ),
    )
    assert checker.check(text).case.tissue.value == "soft_tissue_invading_bone"


def test_words_about_the_operation_after_the_implant_do_not_date_the_implant(checker):
    text = (
        "PREOPERATIVE DIAGNOSIS: End-stage osteoarthritis of the right knee; history of wide excision of a right "
        "thigh myxofibrosarcoma in 2014 with radiation.\n\n"
        "PROCEDURE: Right total knee arthroplasty, cemented, posterior stabilized, increased complexity due to prior "
        "radiation and scar.\n\n"
        "DESCRIPTION OF PROCEDURE: A medial parapatellar arthrotomy was made. The femoral and tibial components were "
        "cemented and a 10 mm polyethylene insert was placed.\n"
    )
    report = checker.check(text)
    assert [f.assertion for f in report.findings if f.kind == "reconstruction"] == ["present"]
    assert report.item("reconstruction").status == "met"


# -- round 12: what a clause dates, what a field undoes, which side a word is --------------------
def test_an_earlier_implant_or_incision_in_the_clause_does_not_date_the_resection(checker):
    text = note(proc="PROCEDURE: Resection of the right distal femur with distal femoral replacement.",
                desc=("DESCRIPTION OF PROCEDURE: Through the original incision, a wide resection of the right distal femur "
                      "was performed, excising the previous biopsy tract en bloc. The femur was osteotomized 15 cm from the "
                      "joint line. Frozen section of the femoral canal margin was negative for tumor. A cemented distal "
                      "femoral replacement was implanted."))
    assert checker.check(text).item("margin_intent").status == "met"


def test_imaging_after_the_operation_is_not_preoperative_imaging(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. We discussed limb salvage versus above-knee amputation, the "
                     "malignant nature of the tumor and the risk of local recurrence, and informed consent was obtained."),
                path=("SPECIMENS: Distal femur sent to pathology for permanent sections; margins pending.\n\n"
                      "OUTCOME: At the last follow-up, radiographs showed a well-fixed implant."))
    report = checker.check(text)
    assert report.item("preop_imaging").status == "missing"
    assert [f.attributes.get("timing") for f in report.findings if f.kind == "imaging"] == ["postoperative"]


def test_radiotherapy_written_rt_is_not_the_right_side(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Chondrosarcoma of the left proximal femur.",
                proc="PROCEDURE: Wide resection of the left proximal femur with proximal femoral replacement.",
                ind=("INDICATIONS: Preoperative MRI of the left femur reviewed.\n\nCONSENT: The tumor needs resection since "
                     "it is resistant to chemo/RT. Options: limb salvage surgery with a proximal femoral replacement or "
                     "amputation; the malignant nature of the tumor was discussed and consent signed."),
                desc=("DESCRIPTION OF PROCEDURE: The left femur was osteotomized 16 cm below the tip of the trochanter and "
                      "the tumor resected en bloc with a wide margin. Frozen section of the canal margin was negative."))
    side = checker.check(text).case.side
    assert side.value == "left" and side.conflicts == []


def test_the_leg_under_calf_compressors_is_not_the_tumors_side(checker):
    text = note(path="SPECIMENS: Distal femur sent to pathology for permanent sections; margins pending.\nVTE: calf compressor on the L) leg.")
    side = checker.check(text).case.side
    assert side.value == "right" and side.conflicts == []


def test_a_cancer_in_remission_on_the_next_diagnosis_line_leaves_the_metastasis_current(checker):
    text = note(pre=("PREOPERATIVE DIAGNOSIS:\n1) Pathologic fracture right distal femur through a solitary metastasis of lung "
                     "adenocarcinoma\n2) Adenocarcinoma of the right upper lobe, s/p SBRT 2023, NED in chest"))
    assert checker.check(text).case.tumor_status.value == "current"


@pytest.mark.parametrize("bone_line", [
    "Femur preserved - distal femur resection NOT performed.",
    "Bone resection length    N/A - no bone resected.",
])
def test_a_bone_resection_the_next_words_undo_is_no_bone_resection(checker, bone_line):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Synovial sarcoma of the right distal thigh, abutting the distal femur.",
        proc="PROCEDURE: Wide resection of the right distal thigh synovial sarcoma.",
        desc=("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with the periosteum as the deep margin. "
              f"{bone_line} Frozen section of the deep margin was negative."),
    )
    assert _operation_and_verdict(checker, text) == ("soft_tissue_resection", "not_supported")


def test_a_planned_procedure_field_is_a_plan_and_a_dot_leader_is_a_field(checker):
    text = (
        "PRE-OP DIAGNOSIS ... Extraskeletal Ewing sarcoma, left lateral distal thigh, abutting the femoral condyle.\n"
        "PROCEDURE PLANNED .. Wide resection of the thigh sarcoma; possible distal femoral resection with endoprosthetic\n"
        "reconstruction if bone involved.\n"
        "PROCEDURE DONE ..... Wide resection of the left distal thigh extraskeletal Ewing sarcoma with the periosteum as the\n"
        "deep margin. No bone resection.\n"
        "IMPLANTS ........... None. Modular distal femoral replacement set in the room, not opened.\n"
    )
    report = checker.check(text)
    assert report.case.operation.value == "soft_tissue_resection"
    assert not any(f.kind == "reconstruction" and f.assertion == "present" for f in report.findings)


def test_a_soft_tissue_specimen_length_alone_does_not_make_bone_resected(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Myxofibrosarcoma of the right anterior thigh, deep to the fascia, abutting the femoral shaft.",
        proc="PROCEDURE: Wide resection of the right thigh myxofibrosarcoma.",
        desc=("DESCRIPTION OF PROCEDURE: The vastus intermedius was taken with the tumor en bloc. Resection length 18 cm. "
              "Frozen section of the deep margin was negative."),
    )
    assert checker.check(text).case.operation.value == "soft_tissue_resection"


def test_a_resection_within_oncological_limits_is_a_wide_margin(checker):
    text = note(proc="PROCEDURE: Resection of the right distal femur with distal femoral replacement.",
                desc=("DESCRIPTION OF PROCEDURE: Segmental resection of the tumor within oncological limits. The femur was "
                      "osteotomized 15 cm from the joint line and a distal femoral replacement implanted."))
    assert checker.check(text).item("margin_intent").status == "met"


def test_imaging_named_in_spanish_and_portuguese_abbreviations(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma; RMN of the right femur and TAC of the thorax reviewed. We "
                     "discussed limb salvage versus above-knee amputation and the malignant nature of the tumor, and "
                     "informed consent was obtained."))
    modalities = {f.attributes["modality"] for f in checker.check(text).findings if f.kind == "imaging"}
    assert modalities == {"mri", "ct"}


def test_a_specimen_sent_for_anatomopathological_study_is_pending_pathology(checker):
    text = note(desc=("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was osteotomized "
                      "15 cm from the joint line. A cemented distal femoral replacement was implanted. The specimen was sent "
                      "for anatomopathological study with the margins marked."), path=None)
    assert checker.check(text).item("pathology").status == "met"


def test_a_tumor_named_as_the_first_suspicion_is_not_confirmed(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Aggressive lesion of the right distal femur; osteosarcoma is the first suspicion.",
                ind="INDICATIONS: Open biopsy of the lesion; MRI of the right femur reviewed.")
    assert checker.check(text).diagnosis.certainty == "uncertain"


@pytest.mark.parametrize("sentence, result", [
    ("A frozen section of the proximal marrow showed no tumor.", "negative"),
    ("Frozen section showed high grade sarcoma.", "positive"),
    ("Margins were negative on frozen section, final pathology pending.", "negative"),
])
def test_a_frozen_sections_result_is_read_with_its_negation_and_before_it(checker, sentence, result):
    report = checker.check(note(desc=f"DESCRIPTION OF PROCEDURE: The femur was osteotomized 15 cm from the joint line. {sentence}"))
    assert [f.attributes["result"] for f in report.findings if f.kind == "frozen_section"] == [result]


def test_a_revision_years_after_the_resection_has_no_margin_or_length_of_its_own(checker):
    text = (
        "PREOPERATIVE DIAGNOSIS: Aseptic loosening of a right distal femoral replacement; history of osteosarcoma "
        "treated in 2011, no evidence of disease since.\n\n"
        "PROCEDURE: Revision of the femoral stem of the right distal femoral replacement.\n\n"
        "INDICATIONS: Osteosarcoma of the right distal femur, treated with chemotherapy and a wide resection, resection "
        "length 160 mm, with a distal femoral replacement. She is disease free on surveillance.\n\n"
        "DESCRIPTION OF PROCEDURE: The loose stem was removed and a new 15 x 150 mm cemented stem implanted.\n"
    )
    report = checker.check(text)
    present = [f for f in report.findings if f.assertion == "present"]
    assert report.case.tumor_status.value == "historical"
    assert not [f for f in present if f.kind == "margin"]
    assert not [f for f in present if f.kind == "dimension" and f.attributes["measures"] == "resection_length"]


def test_staging_imaging_ordered_for_this_week_is_not_preoperative_imaging(checker):
    text = note(ind=("INDICATIONS: Suspected osteosarcoma; MRI of the right femur reviewed. I have ordered a CT of the chest "
                     "and a bone scan for staging, to be done this week. We discussed limb salvage versus amputation and "
                     "the malignant nature of the tumor, and informed consent was obtained."))
    modalities = {f.attributes["modality"] for f in checker.check(text).findings if f.kind == "imaging" and f.assertion == "present"}
    assert modalities == {"mri"}


@pytest.mark.parametrize("text, measures", [
    ("MRI showed marrow involvement up to 210 mm from the joint line.", "tumor"),
    ("Segmental resection of the superficial femoral vein (13 cm), vein ligated.", "other"),
    ("The femoral periosteum over 8 cm was taken with the specimen.", "other"),
    ("Closest margin, at the popliteal vein, about 1 mm.", "margin_distance"),
])
def test_what_a_length_measures_is_read_from_the_words_before_it(text, measures):
    assert [d["measures"] for d in find_dimensions(text)] == [measures]


def test_a_soft_tissue_sarcoma_is_located_in_its_soft_tissue_not_the_bone_it_abuts(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Leiomyosarcoma of the left superficial femoral vein, mid thigh, abutting the left femoral shaft.",
        proc="PROCEDURE: Wide en bloc resection of the left thigh soft-tissue sarcoma with the superficial femoral vein.",
        ind="INDICATIONS: Biopsy-proven leiomyosarcoma; MRI of the left thigh reviewed; consent obtained.",
        path="SPECIMENS: Left thigh sarcoma with the vein segment, to pathology; margins pending.",
        desc=("DESCRIPTION OF PROCEDURE: The femur was not involved and was not cut; the tumor was removed en bloc with "
              "the vein. Frozen section of the deep margin was negative."),
    )
    report = checker.check(text)
    assert report.case.tissue.value == "soft_tissue" and report.diagnosis.category == "soft_tissue_sarcoma"


@pytest.mark.parametrize("proc", [
    "PROCEDURE: Prophylactic plate osteosynthesis of the left proximal femur.",
    "PROCEDURE: Prophylactic IM fixation of the left femur with a cephalomedullary nail.",
])
def test_a_prophylactic_fixation_written_in_other_words_is_one(checker, proc):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Metastatic breast carcinoma of the left proximal femur, impending fracture.",
                proc=proc, desc="DESCRIPTION OF PROCEDURE: The nail was locked proximally and distally. The lesion was not opened.")
    assert checker.check(text).case.operation.value == "prophylactic_fixation"


@pytest.mark.parametrize("words", [
    "The vastus intermedius was excised off the femoral shaft with the periosteum.",
    "The periosteum of the distal femur was resected with the specimen; the cortex was intact.",
    "The tumor was removed by en bloc resection of the femoral periosteum and the vastus intermedius.",
    "A tangential osteotomy of the anterior femoral cortex was performed to take a thin layer of cortex with the specimen.",
    "We resected the tumor off the femur; the bone cut planned at 14 cm was not required.",
    "The tumor was removed en bloc off the femur. The superficial femoral artery was reconstructed with a cryopreserved arterial allograft.",
    "The tumor was removed en bloc. The quadriceps tendon was reconstructed with an Achilles allograft.",
])
def test_a_thigh_sarcoma_taken_off_the_femur_is_a_soft_tissue_resection(checker, words):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Undifferentiated pleomorphic sarcoma of the right anterior thigh, abutting the femur.",
        proc="PROCEDURE: Radical resection of the right thigh sarcoma.",
        ind=("INDICATIONS: Biopsy-proven undifferentiated pleomorphic sarcoma of the right thigh. MRI of the right thigh "
             "reviewed. We discussed limb salvage versus amputation and the malignant nature of the tumor; informed "
             "consent was obtained."),
        desc=f"DESCRIPTION OF PROCEDURE: {words} Frozen section of the deep margin was negative.",
        path="SPECIMENS: Right thigh sarcoma to pathology; margins pending.",
    )
    assert _operation_and_verdict(checker, text) == ("soft_tissue_resection", "not_supported")


@pytest.mark.parametrize("pre, proc", [
    ("High-grade sarcoma of the right distal thigh abutting the distal femur.", "Radical resection of the right distal femur soft-tissue sarcoma."),
    ("Pleomorphic sarcoma, right distal femur, extraosseous.", "Radical resection of the right distal femur sarcoma."),
])
def test_a_bone_named_as_where_a_soft_tissue_sarcoma_lies_is_no_bone_cut(checker, pre, proc):
    text = note(
        pre=f"PREOPERATIVE DIAGNOSIS: {pre}", proc=f"PROCEDURE: {proc}",
        ind="INDICATIONS: Biopsy-proven sarcoma. MRI of the right thigh reviewed. Consent for limb salvage versus amputation obtained.",
        desc=("DESCRIPTION OF PROCEDURE: The tumor was removed en bloc with a cuff of normal muscle. The periosteum was "
              "incised 2 cm around the tumor and elevated with the specimen. Frozen section of the deep margin was negative. "
              "Resection length 16 cm."),
        path="SPECIMENS: Right thigh sarcoma to pathology; margins pending.",
    )
    assert _operation_and_verdict(checker, text) == ("soft_tissue_resection", "not_supported")


def test_the_limb_a_vein_graft_was_taken_from_is_not_the_tumors_side(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Synovial sarcoma of the right popliteal fossa encasing the popliteal artery.",
        proc=("PROCEDURE: Wide excision of the right popliteal fossa synovial sarcoma with a popliteal artery segment; reversed "
              "great saphenous vein interposition graft (harvested from L thigh); medial gastrocnemius flap."),
        ind="INDICATIONS: Biopsy-proven synovial sarcoma. MRI of the right knee reviewed; consent for limb salvage versus amputation obtained.",
        desc=("DESCRIPTION OF PROCEDURE: The tumor was removed en bloc with the periosteum of the posterior femur as the deep "
              "margin; the femur was not cut. Frozen section of the deep margin was negative. Drain 16 Fr x 1 R, 12 Fr x 1 L thigh."),
        path="SPECIMENS: Popliteal sarcoma with the artery segment, to pathology.",
    )
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == []
    assert not any(a.code and a.code.startswith("2761") for a in report.advisories if a.kind == "code_selection")


def test_a_report_translated_from_french_reads_its_fields_margin_frozen_section_and_sides(checker):
    text = (
        "Diagnostic préopératoire: right distal femur osteosarcoma, conventional high grade, after chemotherapy.\n"
        "Intervention: résection of the right distal femur with marges larges, en monobloc, and reconstruction by a "
        "prothèse de résection du fémur distal.\n\n"
        "Voie d'abord: medial approach to the left distal femur from the mid-thigh to the tibial tubercle.\n\n"
        "Exérèse: osteotomy 15 cm from the joint line. Extemporaneous examination of the medullary margin: negative.\n"
        "Specimen: fémur distal gauche, 15 cm, to the pathologist.\n"
    )
    report = checker.check(text)
    assert report.item("margin_intent").status == "met" and report.item("frozen_section").status == "met"
    assert report.case.side.value == "right" and {c.value for c in report.case.side.conflicts} == {"left"}


@pytest.mark.parametrize("proc, operation", [
    ("PROCEDURE: Open reduction and internal fixation of the left subtrochanteric femur fracture with a carbon fiber nail.", "prophylactic_fixation"),
    ("PROCEDURE: Fracture fixation of the left proximal femur with a long cephalomedullary nail.", "prophylactic_fixation"),
])
def test_fixing_a_fracture_through_a_current_bone_tumor_is_a_fixation_without_resection(checker, proc, operation):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Pathological fracture of the left proximal femur through a lung adenocarcinoma metastasis.",
                proc=proc, desc="DESCRIPTION OF PROCEDURE: The fracture was reduced and the nail locked. Reamings sent to pathology.")
    assert _operation_and_verdict(checker, text) == (operation, "not_supported")


def test_fixing_a_traumatic_fracture_without_a_tumor_stays_other(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Closed left subtrochanteric femur fracture after a fall.", ind=None, path=None,
                proc="PROCEDURE: Open reduction and internal fixation of the left subtrochanteric femur fracture.",
                desc="DESCRIPTION OF PROCEDURE: The fracture was reduced and fixed with a long nail.")
    assert checker.check(text).case.operation.value == "other"


def test_a_resection_biopsy_is_a_biopsy(checker):
    text = ("A 16-year-old girl had an osteolytic lesion of the right lateral femoral condyle on MRI. To reach a diagnosis "
            "we performed a resection biopsy with knee arthroscopy, and the lesion was removed completely. Histology showed "
            "a benign fibrous histiocytoma.\n")
    report = checker.check(text)
    assert (report.case.operation.value, report.verdict, report.diagnosis.category) == ("biopsy", "not_supported", "benign_aggressive_bone")


def test_a_periosteal_chondroma_curetted_is_a_benign_intralesional_case(checker):
    text = ("We report a giant periosteal chondroma of the right distal femur in a 17-year-old boy. It was treated by "
            "intralesional resection and intensive curettage, and the defect was filled with hydroxyapatite.\n")
    report = checker.check(text)
    assert report.case.operation.value == "intralesional"
    assert (report.diagnosis.category, report.diagnosis.tumor_type) == ("benign_aggressive_bone", "periosteal chondroma")


def test_a_sarcoma_metastatic_to_the_femur_is_a_bone_metastasis(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Metastatic leiomyosarcoma of the left proximal femur; primary in the right thigh, excised in 2015.",
                proc="PROCEDURE: Wide resection of the left proximal femur with a modular endoprosthesis.")
    report = checker.check(text)
    assert (report.diagnosis.category, report.diagnosis.tumor_type) == ("metastatic_bone", "metastatic leiomyosarcoma")


def test_a_sentence_about_patients_in_general_is_not_this_patients_tumor(checker):
    text = ("In patients with metastatic disease and a short life expectancy, an intercalary endoprosthesis is usually chosen. "
            "We present a 12-year-old boy with osteosarcoma of the right femoral diaphysis who underwent a wide intercalary "
            "resection of the femur and reconstruction with a locked nail and cement.\n")
    report = checker.check(text)
    assert (report.diagnosis.category, report.diagnosis.tumor_type) == ("primary_malignant_bone", "osteosarcoma")


@pytest.mark.parametrize("struck", [
    'PROCEDURE: [deleted: "Wide resection of the right distal femur"] Extended intralesional curettage of the right distal femur giant cell tumor.',
    ('PROCEDURE: Extended intralesional curettage of the right distal femur giant cell tumor (first dictated as "wide '
     'resection of the right distal femur" in error).'),
])
def test_text_the_note_strikes_out_is_not_read(checker, struck):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Giant cell tumor of the right distal femur.", proc=struck,
                desc="DESCRIPTION OF PROCEDURE: A cortical window was made and the tumor curetted and burred; the cavity was cemented.")
    assert checker.check(text).case.operation.value == "intralesional"


def test_a_side_the_attending_deletes_is_no_side_conflict(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Chondrosarcoma of the [deleted: left] right proximal femur.",
        add=('ADDENDUM: One correction: the indications originally said "left proximal femur"; that word is deleted. '
             "Disregard the previous wording."),
    )
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == []


def test_the_options_of_a_documentation_query_are_not_what_was_done(checker):
    text = note(add=('CDI QUERY: "Please clarify the type of resection performed: wide, marginal, intralesional, '
                     'other, or unable to determine."\n\nADDENDUM: This was a planned wide resection.'))
    intents = {f.attributes["intent"] for f in checker.check(text).findings if f.kind == "margin" and f.assertion == "present"}
    assert "intralesional" not in intents and "marginal" not in intents


def test_a_resection_the_curettage_was_chosen_over_is_not_done(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Giant cell tumor of the right distal femur.",
                proc="PROCEDURE: Extended curettage of the right distal femur with cementation.",
                ind="INDICATIONS: Because the joint surface was preserved, curettage was chosen over a wide resection.",
                desc="DESCRIPTION OF PROCEDURE: A cortical window was made and the tumor curetted and burred; the cavity was cemented.")
    report = checker.check(text)
    intents = {f.attributes["intent"] for f in report.findings if f.kind == "margin" and f.assertion == "present"}
    assert report.case.operation.value == "intralesional" and "wide" not in intents


def test_a_frozen_section_result_given_after_its_earlier_pending_is_the_result(checker):
    text = note(add=("ADDENDUM: The frozen section of the proximal femoral marrow margin, listed above as pending, has come back "
                     "negative for tumor."))
    results = {f.attributes["result"] for f in checker.check(text).findings if f.kind == "frozen_section" and f.section == "addendum"}
    assert results == {"negative"}


def test_a_telegraphic_note_reads_its_site_tumor_and_resection_abbreviations(checker):
    text = ("Pre/post dx: L DF OS, high grade. s/p open Bx + neoadj chemo.\n"
            "Proc: L DF wide resxn + modular DFR (cemented)\n"
            "Imaging: MRI L femur, CT chest neg.\n"
            "Op: Bx tract excised en bloc. Osteotomy 15 cm from jt line. Specimen out en bloc.\n"
            "FS prox femoral marrow -> neg for tumour.\n")
    report = checker.check(text)
    assert (report.case.operation.value, report.diagnosis.site, report.case.side.value) == ("radical_resection", "distal_femur", "left")


def test_a_checkbox_field_answered_none_documents_nothing_done(checker):
    text = note(
        pre="PREOPERATIVE DIAGNOSIS: Metastatic breast carcinoma of the left femoral shaft, impending fracture.",
        proc=("PROCEDURE: Prophylactic cephalomedullary nailing, left femur.\n"
              "Resection of lesion:   [ ] Wide / en bloc   [ ] Curettage   [x] None - lesion left in situ\n"
              "Margin:  [ ] Wide  [ ] Marginal  [ ] Intralesional  [x] Not applicable"),
        desc="DESCRIPTION OF PROCEDURE: The nail was inserted over a guide wire and locked.",
    )
    report = checker.check(text)
    assert report.case.operation.value == "prophylactic_fixation"
    assert not [f for f in report.findings if f.kind == "margin" and f.assertion == "present"]


@pytest.mark.parametrize("graft, kinds", [
    ("a vascularized fibula epiphyseal autograft inside a femoral allograft", {"vascularized_fibula", "allograft"}),
    ("a non vascularised fibula autograft from the other leg", {"autograft"}),
    ("extracorporeal irradiation of the resected segment, which was then reimplanted", {"autograft"}),
])
def test_one_graft_is_read_as_one_kind(checker, graft, kinds):
    text = note(proc=f"PROCEDURE: Intercalary resection of the right femoral diaphysis and reconstruction with {graft}.",
                desc="DESCRIPTION OF PROCEDURE: The segment was resected en bloc with wide margins.")
    got = {f.attributes["kind"] for f in checker.check(text).findings if f.kind == "reconstruction" and f.assertion == "present"}
    assert got == kinds


@pytest.mark.parametrize("proc, intents", [
    ("We carried out a wide intra-articular resection of the right distal femur.", {"wide"}),
    ("We carried out a radical extra-articular resection of the right distal femur.", {"radical"}),
])
def test_a_margin_intent_reads_across_a_hyphenated_word(checker, proc, intents):
    text = note(proc=f"PROCEDURE: {proc}", desc="DESCRIPTION OF PROCEDURE: The femur was cut 15 cm from the joint line.")
    got = {f.attributes["intent"] for f in checker.check(text).findings if f.kind == "margin" and f.assertion == "present"}
    assert got == intents


def test_a_summary_heading_at_the_top_tells_what_was_done(checker):
    text = ("Summary\nOpen incisional biopsy of a destructive lesion of the left distal femur, suspicious for osteosarcoma.\n\n"
            "Procedure Details:\n- A 3 cm incision in line with the planned resection.\n- Tissue sent for frozen section and permanents.\n")
    assert _operation_and_verdict(checker, text) == ("biopsy", "not_supported")


@pytest.mark.parametrize("consent", [
    "Consent: resxn of sarcoma L DF; LS w/ DFR vs AKA discussed w/ pt + mother, chose LS. Signed.",
    "Consent: resxn of CS L PF w/ PFR; alternative = hip disartic, discussed + declined. Signed.",
])
def test_a_telegraphic_consent_names_limb_salvage_against_amputation(checker, consent):
    text = note(ind=f"INDICATIONS: Biopsy-proven osteosarcoma of the left distal femur.\n{consent}")
    assert next(i for i in checker.check(text).checklist if i.id == "informed_consent").status == "met"


def test_a_telegraphic_history_names_a_metastasis_and_the_clear_other_femur_is_no_side(checker):
    text = ("Pre/Post: L femoral shaft met breast ca, impending path fx.\nProc: prophylactic IM nail L femur. NO resxn.\n"
            "Hx: Bx of L femoral lesion 2024 = met breast ca. Bone scan: multiple mets incl spine, L femoral shaft; R femur clear.\n")
    report = checker.check(text)
    assert (report.diagnosis.category, report.diagnosis.tumor_type) == ("metastatic_bone", "metastatic breast carcinoma")
    assert report.case.side.value == "left" and report.case.side.conflicts == []


@pytest.mark.parametrize("sentence, kind", [
    ("We went through the ways of treating it locally: limb salvage with a distal femoral replacement, an above-knee amputation, and a rotationplasty.", "rotationplasty"),
    ("Amputation and rotationplasty had both been considered at tumour board.", "rotationplasty"),
    ("[x] Limb salvage - distal femoral resection + allograft  -> rejected (see below)", "allograft"),
])
def test_a_reconstruction_weighed_and_not_chosen_is_not_done(checker, sentence, kind):
    text = note(ind=f"INDICATIONS: Biopsy-proven osteosarcoma of the right distal femur.\n{sentence}")
    kinds = {f.attributes["kind"] for f in checker.check(text).findings if f.kind == "reconstruction" and f.assertion == "present"}
    assert kind not in kinds


@pytest.mark.parametrize("sentence", [
    "Given the joint surface destruction, further curettage was not felt to be reasonable.",
    "Repeat curettage was judged not salvageable.",
])
def test_a_curettage_judged_unsuitable_is_no_intralesional_margin(checker, sentence):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Recurrent giant cell tumor of the left distal femur.", ind=f"INDICATIONS: {sentence}")
    intents = {f.attributes["intent"] for f in checker.check(text).findings if f.kind == "margin" and f.assertion == "present"}
    assert "intralesional" not in intents


def test_a_spoken_self_correction_strikes_the_side_said_before_it(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: osteosarcoma of the right distal femur, scratch that, left distal femur, high grade.",
                proc="PROCEDURE: Radical resection of the left distal femur with distal femoral replacement.",
                ind=("INDICATIONS: Biopsy-proven osteosarcoma of the left distal femur. MRI of the left femur reviewed. We discussed "
                     "limb salvage versus amputation and the malignant nature of the tumor; consent obtained."))
    report = checker.check(text)
    assert report.case.side.value == "left" and report.case.side.conflicts == []


def test_a_misheard_side_word_in_the_procedure_line_is_a_side_and_a_conflict(checker):
    text = note(proc="PROCEDURE: Radical resection of the lift distal femur with distal femoral replacement.")
    report = checker.check(text)
    assert_side_conflict(report, "right", "left")


def test_spelled_out_modality_letters_are_the_modality(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma of the right distal femur. M. R. I. of the whole right femur and "
                     "C. T. of the chest before surgery. We discussed limb salvage versus amputation; consent obtained."))
    modalities = {f.attributes["modality"] for f in checker.check(text).findings if f.kind == "imaging"}
    assert {"mri", "ct"} <= modalities


def test_the_other_leg_called_the_normal_side_is_no_conflict(checker):
    text = note(desc=("DESCRIPTION OF PROCEDURE: the left leg, the normal side, padded with a compression stocking. The right "
                      "distal femur was resected en bloc with a wide margin, 15 cm from the joint line."))
    assert checker.check(text).case.side.conflicts == []


@pytest.mark.parametrize("text, operation", [
    ("A 61-year-old man had a solitary renal cell carcinoma metastasis of the right femur. He was treated by preoperative "
     "embolisation, followed by surgical resection and implantation of a megaprosthesis.\n", "radical_resection"),
    ("A 70-year-old man had diffuse large B-cell lymphoma of the right proximal femur with a fracture. He underwent proximal "
     "femoral replacement prior to commencing chemotherapy.\n", "radical_resection"),
    ("A 35-year-old woman had a giant cell tumor of the right proximal femur. She had a calcar-replacing total hip replacement; "
     "a long stem was used since the tumor and the surgical resection involved the lesser trochanter.\n", "radical_resection"),
])
def test_a_replacement_told_with_its_resection_is_a_bone_resection(checker, text, operation):
    assert checker.check(text).case.operation.value == operation


def test_a_soft_tissue_histology_arising_in_bone_is_a_bone_tumor(checker):
    text = ("We report a case of primary synovial sarcoma arising from the proximal femur of the left side. It was removed by "
            "wide resection of the proximal femur and a tumor prosthesis.\n")
    assert checker.check(text).diagnosis.category == "primary_malignant_bone"


@pytest.mark.parametrize("words", [
    "Supine, bump under the right hip, the left leg with its old scar well padded.",
    "Scanogram of both lower limbs for limb lengths: left femur 41.2 cm, right femur 41.6 cm.",
    "Bone scan: uptake confined to the right distal femur; left femur and rest of the skeleton normal.",
    "Supine, the left leg on a gel pad.",
    "The left leg, with its old arthroplasty, lay on the table on gel padding.",
    "Left lower extremity: SCD on, heel padded, strapped to the table.",
])
def test_a_side_said_of_the_other_limb_in_passing_is_no_conflict(checker, words):
    text = note(desc=f"DESCRIPTION OF PROCEDURE: {words} The right distal femur was resected en bloc, 15 cm from the joint line.")
    assert checker.check(text).case.side.conflicts == []


def test_a_side_an_addendum_quotes_as_an_error_is_dropped_where_it_stands(checker):
    text = note(path="SPECIMENS: L distal femur, 17 cm, to pathology.",
                add='ADDENDUM: CORRECTION - the specimen line above reads "L distal femur" in error. The specimen is the RIGHT distal femur.')
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == []


@pytest.mark.parametrize("words", [
    "Her left knee had an arthroscopic meniscectomy in 2019 and is asymptomatic.",
    "Standing radiographs showed mild medial arthritis of the left knee.",
    "He also had a left total knee replacement in 2022 and that knee is fine.",
    # the unmarked limb, the limb length is checked against, an old injury left alone
    "Site marking: right thigh marked by the attending; left leg not marked.",
    "Length and rotation were checked against the left leg clinically and with fluoroscopy.",
    "He broke his left femur as a teenager and has an old nail in it, which we did not touch.",
])
def test_a_side_told_with_a_condition_of_the_other_limb_is_no_conflict(checker, words):
    text = note(desc=(f"DESCRIPTION OF PROCEDURE: {words} The right distal femur was resected en bloc with a wide margin, 15 cm from the joint line. A cemented "
                      "distal femoral replacement was implanted."))
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == []


def test_the_other_limb_in_the_procedure_line_is_still_a_conflict(checker):
    # the same words of another limb's condition do not hide a side the procedure line gives
    text = note(proc="PROCEDURE: Radical resection of the left distal femur with distal femoral replacement.",
                ind="INDICATIONS: Biopsy-proven osteosarcoma. Mild arthritis of the left knee. We discussed limb salvage "
                    "versus amputation for this malignant tumor; consent obtained.")
    assert checker.check(text).verdict == "not_supported"


def test_a_primary_bone_code_claimed_for_a_metastasis_with_a_fracture_is_a_conflict(checker):
    text = note(pre=("PREOPERATIVE DIAGNOSIS: Pathologic fracture of the right distal femur through a solitary metastasis of "
                     "breast carcinoma."))
    report = checker.check(text, ["C40.21"])
    item = next(i for i in report.checklist if i.id == "diagnosis_code")
    assert item.status == "conflict" and report.verdict == "not_supported"


@pytest.mark.parametrize("result", ["no lymphoma", "no metastatic carcinoma", "no myeloma"])
def test_a_frozen_section_that_found_no_tumor_of_its_kind_is_negative(checker, result):
    text = note(desc=("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was osteotomized "
                      f"15 cm from the joint line. Proximal marrow frozen section: {result}. A cemented distal femoral replacement "
                      "was implanted."))
    frozen = [f for f in checker.check(text).findings if f.kind == "frozen_section"]
    assert frozen and {f.attributes.get("result") for f in frozen} == {"negative"}


@pytest.mark.parametrize("words, status", [
    ("No frozen section was sent: there was no clinical, laboratory or imaging concern for recurrence.", "met"),  # a reason
    ("A frozen section was sent to confirm diagnostic tissue and the pathologist called back with [inaudible].", "partial"),  # no result
])
def test_a_frozen_section_reason_or_purpose_is_read_for_what_it_is(checker, words, status):
    text = note(desc=(f"DESCRIPTION OF PROCEDURE: {words} The tumor was resected en bloc with a wide margin, 15 cm from the joint "
                      "line. A cemented distal femoral replacement was implanted."))
    item = next(i for i in checker.check(text).checklist if i.id == "frozen_section")
    assert item.status == status


def test_a_purpose_before_a_colon_is_read_apart_from_the_clause_after_it(checker):
    text = note(proc="PROCEDURE: Resection of the right distal femur with distal femoral replacement.",
                desc=("DESCRIPTION OF PROCEDURE: The level was chosen to give a wide margin: the femur would be divided 15 cm "
                      "from the joint line. A cemented distal femoral replacement was implanted."))
    assert item_status(checker, text, "margin_intent") == "met"


def test_speech_recognition_allo_graph_is_an_allograft(checker):
    text = note(proc="PROCEDURE: Extended curettage of the right distal femur giant cell tumor with allo graph chips.",
                desc="DESCRIPTION OF PROCEDURE: The cavity was packed with thirty cc of cancellous allo graph chips.")
    kinds = present_attrs(checker.check(text), "reconstruction", "kind")
    assert "allograft" in kinds


def test_a_pick_list_row_states_only_its_marked_options(checker):
    text = ("OPERATIVE SYNOPSIS (chosen options marked X)\n"
            "Diagnosis:      Osteosarcoma of the distal femur, biopsy proven\n"
            "Laterality:     X Right      Left      Bilateral\n"
            "Procedure:      Curettage + cement      X Wide resection      Amputation\n"
            "Margin intent:  Intralesional      Marginal    X Wide\n"
            "Reconstruction: None    X Distal femoral replacement, cemented stem and rotating hinge\n")
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == []
    assert report.case.operation.value == "radical_resection"
    margins = {f.attributes["intent"] for f in report.findings if f.kind == "margin" and f.assertion == "present"}
    assert margins == {"wide"}
    assert all(text[f.start:f.end] == f.text for f in report.findings)  # offsets still index the note as given


def test_a_consent_section_is_read_to_its_end(checker):
    text = note(ind=None, path=None) + (
        "\nConsent:\nDiscussed with the patient and her daughter. Purpose: removal of the osteosarcoma. Risks discussed include "
        "bleeding, infection, wound problems and fracture. Further risks were nerve injury and stiffness. She asked about "
        "function. Options reviewed: limb-sparing wide resection versus amputation above the knee. She chose limb salvage.\n")
    assert item_status(checker, text, "informed_consent") == "met"


_DESC = ("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. Frozen section of the femoral canal "
         "margin was negative for tumor. A cemented distal femoral replacement was implanted. ")


@pytest.mark.parametrize("changes, item", [
    ({"desc": _DESC + "All margins are clear; the closest is 2 mm, at the posterior surface."}, "resection_dimensions"),
    ({"desc": _DESC + "Resection length: 120 mm (9 cm lesion; 15 mm clear bone each end)."}, "resection_dimensions"),
    ({"path": "Pathology so far: the whole specimen has gone to Dr Okafor for histopathology, and it will be discussed at "
              "the MDT on 26/03/2025."}, "pathology"),
    ({"path": "Pathology so far: the specimen has gone to pathology; the final report is pending."}, "pathology"),
])
def test_letter_and_form_wordings_document_their_item(checker, changes, item):
    # a margin distance, a resection-length field, a specimen gone for histology (a later date is no past)
    assert next(i for i in checker.check(note(**changes)).checklist if i.id == item).status == "met"


def test_a_scan_the_surgeon_will_arrange_is_no_preoperative_imaging(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. We discussed limb salvage versus above-knee amputation, the "
                     "malignant nature of the tumor, and informed consent was obtained. We will arrange a CT of her chest at six months."))
    assert next(i for i in checker.check(text).checklist if i.id == "preop_imaging").status == "missing"


def test_a_soft_tissue_sarcoma_resected_together_with_the_patella_is_a_bone_resection(checker):
    text = ("PREOPERATIVE DIAGNOSIS: Synovial sarcoma of the right anterior knee invading the right patella.\n\n"
            "PROCEDURE: Wide en bloc resection of the right anterior knee synovial sarcoma together with the entire right patella, "
            "and extensor mechanism reconstruction.\n")
    case = checker.check(text).case
    assert case.operation.value == "radical_resection" and case.tissue.value == "soft_tissue_invading_bone"


def test_markdown_bold_around_a_field_reads_as_the_plain_field(checker):
    desc = ("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. A cemented "
            "distal femoral replacement was implanted.\n**Frozen section:** none sent. The diagnosis was established on the "
            "CT-guided biopsy.")
    text = note(desc=desc)
    report = checker.check(text)
    item = next(i for i in report.checklist if i.id == "frozen_section")
    assert item.status == "met"
    # the evidence still indexes the note as written, asterisks and all
    assert all(text[e.start:e.end] == e.text for i in report.checklist for e in i.evidence)


@pytest.mark.parametrize("words", [
    "The operative site was marked on the left distal thigh in the preoperative holding area.",
    "The left thigh was marked by the attending before the block.",
])
def test_a_site_marking_told_in_any_paragraph_is_a_place_of_authority(checker, words):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. Preoperative MRI of the right femur was reviewed. We discussed limb "
                     f"salvage versus above-knee amputation and informed consent was obtained. {words}"))
    report = checker.check(text)
    assert_side_conflict(report, "right", "left")


def test_a_side_of_a_lesion_left_alone_in_the_diagnosis_is_no_conflict(checker):
    text = note(pre=("PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the right distal femur.\n"
                     "Incidental, not treated: non-ossifying fibroma, left proximal tibia (observation)."))
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == [] and report.verdict == "ready"


def test_a_consent_form_naming_the_other_side_with_the_operation_is_a_conflict(checker):
    text = note(cons=("CONSENT: We discussed limb salvage versus above-knee amputation for this malignant tumor and its risks. "
                      "Signed consent form reads: \"LEFT resection and endoprosthetic replacement for osteosarcoma.\""))
    report = checker.check(text)
    assert [c.value for c in report.case.side.conflicts] == ["left"] and report.verdict == "not_supported"


@pytest.mark.parametrize("desc", [
    # the record the line defers to, then a closure step that is no component
    "DESCRIPTION OF PROCEDURE:\n- Wide margin; femur cut 15 cm from the joint line\n- Frozen section of the canal margin negative\n"
    "- DFR implanted in the standard fashion; implants per OR record\n- Capsule and vastus lateralis repaired, drain x1, layered closure",
    # a margin named in a summary is no part of the reconstruction
    "DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. Frozen section of "
    "the canal margin was negative. The prosthesis was implanted in the usual fashion; implants per OR record.\n\n"
    "SUMMARY: Osteosarcoma of the right distal femur removed en bloc with clear tendon margins, with distal femoral replacement.",
])
def test_a_reconstruction_left_to_the_or_record_is_partial(checker, desc):
    item = next(i for i in checker.check(note(desc=desc)).checklist if i.id == "reconstruction")
    assert item.status == "partial"


def test_where_the_lesion_lies_is_no_resection_length(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven chondrosarcoma. MRI of the right femur: the lesion lies between 18 cm and 29 cm "
                     "above the joint line. We discussed limb salvage versus above-knee amputation for this malignant tumor, and "
                     "informed consent was obtained."))
    lengths = [f.attributes["values_mm"] for f in checker.check(text).findings
               if f.kind == "dimension" and f.attributes.get("measures") == "resection_length"]
    assert lengths == [[150.0]]


def test_a_specimen_to_pathology_documents_final_pathology_to_come(checker):
    text = note(path=None, pre="PREOPERATIVE DIAGNOSIS: Metastatic lung adenocarcinoma of the right distal femur.",
                desc=("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. Soft "
                      "tissue from the medial margin was sent for frozen section. Specimen to pathology. A cemented distal "
                      "femoral replacement was implanted."))
    assert item_status(checker, text, "pathology") == "met"


def test_a_frozen_result_an_addendum_gives_supersedes_pending_in_the_body(checker):
    text = note(desc=("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, 15 cm from the joint line. "
                      "Marrow from the femoral canal was sent for frozen section; results pending at the time of this note. A "
                      "cemented distal femoral replacement was implanted."),
                add=("ADDENDUM: Pathology called with the frozen section result: femoral canal margin negative for tumor."))
    report = checker.check(text)
    frozen = {f.attributes.get("result"): f.assertion for f in report.findings if f.kind == "frozen_section"}
    assert frozen.get("negative") == "present" and frozen.get("pending", "historical") == "historical"
    assert next(i for i in report.checklist if i.id == "frozen_section").status == "met"


# German-speaking departments writing in English leave some words in German.
def test_a_german_side_word_after_the_site_is_a_side_and_can_conflict(checker):
    text = note(path=("SPECIMENS: Praeparat: distaler Femur links, Fadenmarkierung, to the Pathologie for definitive Histologie; "
                      "margins pending."))
    report = checker.check(text)
    assert [c.value for c in report.case.side.conflicts] == ["left"] and report.verdict == "not_supported"


def test_a_german_side_word_with_no_limb_is_no_side(checker):
    text = note(ind=PARTS["ind"] + " Status post Nephrektomie links 2021.")
    report = checker.check(text)
    assert report.case.side.value == "right" and report.case.side.conflicts == [] and report.verdict == "ready"


@pytest.mark.parametrize("text", [
    "Schnellschnitt: not taken, as the diagnosis had been secured by the biopsy.",
    "No suspicious tissue was seen; therefore no frozen section was sent.",
])
def test_a_frozen_section_not_taken_with_its_cause_told_first_or_after(nlp, text):
    fs = findings(nlp, text, "frozen_section")
    assert fs[0]["attributes"]["result"] == "not_performed" and fs[0]["attributes"]["reason"] is True


def test_an_mri_not_requested_is_no_imaging(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. CT of the right femur was reviewed for planning; MRI was not "
                     "requested. We discussed limb salvage versus above-knee amputation, the malignant nature of the tumor "
                     "and the risk of local recurrence, and informed consent was obtained."))
    imaging = {f.attributes.get("modality") for f in checker.check(text).findings if f.kind == "imaging" and f.assertion == "present"}
    assert "mri" not in imaging and "ct" in imaging


_INDICATIONS = "INDICATIONS: Biopsy-proven osteosarcoma. Preoperative MRI of the right femur was reviewed for planning."


def with_consent(consent: str, between: str = "\n\n") -> str:
    """The base note whose indications (imaging reviewed, no consent) are followed by ``consent``."""
    return note(ind=_INDICATIONS + between + consent)


def test_an_aufklaerung_heading_is_the_consent(checker):
    text = with_consent("Aufklaerung erfolgt am 12.08.2024, Einverstaendniserklaerung liegt unterschrieben vor.")
    assert item_status(checker, text, "informed_consent") == "partial"


def test_a_consent_section_does_not_reach_back_into_the_section_before_it(checker):
    # The tumor board's options (amputation among them) stand before the consent's heading: what
    # the patient was told is the consent section, and it names no limb salvage or amputation.
    text = with_consent("Options: (1) wide resection and endoprosthesis; (2) amputation - not indicated.\nDecision: option 1.\n\n"
                        "Consent: discussed with the patient - surgery to remove the bone sarcoma with a margin of normal tissue; "
                        "infection, fracture and recurrence discussed. Signed.", between="\n")
    assert item_status(checker, text, "informed_consent") == "partial"
    # the same consent that names the amputation it was weighed against is met
    assert item_status(checker, text.replace("infection, fracture", "amputation as the alternative; infection, fracture"),
                       "informed_consent") == "met"
    # a choice made with the patient just before the heading, with no blank line between, is its consent
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma of the right distal femur; MRI reviewed for planning. "
                     "Above-knee amputation and limb salvage were discussed; the family and patient elected limb salvage.\n"
                     "Consent: signed by the mother, assent documented."))
    assert item_status(checker, text, "informed_consent") == "met"


@pytest.mark.parametrize("heading", ["[ CONSENT ]", "[CONSENT]", "[ Consent ]"])
def test_a_heading_in_square_brackets_with_spaces_inside_is_a_heading(checker, heading):
    # Synoptic forms print "[ CONSENT ]" alone on its line; its lines are one consent section.
    text = with_consent(f"{heading}\nSigned consent on chart: Yes\n"
                        "Content: Right distal femoral resection for osteosarcoma, limb salvage rather than above-knee "
                        "amputation. Risks: infection, fracture, recurrence.")
    assert item_status(checker, text, "informed_consent") == "met"


def test_an_amputation_offered_and_declined_was_discussed(checker):
    text = with_consent("CONSENT: The patient was told the tumour is malignant and needs removal with a wide margin to prevent "
                        "recurrence. The alternatives, a biological reconstruction and amputation above the knee, were discussed, "
                        "the latter only as a theoretical option, and were declined. Written consent.")
    assert item_status(checker, text, "informed_consent") == "met"


@pytest.mark.parametrize(("proc", "intents"), [
    ("PROCEDURE: Hip disarticulation with radical (extracompartmental) margins.", ["radical"]),
    ("PROCEDURE: Wide (en bloc, R0) resection of the right distal femur with distal femoral replacement.", ["wide"]),
    ("PROCEDURE: Hip disarticulation with marginal (intralesional) margins.", []),
])
def test_a_gloss_in_brackets_between_the_margin_and_its_noun(nlp, proc, intents):
    found = {f["attributes"]["intent"] for f in findings(nlp, proc, "margin")}
    assert sorted(found & {"radical", "wide"}) == intents


def test_an_abbreviation_point_ends_no_clause_before_a_tumor_size():
    text = "Aneurysmal bone cyst of the proximal femur, intertrochanteric, approx. 5,5 x 4 x 3,5 cm, no fracture."
    (dim,) = find_dimensions(text)
    assert dim["measures"] == "tumor" and dim["values_mm"] == [55.0, 40.0, 35.0]


def test_a_semicolon_ends_a_negation_that_looks_back(checker):
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. CT of the right femur was reviewed for planning; MRI was not "
                     "performed. We discussed limb salvage versus above-knee amputation, the malignant nature of the tumor "
                     "and the risk of local recurrence, and informed consent was obtained."))
    report = checker.check(text)
    assertions = {f.attributes.get("modality"): f.assertion for f in report.findings if f.kind == "imaging"}
    assert assertions == {"ct": "present", "mri": "negated"}
    assert next(i for i in report.checklist if i.id == "preop_imaging").status == "met"


def test_a_specimen_to_the_pathologie_for_definitive_histologie_is_pathology_to_come(checker):
    text = note(path="HISTOLOGIE:\nResektat (distaler Femur re.) with Fadenmarkierung to the Pathologie for definitive Histologie.")
    assert item_status(checker, text, "pathology") == "met"


# Romance-language centres writing in English keep their side words and abbreviations after the limb.
@pytest.mark.parametrize(("proc", "side"), [
    ("PROCEDURE: Wide resection of the distal femur dx with distal femoral replacement.", "right"),
    ("PROCEDURE: Wide resection of fêmur distal E with distal femoral replacement.", "left"),
    ("PROCEDURE: Wide resection of the fémur distal izq. with distal femoral replacement.", "left"),
    ("PROCEDURE: Wide resection of the distal femur (esquerdo) with distal femoral replacement.", "left"),
    ("PROCEDURE: \u24c1 distal femur wide resection with distal femoral replacement.", "left"),
])
def test_a_side_written_short_after_the_limb_or_circled_is_the_side(checker, proc, side):
    pre = "PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma of the distal femur."
    text = note(pre=pre, proc=proc, ind=PARTS["ind"].replace("right femur", "femur"))
    report = checker.check(text)
    assert report.case.side.value == side and report.case.side.conflicts == []
    ev = report.case.side.evidence[0]
    assert text[ev.start:ev.end] == ev.text


@pytest.mark.parametrize("text", [
    "Her right knee sx began in May; PROCEDURE: Wide resection of the right distal femur.",
    "The distal femur e tibia were exposed through a medial approach.",
])
def test_a_short_form_after_a_limb_whose_side_was_said_or_a_lower_case_letter_is_no_side(text):
    assert "-sided" not in canonical(text).text


def test_a_romance_side_word_in_the_specimen_label_conflicts(checker):
    text = note(path="SPECIMENS: Peça operatória: distal femur E, oriented, sent to Anatomia Patológica; margins pending.")
    assert_side_conflict(checker.check(text), "right", "left")


def test_a_frozen_section_followed_by_the_site_it_sampled_keeps_its_result(nlp):
    fs = findings(nlp, "- FS femoral marrow @ osteotomy: neg for sarcoma.\n- Frozen section femoral marrow negative.", "frozen_section")
    assert [f["attributes"]["result"] for f in fs] == ["negative", "negative"]


def test_a_fresh_frozen_femoral_allograft_is_no_frozen_section(nlp):
    assert findings(nlp, "A fresh-frozen femoral allograft was thawed and cut to length.", "frozen_section") == []


def test_a_named_histology_in_the_consent_is_its_oncologic_purpose(checker):
    text = note(ind=("INDICATIONS: Preoperative MRI of the right femur was reviewed for planning.\n\n"
                     "Consent: pt + parents. OS reviewed; wide resection for local control. Limb salvage c/ DFR vs AKA discussed. Signed."))
    assert item_status(checker, text, "informed_consent") == "met"


@pytest.mark.parametrize("said", [
    "Amputation discussed as the alternative, not needed.",
    "The amputation above the knee was discussed as the alternative and not recommended.",
    "We discussed limb preservation, an allograft (not available in our bank at this time) and the amputation of the thigh.",
])
def test_an_amputation_set_aside_or_after_a_bracketed_negation_was_discussed(checker, said):
    text = note(ind=("INDICATIONS: Preoperative MRI of the right femur was reviewed for planning.\n\n"
                     "CONSENT: The patient was told the tumour is a malignant sarcoma of bone, to be removed with a wide margin. " + said + " Signed."))
    assert item_status(checker, text, "informed_consent") == "met"


def test_a_negation_inside_brackets_stays_inside(checker):
    doc = checker.explain("CONSENT: We discussed the reconstruction with allograft (not available in our bank) and the amputation "
                          "of the thigh. No amputation (above the knee) was discussed.")
    negated = [s._.is_negated for s in doc.spans["opnote_candidates"] if s.label_ == "AMPUTATION_DISCUSSION"]
    assert negated == [False, True]


def test_a_site_just_before_a_histology_of_either_tissue_settles_it(checker):
    text = note(pre=("PREOPERATIVE DIAGNOSIS: Left anterolateral thigh UPS, high grade, deep to fascia, 11.5 cm, abutting the femoral "
                     "diaphysis."),
                proc="PROCEDURE: Left thigh soft-tissue sarcoma wide resection with the femoral periosteum as the deep margin (femur not resected).",
                desc="DESCRIPTION OF PROCEDURE: The mass was excised en bloc with the vastus intermedius and the periosteum; the femur was left intact.")
    report = checker.check(text)
    assert report.case.tissue.value == "soft_tissue" and report.verdict == "not_supported"


@pytest.mark.parametrize(("line", "modalities"), [
    ("TC of the thorax: no nodules. RMN of the femur reviewed.", {"ct", "mri"}),
    ("TDM thoracique normal; IRM du fémur.", {"ct", "mri"}),
    ("Tc-99m bone scan: uptake at the distal femur only.", {"bone_scan"}),
])
def test_ct_written_the_romance_way(nlp, line, modalities):
    found = {f["attributes"]["modality"] for f in findings(nlp, line, "imaging")}
    assert found == modalities


def _category(checker, text: str) -> tuple[str, str | None]:
    d = checker.check(text).diagnosis
    return d.category, d.tumor_type


def test_a_sarcoma_arising_in_a_treated_giant_cell_tumor_is_the_tumor_now(checker):
    text = ("Giant cell tumor of bone is a benign but locally aggressive tumor. A 40-year-old man had a giant cell tumor of the "
            "left distal femur, confirmed by histopathology, treated with curettage and cement in 2016. In 2023 his knee pain returned. Biopsy confirmed a high-grade osteosarcoma, consistent with secondary malignant "
            "transformation of the giant cell tumor. After neoadjuvant chemotherapy he underwent en bloc resection of the left "
            "distal femur with a tumor endoprosthesis.")
    assert _category(checker, text) == ("primary_malignant_bone", "osteosarcoma")


def test_metastases_named_away_from_the_limb_are_a_primary_sarcoma_s_spread(checker):
    text = ("A 19-year-old woman with osteosarcoma of the right proximal femur was staged: a bone metastasis in the third lumbar "
            "vertebra and several pulmonary nodules. After chemotherapy we performed a 22 cm resection of the right proximal femur "
            "with a long-stem hip prosthesis; the metastatic lesions remained stable.")
    assert _category(checker, text) == ("primary_malignant_bone", "osteosarcoma")


def test_a_metastasis_placed_in_the_limb_keeps_the_tumor_metastatic(checker):
    text = ("Preoperative diagnosis: Metastatic Ewing sarcoma (primary in the sacrum) with a painful lytic metastasis of the "
            "right femoral diaphysis.\nProcedure: Prophylactic intramedullary nailing of the right femur.")
    assert _category(checker, text)[0] == "metastatic_bone"


@pytest.mark.parametrize(("sentence", "category"), [
    ("After immunohistochemistry the diagnosis was consistent with metastatic papillary thyroid carcinoma.", "metastatic_bone"),
    ("The biopsy specimen showed features consistent with metastatic renal cell carcinoma.", "metastatic_bone"),
    ("MRI was consistent with metastatic carcinoma.", "unknown"),
    ("The biopsy was possibly consistent with metastatic carcinoma.", "unknown"),
])
def test_a_pathologist_s_consistent_with_confirms(checker, sentence, category):
    text = ("A 65-year-old woman had a lytic lesion of the left femoral neck. An open biopsy was performed. " + sentence +
            " A proximal femoral resection with clear margins and a tumor endoprosthesis followed.")
    assert _category(checker, text)[0] == category


def test_a_histology_that_names_its_site_settles_its_bare_mentions(checker):
    text = ("Undifferentiated pleomorphic sarcoma is an aggressive tumor with lytic change and cortical destruction. We treated "
            "a 62-year-old woman with a 24 cm undifferentiated pleomorphic sarcoma of the posterior thigh, resected by radical "
            "excision of the posterior compartment; the femur was not resected.")
    report = checker.check(text)
    assert report.diagnosis.category == "soft_tissue_sarcoma"
    assert report.case.tissue.value == "soft_tissue"


@pytest.mark.parametrize(("text", "operation", "level"), [
    ("Amputation with a good prosthesis can restore walking. A 51-year-old man had a dedifferentiated chondrosarcoma of "
     "the left proximal tibia; no metastasis was found and the patient was treated with transfemoral amputation.",
     "amputation", "transfemoral"),
    ("A mesenchymal chondrosarcoma of the right tibia was treated by disarticulation of the right knee.", "disarticulation", "knee"),
])
def test_the_amputation_level_is_read_where_it_is_stated(checker, text, operation, level):
    case = checker.check(text).case
    assert (case.operation.value, case.amputation_level.value) == (operation, level)


def test_a_new_subject_after_and_ends_a_negation(checker):
    doc = checker.explain("No metastasis was found and he was treated with transfemoral amputation.")
    negated = {s.label_: s._.is_negated for s in doc.spans["opnote_candidates"] if s.label_ in ("TUMOR", "PROCEDURE")}
    assert negated == {"TUMOR": True, "PROCEDURE": False}


def test_an_ablation_is_no_resection(checker):
    text = ("A 19-year-old man with an osteoid osteoma of the left femoral neck was treated with CT-guided radiofrequency "
            "ablation under general anaesthesia.")
    assert checker.check(text).case.operation.value == "other"


def test_what_treatment_typically_involves_is_not_this_operation(checker):
    text = ("A 14-year-old boy had a core needle biopsy of the right distal femur; histopathology showed high-grade "
            "osteosarcoma. Current treatment methods typically involve neoadjuvant chemotherapy, followed by surgical "
            "resection and adjuvant chemotherapy.")
    assert checker.check(text).case.operation.value == "biopsy"


def test_a_hemiarthroplasty_is_not_coded_as_a_total_joint(checker):
    text = ("A 64-year-old man with a femoral neck fracture after a fall received a bipolar hemiarthroplasty; the pathological "
            "examination of the femoral head confirmed diffuse large B cell lymphoma.")
    report = checker.check(text)
    assert report.case.operation.value == "arthroplasty"
    assert [a.code for a in report.advisories if a.kind == "code_selection"] == [None]


_HIP_STORY = ("A 34-year-old man presented with six months of {side} hip pain. Radiographs and MRI showed a lytic lesion of the "
              "proximal femur; needle biopsy confirmed a grade 2 chondrosarcoma. He underwent wide resection of the proximal "
              "femur (16 cm) and reconstruction with a modular proximal femoral replacement.")


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_side_told_only_with_the_hip_is_the_tumor_s_side(checker, side):
    text = _HIP_STORY.format(side=side)
    report = checker.check(text)
    assert report.case.side.value == side and report.case.side.conflicts == []
    ev = report.case.side.evidence[0]
    assert text[ev.start:ev.end] == f"{side} hip"


def test_the_other_hip_s_story_does_not_outvote_or_conflict_with_the_femur_s_side(checker):
    # The other hip told in the history and the positioning: a prosthesis there, a bump under it.
    desc = PARTS["desc"].replace("The tumor was resected", "A bump was placed under the left hip. He had left hip pain for "
                                 "years and the left hip prosthesis looked well fixed on films. The tumor was resected")
    report = checker.check(note(desc=desc))
    assert report.case.side.value == "right" and report.case.side.conflicts == []


def test_a_hip_operation_named_for_the_other_side_in_the_consent_conflicts(checker):
    ind = PARTS["ind"] + '\n\nCONSENT: The signed consent form reads "LEFT hip disarticulation for osteosarcoma".'
    assert_side_conflict(checker.check(note(ind=ind)), "right", "left")


def test_a_side_abbreviation_ending_a_sentence_names_no_site_after_it(checker):
    desc = PARTS["desc"].replace("The tumor was resected", "Psoas released off LT. Capsulotomy, hip dislocated. The tumor was resected")
    report = checker.check(note(desc=desc))
    assert report.case.side.value == "right" and report.case.side.conflicts == []


@pytest.mark.parametrize(("where", "site", "side"), [
    ("the upper end of the right femur", "proximal_femur", "right"),
    ("the lower third of the left femur", "distal_femur", "left"),
    ("the distal metaphysis of the right femur", "distal_femur", "right"),
    ("the middle third of the left femur", "femoral_shaft", "left"),
    ("the neck of the right femur", "proximal_femur", "right"),
])
def test_a_part_of_the_femur_told_as_prose_is_its_site_with_the_side_inside(checker, where, site, side):
    text = (f"A 21-year-old man had a high-grade osteosarcoma of {where}, proven by biopsy. After chemotherapy he underwent a wide "
            "resection of the tumour (18 cm of bone) and reconstruction with a modular endoprosthesis.")
    report = checker.check(text)
    assert (report.diagnosis.site, report.case.side.value) == (site, side)


def test_the_choice_between_salvage_and_amputation_in_general_is_not_this_operation(checker):
    text = ("Tumours of the distal femur are common, and the choice of limb salvage or amputation remains a dilemma. A 16-year-old "
            "girl with osteosarcoma of the left distal femur underwent wide resection and reconstruction with a distal femoral "
            "replacement.")
    assert checker.check(text).case.operation.value == "radical_resection"


@pytest.mark.parametrize(("sentence", "negated"), [
    ("Preoperative MRI of the right femur was reviewed for planning; no CT was obtained.", True),
    ("Preoperative MRI of the right femur (no preoperative CT) was reviewed for planning.", True),
    ("Preoperative MRI of the right femur was reviewed; there was no fracture on CT.", False),
    ("Preoperative MRI of the right femur was reviewed; no CT evidence of metastasis.", False),
])
def test_an_imaging_study_denied_by_name_is_not_imaging(checker, sentence, negated):
    ct = [f for f in checker.check(sentence).findings if f.kind == "imaging" and f.text == "CT"]
    assert [f.assertion == "negated" for f in ct] == [negated]


def test_the_procedure_line_ends_where_the_narrative_starts_on_the_next_line(checker):
    proc = ("PROCEDURE: Open incisional biopsy, right distal femur.\nSupine, tourniquet. 3 cm longitudinal incision over the "
            "anterolateral distal thigh in line with the planned resection incision, through vastus lateralis. A small cortical "
            "window was made and multiple pieces were taken.")
    report = checker.check(note(proc=proc, desc=None))
    assert report.case.operation.value == "biopsy"
    assert report.verdict == "not_supported"


@pytest.mark.parametrize("said", [
    "Special positioning considerations: LEFT total hip arthroplasty, hip precautions.",
    "Avoid internal rotation of the left hip during transfer and positioning.",
    "The left leg positioning boot was removed at the end.",
])
def test_the_other_limb_in_positioning_is_no_side_of_the_tumor(checker, said):
    desc = PARTS["desc"] + " " + said
    report = checker.check(note(desc=desc))
    assert report.case.side.value == "right" and report.case.side.conflicts == []


def test_an_option_the_board_did_not_indicate_is_not_this_operation(checker):
    text = ("MDT: synovial sarcoma of the right popliteal fossa on the posterior distal femoral metaphysis, 4.2 cm. Options: "
            "(1) wide excision with the posterior periosteum as the deep margin; (2) excision with resection of the posterior "
            "femoral cortex - not indicated, bone not involved. Decision: option 1.\n\nPROCEDURE: Wide excision of right "
            "popliteal fossa synovial sarcoma, posterior femoral periosteum taken as deep margin; posterior cortex bare but "
            "intact, no bone removed.")
    assert checker.check(text).case.operation.value == "soft_tissue_resection"


@pytest.mark.parametrize("recon", [
    "PROCEDURE: En bloc wide resection, right distal femur, with removal of prior cement; distal femoral replacement.",
    "PROCEDURE: Radical resection of the right distal femur; distal femoral replacement implanted in the standard fashion.",
])
def test_old_cement_removed_or_a_standard_fashion_names_no_component(checker, recon):
    desc = ("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin. The femur was osteotomized 15 cm "
            "from the joint line. Frozen section of the femoral canal margin was negative for tumor.")
    assert item_status(checker, note(proc=recon, desc=desc), "reconstruction") == "partial"


def test_a_spacer_removed_and_a_plate_exchanged_is_a_revision(checker):
    text = ("PREOPERATIVE DIAGNOSIS: Osteosarcoma of the left femoral diaphysis, status post wide intercalary resection and "
            "antibiotic cement spacer (stage one, 09/30/2025); on adjuvant chemotherapy.\nPROCEDURE:\n  1. Removal of antibiotic "
            "cement spacer, left femur.\n  2. Intercalary allograft reconstruction.\n  3. Exchange of lateral locking plate.\n")
    assert checker.check(text).case.operation.value == "revision"


_OPTIONS_GCT = ("PREOPERATIVE DIAGNOSIS: Giant cell tumour of bone, left distal femur.\n\nMDT: contained grade II lesion, 6 cm.\n"
                "Options:\n  (a) Extended intralesional curettage, burr, phenol, cement and plate.\n"
                "  (b) En bloc resection of the distal femur and endoprosthetic replacement - reserved for recurrence.\n"
                "Decision: (a).\n{after}\nPROCEDURE: Extended intralesional curettage of the left distal femur, cement, lateral "
                "locking plate.\n")


@pytest.mark.parametrize("after", ["", "Consent: curettage of the giant cell tumour; recurrence risk discussed.\n"])
def test_what_a_list_of_options_names_is_not_what_was_done(checker, after):
    report = checker.check(_OPTIONS_GCT.format(after=after))
    assert report.case.operation.value == "intralesional"
    margins = present_attrs(report, "margin", "intent")
    assert margins == {"intralesional"}


@pytest.mark.parametrize("board", [
    "Discussed at the combined meeting 14/01/2025. Options:\n  - Radiotherapy alone.\n  - Resection and distal femoral "
    "replacement with rotationplasty as a fallback.\nDecision: radical resection with endoprosthesis.",
    "MDT options: limb salvage (DFR) vs above-knee amputation vs rotationplasty. Rotationplasty not favoured by the patient.",
    "Tumor board: rotationplasty to be presented to the family as an alternative at a later date.",
])
def test_an_option_named_by_the_board_is_no_reconstruction_of_this_operation(checker, board):
    ind = PARTS["ind"] + "\n\n" + board
    kinds = present_attrs(checker.check(note(ind=ind)), "reconstruction", "kind")
    assert "rotationplasty" not in kinds and "endoprosthesis" in kinds


def test_a_prosthesis_removed_today_is_no_reconstruction_of_this_operation(checker):
    text = ("PREOPERATIVE DIAGNOSIS: Recurrent chondrosarcoma of the right proximal femur around a proximal femoral "
            "replacement.\nPROCEDURE: Right hip disarticulation, including removal of the proximal femoral replacement with "
            "the limb.\n")
    report = checker.check(text)
    assert report.case.operation.value == "disarticulation"
    line = text.index("PROCEDURE:")
    assert [f.text for f in report.findings if f.kind == "reconstruction" and f.assertion == "present" and f.start > line] == []


def test_a_frozen_section_sent_without_a_result_takes_none_from_the_next_paragraph(checker):
    desc = ("DESCRIPTION OF PROCEDURE:\n- femur cut 15 cm above the joint line\n- specimen removed en bloc with a wide margin\n"
            "- FS: sent\n\nRecon:\n* cemented distal femoral replacement, stem 14 x 125\n\nClose: drain x1, layered, 3-0 nylon")
    assert item_status(checker, note(desc=desc), "frozen_section") == "partial"


@pytest.mark.parametrize("block", [
    "Frozen section:\n\nMarrow from the proximal femoral cut surface: no tumor.",
    "INTRAOPERATIVE FROZEN SECTION: Proximal marrow margin, first:\n\nNEGATIVE for tumor.",
])
def test_a_blank_line_inside_a_frozen_section_field_keeps_its_result(checker, block):
    desc = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "") + "\n\n" + block
    assert item_status(checker, note(desc=desc), "frozen_section") == "met"


@pytest.mark.parametrize("joined", [False, True])
def test_another_item_of_a_numbered_diagnosis_list_does_not_date_the_tumor(checker, joined):
    pre = ("PREOPERATIVE DIAGNOSIS:\n1) Pathologic fracture of the right distal femur through a solitary metastasis of lung "
           "adenocarcinoma\n2) Adenocarcinoma of the right upper lobe, s/p SBRT 2023, no evidence of disease in the chest\n"
           "3) COPD")
    text = note(pre=pre).replace("DESCRIPTION OF PROCEDURE:", "DATE OF SERVICE: 11/18/2025\n\nDESCRIPTION OF PROCEDURE:")
    if joined:
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    report = checker.check(text)
    assert report.case.tumor_status.value == "current"
    assert report.case.operation.value == "radical_resection"


def test_proc_is_a_heading_on_a_joined_line(checker):
    text = " ".join(line for line in note(pre="Dx: R distal femur osteosarcoma, biopsy-proven 12/2024, s/p MAP x10wk",
                                          post=None, proc="Proc: R distal femur wide resection with distal femoral replacement").split("\n") if line)
    sections = canonical(text).text
    assert "\nProc:" in sections
    assert checker.check(text).case.operation.value == "radical_resection"


def test_a_history_told_after_the_tumor_is_another_things_past(checker):
    pre = "PREOPERATIVE DIAGNOSIS: High-grade osteosarcoma, right distal femur; history of deep infection of the biopsy site."
    report = checker.check(note(pre=pre))
    assert report.case.tumor_status.value == "current"
    assert report.verdict == "ready"


def test_a_history_told_before_the_tumor_still_dates_it(checker):
    pre = "PREOPERATIVE DIAGNOSIS: Aseptic loosening of a right distal femoral replacement; history of osteosarcoma of the right distal femur, disease-free."
    report = checker.check(note(pre=pre, proc="PROCEDURE: Revision of the femoral stem of the right distal femoral replacement.", desc=None))
    assert report.case.tumor_status.value == "historical"


def test_the_question_of_a_metastasis_is_an_uncertain_diagnosis(checker):
    pre = "PREOPERATIVE DIAGNOSIS: Lytic lesion of the right distal femur, question of metastatic carcinoma."
    assert item_status(checker, note(pre=pre, ind=PARTS["ind"].replace("Biopsy-proven osteosarcoma. ", ""), post=None), "diagnosis_code") == "partial"


@pytest.mark.parametrize("history", [
    "Problem List: 1. Osteosarcoma, right distal femur 2. Pulmonary nodules 3. s/p L knee scope.",
    "PMH: Hypertension; remote DVT left leg 2010, no anticoagulation now.",
    "PSH: Left total hip arthroplasty 2019.",
])
def test_a_pasted_history_of_other_conditions_gives_no_side(checker, history):
    report = checker.check(note(ind=history + "\n\n" + PARTS["ind"]))
    assert report.case.side.value == "right" and not report.case.side.conflicts
    assert report.verdict == "ready"


def test_bone_left_over_is_not_a_side(checker):
    ind = PARTS["ind"] + " Options: repeat curettage with little bone left, or removal of the whole distal femur en bloc."
    report = checker.check(note(ind=ind))
    assert not report.case.side.conflicts and report.verdict == "ready"


_TROCAR = ("Pre/Post-op Dx: Permeative lesion L femoral diaphysis with a soft-tissue mass - suspected Ewing sarcoma\n"
           "Procedure: Fluoroscopy-guided core (trocar) biopsy, L femoral shaft\n\n"
           "Procedure: Supine. 5 mm stab incision anterolateral thigh, in line with the planned resection incision. 8 G trocar "
           "passed through the cortex under fluoroscopy. 4 cores. Frozen section: adequate, lesional tissue.\n")


def test_a_core_biopsy_in_line_with_a_planned_resection_is_a_biopsy(checker):
    report = checker.check(_TROCAR)
    assert report.case.operation.value == "biopsy"
    assert report.verdict == "not_supported"


def test_pre_post_op_dx_is_a_diagnosis_line(checker):
    report = checker.check(_TROCAR)
    side = report.case.side
    assert side.value == "left" and any(_TROCAR[e.start:e.end].startswith("L femoral diaphysis") for e in side.evidence)


def test_what_is_not_used_for_a_lesion_is_not_done(checker):
    ind = ("INDICATIONS: Aneurysmal bone cyst of the right distal femur. The mother asked about amputation; amputation and wide "
           "resection are not used for this kind of lesion. Consent for curettage and bone grafting.")
    desc = "DESCRIPTION OF PROCEDURE: Intralesional curettage through a cortical window, high-speed burr, cancellous allograft chips."
    pre = ("Pre- and postoperative diagnosis: Aneurysmal bone cyst, right distal femur.\n\nPre-op Conversation\n- The mother "
           "asked about amputation. The surgeon said that amputation and wide resection are not used for this kind of lesion.")
    report = checker.check(note(ind=ind, desc=desc, proc="PROCEDURE: Curettage of the right distal femur with allograft.", pre=pre, post=None))
    margins = present_attrs(report, "margin", "intent")
    assert "wide" not in margins and report.case.operation.value == "intralesional"


def test_a_side_word_belongs_to_the_nearer_of_two_sites(checker):
    pre = "PREOPERATIVE DIAGNOSIS: Clear cell chondrosarcoma, left proximal femur (femoral head and neck)."
    text = note(pre=pre, proc="PROCEDURE: Wide resection of the left proximal femur with proximal femoral replacement.")
    text = text.replace("osteotomized 15 cm", "The right femur was osteotomized 15 cm").replace("The femur was The right", "The right")
    report = checker.check(text)
    assert report.case.side.value == "left"
    assert any(e.end < text.index("POSTOPERATIVE") for e in report.case.side.evidence)  # the diagnosis line's side counts


def test_the_limb_on_the_leg_holder_is_the_other_limb(checker):
    desc = "DESCRIPTION OF PROCEDURE: Supine on the traction table, the left limb in abduction on the leg holder. " + PARTS["desc"].split(": ", 1)[1]
    report = checker.check(note(desc=desc))
    assert not report.case.side.conflicts and report.verdict == "ready"


@pytest.mark.parametrize(("sentence", "intent"), [
    ("The resection was therefore marginal, through the reactive shell.", "marginal"),
    ("The resection is wide; the closest margin is 1.5 cm.", "wide"),
])
def test_a_margin_told_of_the_resection_after_the_fact(checker, sentence, intent):
    desc = "DESCRIPTION OF PROCEDURE: The femur was osteotomized 15 cm from the joint line and the segment removed. " + sentence
    margins = present_attrs(checker.check(note(desc=desc)), "margin", "intent")
    assert intent in margins


def test_a_length_corrected_in_an_addendum_is_denied(checker):
    text = note() + "\nADDENDUM: The resected segment measured 18 cm, not 80 cm as transcribed above.\n"
    lengths = [(f.text, f.assertion) for f in checker.check(text).findings if f.kind == "dimension" and f.start > text.index("ADDENDUM")]
    assert ("18 cm", "present") in lengths and ("80 cm", "negated") in lengths


def test_the_other_hips_arthroplasty_is_no_reconstruction_of_this_operation(checker):
    pre = "PREOPERATIVE DIAGNOSIS: Myxofibrosarcoma of the left anterior thigh, 10 cm, abutting the femur."
    proc = "PROCEDURE: Wide excision of the left thigh sarcoma with the femoral periosteum as the deep margin; no bone resected."
    desc = ("DESCRIPTION OF PROCEDURE: Supine. The right hip was positioned carefully because of the right hip arthroplasty. "
            "The tumor was excised en bloc with the periosteum of the femur; the cortex was intact and no bone was resected.")
    report = checker.check(note(pre=pre, proc=proc, desc=desc, post=None))
    assert next(i.status for i in report.checklist if i.id == "reconstruction") == "not_applicable"
    assert report.case.operation.value == "soft_tissue_resection"


_PROTOCOL = ("Dg.: Osteosarcoma femoris l.{side} pars distalis, high grade, st. p. neoadjuvant chemotherapy.\n"
             "Op.: Resectio femoris distalis l.{side} en bloc in healthy tissues, tumour endoprosthesis.\n"
             "Preop.: NMR femur l.{side}. (12.01.2024), RTG knee {side}., CT thorax without metastases. {consent}\n"
             "Course: Osteotomy of femur 17 cm from joint line, resection en bloc of distal femur. Cito histology from "
             "medullary canal: negative. Specimen sent to histopat. with margins.\n")


@pytest.mark.parametrize(("side", "value"), [("dx", "right"), ("sin", "left"), ("dex", "right")])
def test_a_protocol_in_central_european_english_is_read(checker, side, value):
    consent = ("Patient informed about malignant tumour, limb salvage with endoprosthesis versus amputation, "
               "and signed consent.")
    report = checker.check(_PROTOCOL.format(side=side, consent=consent))
    assert report.case.side.value == value
    assert report.case.operation.value == "radical_resection"
    status = {i.id: i.status for i in report.checklist}
    assert status["frozen_section"] == "met" and status["preop_imaging"] == "met" and status["pathology"] == "met"
    imaging = {f.attributes.get("modality") for f in report.findings if f.kind == "imaging"}
    assert {"mri", "radiograph", "ct"} <= imaging


def test_status_after_a_resection_free_of_tumour_is_the_past(checker):
    text = ("Diagnosis: Aseptic loosening of femoral stem of distal femoral tumour endoprosthesis l.sin. Status after wide "
            "resection of distal femur l.sin. for osteosarcoma in 2013 and chemotherapy, since then free of tumour.\n"
            "Operation: Revision of tumour endoprosthesis l.sin.: exchange of femoral stem.\nDate: 09.09.2024\n")
    report = checker.check(text)
    assert report.case.tumor_status.value == "historical" and report.case.side.value == "left"


def test_margins_free_of_tumour_do_not_date_the_tumour(checker):
    path = "SPECIMENS: Distal femur to pathology; frozen and final margins free of tumour, tumour-free resection margins."
    assert checker.check(note(path=path)).case.tumor_status.value == "current"


_IMPLANT_TABLE = ("IMPLANTS:\n"
                  "Component                         Size       Lot\n"
                  "Distal femoral component, LEFT    Medium     DF55308\n"
                  "Cemented stem                     14x125     CS77881\n")


def test_an_implant_table_keeps_its_rows_when_the_lines_are_joined(checker):
    text = note(path=_IMPLANT_TABLE)
    joined = " ".join(line if line else " " for line in text.split("\n"))  # every line end a space, a blank line two
    for version in (text, joined):
        assert_side_conflict(checker.check(version), "right", "left")


_EMR_RECORD = ("[Diagnosis] Osteosarcoma, left distal femur, after neoadjuvant chemotherapy\n"
               "[Operation name] Wide resection of left distal femur; tumor prosthesis\n"
               "[Affected side] Left\n"
               "[Preop imaging] MRI left femur and CT chest reviewed for planning.\n"
               "{consent}\n"
               "[Operation course]\n"
               "1. Femur osteotomized 16 cm from the joint line, tumor removed en bloc with a wide margin.\n"
               "2. {frozen}: femoral marrow margin negative for tumor.\n"
               "3. Tumor prosthesis cemented, stem 13 x 150 mm, hinge assembled.\n"
               "[Specimen] Distal femur to pathology for margin status.\n")
_EMR_CONSENT = ("IC: Explained malignant bone tumor and wide resection; limb salvage with tumor prosthesis "
                "versus above-knee amputation. Patient agreed and signed.")


@pytest.mark.parametrize("frozen", ["Rapid intraoperative pathology", "Intraoperative rapid frozen pathology", "Frozen section"])
def test_an_emr_record_with_bracketed_fields_is_read(checker, frozen):
    report = checker.check(_EMR_RECORD.format(consent=_EMR_CONSENT, frozen=frozen))
    status = {i.id: i.status for i in report.checklist}
    assert status["frozen_section"] == "met" and status["informed_consent"] == "met" and status["pathology"] == "met"
    assert report.case.operation.value == "radical_resection" and report.case.side.value == "left"
    assert report.verdict == "ready"


def test_a_consent_paragraph_without_its_heading_is_no_consent(checker):
    # Without "IC:" (and without "agreed and signed", itself a consent) the paragraph is an explanation.
    text = _EMR_RECORD.format(consent=_EMR_CONSENT.replace("IC: ", "").replace(" Patient agreed and signed.", ""), frozen="Frozen section")
    assert item_status(checker, text, "informed_consent") == "missing"


def test_hardware_taken_out_is_no_part_of_the_reconstruction(checker):
    pre = ("PREOPERATIVE DIAGNOSIS: Chondrosarcoma of the right distal femur. Retained right dynamic hip screw "
           "from an old fracture.")
    proc = ("PROCEDURE: 1. Wide resection of the right distal femur. 2. Removal of deep hardware, right proximal femur, "
            "dynamic hip screw and side plate. 3. Distal femoral replacement.")
    desc = ("DESCRIPTION OF PROCEDURE: The old incision was reopened and the dynamic hip screw and side plate were removed. "
            "The tumor was resected en bloc with a wide margin, the femur cut 15 cm from the joint line. Frozen section "
            "of the marrow margin was negative. The distal femoral replacement was implanted in the standard fashion.")
    report = checker.check(note(pre=pre, proc=proc, desc=desc))
    assert next(i.status for i in report.checklist if i.id == "reconstruction") == "partial"
    assert "internal_fixation" not in present_attrs(report, "reconstruction", "kind")


def test_another_bones_side_in_the_procedure_line_is_no_conflict(checker):
    proc = ("PROCEDURE: 1. Radical resection of the right distal femur with distal femoral replacement. "
            "2. Removal of hardware, left distal tibia (plate and screws from an old fracture).")
    report = checker.check(note(proc=proc))
    assert report.case.side.value == "right" and not report.case.side.conflicts
    # the same words naming the femur are a conflict
    assert_side_conflict(checker.check(note(proc=proc.replace("left distal tibia", "left distal femur"))), "right", "left")


@pytest.mark.parametrize(("course", "status"), [
    ("on adjuvant MAP chemotherapy", "current"),
    ("between cycles of adjuvant chemotherapy", "current"),
    ("completed adjuvant chemotherapy in 2012, no evidence of disease since", "historical"),
])
def test_a_tumour_still_under_treatment_is_current(checker, course, status):
    text = ("DATE OF SURGERY: 04/30/2024\n"
            f"PREOPERATIVE DIAGNOSIS: Osteosarcoma, right distal femur, status post wide resection and cement spacer, {course}.\n"
            "PROCEDURE: Removal of cement spacer, right femur; implantation of an expandable distal femoral replacement.\n")
    assert checker.check(text).case.tumor_status.value == status


def test_a_side_does_not_reach_past_a_list_dash_to_the_next_item(checker):
    pre = ("PREOPERATIVE DIAGNOSIS: Osteosarcoma, right distal femur - s/p left nephrectomy 2019 - femur lesion "
           "biopsy 03/2024: osteosarcoma.")
    report = checker.check(note(pre=pre))
    assert report.case.side.value == "right" and not report.case.side.conflicts


def _joined(text: str) -> str:
    """The note as a record system exports it with its lines joined: every line end a space, so a blank line is two."""
    return re.sub(r"[ \t]*\n[ \t]*", " ", text).strip() + "\n"


_IMPLANT_LOG_TWO_SPACE = ("IMPLANT LOG (printed from the OR system)\n"
                          "REF 5520-31-M   DISTAL FEMORAL COMPONENT  LEFT  MEDIUM       QTY 1\n"
                          "REF 5522-13-125 STEM CEMENTED 13X125                         QTY 1\n")


_FORM_ROWS = ("PROCEDURE FORM\n"
              "Procedure ............... Wide resection of the right distal femur, distal femoral replacement\n"
              "Biopsy tract ............ Excised in continuity\n"
              "Frozen section .......... Performed: No; Reason: not indicated\n"
              "Tourniquet .............. Not used\n")


def test_a_dot_leader_field_in_the_middle_of_a_joined_line_is_a_field(checker):
    # Not done, with its reason: the field documents the item, read as a field and not as prose;
    # in capitals, a row that opens with a dot leader is not joined to the row before.
    text = note(desc=PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", ""),
                proc=_FORM_ROWS)
    for version in (text, _joined(text), text.upper()):
        assert item_status(checker, version, "frozen_section") == "met"


@pytest.mark.parametrize("field", ["Resection length: 160 mm", "Resection length (specimen): 160 mm",
                                   "Resection length ......... 160 mm"])
def test_an_unticked_option_label_ends_at_the_next_field_on_a_joined_line(checker, field):
    desc = PARTS["desc"].replace(" The femur was osteotomized 15 cm from the joint line.", "")
    text = note(desc=desc, path=PARTS["path"] + "\n\nLimb salvage [x]   Amputation [ ]\n[x] Limb salvage  [ ] Amputation\n" + field)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "resection_dimensions") == "met"


_AMPUTATION_FORM = ("PROCEDURE\n"
                    "  Above-knee (transfemoral) amputation, right, for osteosarcoma of the distal femur\n"
                    "  Limb salvage [ ]  Amputation [x]  Rotationplasty [ ]\n"
                    "  Amputation level ......... Transfemoral; femur divided 22 cm above the joint line\n"
                    "  Margin intent ............ Wide\n")


def test_a_checkbox_row_with_labels_before_its_boxes_keeps_its_options_when_lines_are_joined(checker):
    # Joined, the row runs on into the next field; the unticked options' labels must still go and
    # the procedure line before the row must stay.
    text = note(proc=_AMPUTATION_FORM, desc="DESCRIPTION OF PROCEDURE: Fish-mouth flaps; the femur was divided and the sciatic nerve ligated.")
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.operation.value == "amputation" and report.verdict != "ready"


@pytest.mark.parametrize("leader", ["..", "...", "........"])
def test_a_heading_in_capitals_with_a_short_leader_after_a_full_stop_is_a_field_when_lines_are_joined(checker, leader):
    desc = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "")
    text = note(desc=desc + "\nFROZEN SECTION " + leader + " Performed: No; Reason: not indicated")
    for version in (text, _joined(text)):
        assert item_status(checker, version, "frozen_section") == "met"


@pytest.mark.parametrize("blank", ["___", "N/A", "see chart"])
def test_a_blank_template_field_stays_blank_when_the_next_field_follows_on_its_line(checker, blank):
    desc = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "")
    fields = ("1. LATERALITY: Right\n2. FROZEN SECTION: " + blank + "\n3. SPECIMEN: Right distal femur to pathology\n"
              "4. EBL: 500 mL\n")
    text = note(desc=desc, path=fields)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "frozen_section") == "missing"


def test_a_markdown_heading_followed_by_a_table_on_its_line_is_a_heading(checker):
    table = ("## Specimen\n| Specimen | Sent for |\n| --- | --- |\n"
             "| Right distal femur, wide resection | Permanent pathology: margins, treatment effect |\n")
    text = note(path=table)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "pathology") == "met"


def test_a_field_answered_no_negates_its_own_label_not_the_diagnosis_before_it(checker):
    # "PATHOLOGICAL FRACTURE: NO" on the diagnosis's line (fields run together, or a note's lines
    # joined): the "no" is the fracture field's answer, not a denial of the tumour.
    pre = ("PREOPERATIVE DIAGNOSIS: HIGH-GRADE OSTEOSARCOMA, RIGHT DISTAL FEMUR SITE: DISTAL FEMUR "
           "PATHOLOGICAL FRACTURE: NO PRIOR RADIATION TO FIELD: NONE")
    ind = PARTS["ind"].replace("Biopsy-proven osteosarcoma. ", "")
    report = checker.check(note(pre=pre, ind=ind))
    assert report.case.tumor_status.value == "current" and report.verdict == "ready"
    assert [e.text for e in report.case.tumor_status.evidence] == ["HIGH-GRADE OSTEOSARCOMA"]


def test_ocr_misreadings_are_repaired_in_a_note_whose_lines_were_joined(checker):
    pre = "PREOPERATIVE DIAGNOSIS: Grade 2 chondrosarcorna of the right distal femur."
    ind = PARTS["ind"].replace("Biopsy-proven osteosarcoma. ", "")
    text = note(pre=pre, ind=ind)
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.tumor_status.value == "current"
        assert "chondrosarcorna" in [e.text for e in report.case.tumor_status.evidence]


_FORM_FIELDS = [
    # a two-column form: the gap after "Frozen section" parts a field from its value, not two
    # paragraphs; not done, with its reason, documents the item
    ("OPERATIVE DETAILS\nResection length      12 cm from the joint line\n"
     "Frozen section      Not performed - diagnosis known from biopsy\nTourniquet      Not used\n", "met"),
    # a gap after the colon: "Frozen section:    n/a" stays one field answered with a blank, not
    # a heading whose paragraph begins "n/a Tourniquet: ..."
    ("OPERATIVE FORM\n   Margin intent:    Wide\n   Frozen section:    n/a\n   Tourniquet:    Not used\n", "missing"),
]


@pytest.mark.parametrize(("form", "status"), _FORM_FIELDS)
def test_a_form_field_keeps_its_value_when_the_lines_are_joined(checker, form, status):
    desc = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "")
    text = note(desc=desc, path=PARTS["path"] + "\n\n" + form)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "frozen_section") == status


_SOFT_TISSUE_FORM = {
    "pre": "PREOPERATIVE DIAGNOSIS: Undifferentiated pleomorphic sarcoma of the left anterior thigh, abutting the femoral shaft.",
    "post": "POSTOPERATIVE DIAGNOSIS: Same.",
    "consent": ("3 | CONSENT\n   Consent form signed: Yes\n   Discussed: limb salvage; segmental femoral resection and "
                "endoprosthesis only if the cortex proved to be invaded; amputation as the alternative."),
    "proc": "PROCEDURE: Wide excision of the left thigh sarcoma with the femoral periosteum as the deep margin.",
    "ind": "INDICATIONS: Biopsy-proven sarcoma. MRI of the left thigh was reviewed for planning.",
    "desc": ("DESCRIPTION OF PROCEDURE: The tumor was excised en bloc with a cuff of vastus intermedius. The periosteum was "
             "elevated off the cortex as the deep margin; the cortex looked normal and no bone was cut."),
    "form": ("Bone management: [ ] Not exposed  [x] Periosteum taken with the specimen  [ ] Segmental femoral resection\n"
             "Muscles taken:    vastus intermedius"),
}


@pytest.mark.parametrize("part", ["consent", "form"])
def test_a_soft_tissue_resection_stays_one_when_the_lines_of_its_form_are_joined(checker, part):
    # "3 | CONSENT" is a numbered heading whatever follows it; an unticked option's label runs
    # to the next capitalized field, also when that field's label gets its own line. Either way
    # the bone resection only discussed or not ticked is not one done.
    parts = {k: v for k, v in _SOFT_TISSUE_FORM.items() if k in PARTS or k == part}
    text = "\n\n".join(parts.values()) + "\n"
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.operation.value == "soft_tissue_resection" and report.verdict != "ready"


def test_a_checkbox_row_keeps_the_next_line_in_its_paragraph_when_the_lines_are_joined(checker):
    desc = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "")
    rows = "FROZEN SECTION: [x] Sent  [ ] Not sent\nResult: proximal marrow margin negative for tumor (Dr. Osei, 12:04)"
    text = note(desc=desc, path=PARTS["path"] + "\n\n" + rows)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "frozen_section") == "met"


def test_a_form_row_saying_no_bone_was_resected_holds_when_the_lines_are_joined(checker):
    # "BONE RESECTION LENGTH  N/A": once the lines are joined the gap may end the line; the
    # field still says no bone was cut.
    parts = {k: v for k, v in _SOFT_TISSUE_FORM.items() if k in PARTS}
    parts["desc"] = ("DESCRIPTION OF PROCEDURE: The tumor was excised en bloc with a cuff of vastus intermedius and the "
                     "periosteum over the femoral shaft.")
    parts["path"] = ("FROZEN SECTION  Deep margin negative for tumor.\n"
                     "BONE RESECTION LENGTH  N/A - no bone resected.\n"
                     "SPECIMEN  Thigh mass with periosteum to pathology.")
    text = "\n\n".join(parts.values()) + "\n"
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.operation.value == "soft_tissue_resection" and report.verdict != "ready"


_SIDE_ROWS = [
    "SAFETY / TIME-OUT\nOperative site marked: \u2610 Right  \u2611 Left\nTime-out completed: \u2611 Yes",
    ("SYNOPTIC\n   Bone involvement:  [X] Destroys the lateral cortex\n                      [ ] Abuts bone only   [ ] None\n"
     "   Side:              [ ] Right   [X] Left"),
]


@pytest.mark.parametrize("rows", _SIDE_ROWS)
def test_a_ticked_side_stays_with_its_label_when_the_lines_are_joined(checker, rows):
    # The unticked options blanked, the gap after the label's colon holds them; joined, the ticked
    # side must stay on the label's line, where it is read.
    text = note(desc=PARTS["desc"] + "\n\n" + rows)
    for version in (text, _joined(text)):
        assert_side_conflict(checker.check(version), "right", "left")


def test_a_dash_list_keeps_its_items_apart_when_the_lines_are_joined(checker):
    # Joined, "... patellar tendon - Extensor mechanism reconstruction" is two items of the
    # procedure list: the first item's tendon is no component of the second's reconstruction.
    proc = ("PROCEDURE:\n- Wide en bloc resection of the right patella with a cuff of quadriceps and patellar tendon\n"
            "- Extensor mechanism reconstruction")
    pre = "PREOPERATIVE DIAGNOSIS: Grade 2 chondrosarcoma of the right patella."
    desc = ("DESCRIPTION OF PROCEDURE: The patella was removed en bloc with its tendon cuffs; frozen sections of the "
            "tendon margins were negative. The extensor mechanism was reconstructed in the usual fashion; implants "
            "and graft per OR record.")
    text = note(pre=pre, proc=proc, desc=desc)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "reconstruction") == "partial"


@pytest.mark.parametrize("fields", ["Surgeon: A. Okafor, MD\nAssistant: B. Lindqvist, MD\nAnesthesia: GETA\nEBL: 1,600 mL",
                                    "Surgeons: A. Okafor, MD\nAnesthesia: GETA\nEBL: 1,600 mL\nIVF: 4.5 L"])
def test_header_fields_after_the_procedure_line_end_it_when_the_lines_are_joined(checker, fields):
    # Joined, "... distal femoral replacement Surgeon: A. Okafor, MD ... Anesthesia: GETA EBL:
    # 1,600 mL": the personnel field and the blood loss after a value in capitals are fields of
    # their own, so the volume is no component of the reconstruction named before them.
    proc = "PROCEDURE: Radical resection of the right distal femur; distal femoral replacement\n" + fields
    desc = PARTS["desc"].replace("A cemented distal femoral replacement was implanted.",
                                 "The distal femoral replacement was then implanted in the usual fashion.")
    text = note(proc=proc, desc=desc)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "reconstruction") == "partial"


_MD_IMPLANTS = ("Implant Log\n"
                "| Item                     | Lot     | Size        | Body Site | Laterality |\n"
                "|--------------------------|---------|-------------|-----------|------------|\n"
                "| Distal femoral component | 7718A   | Medium      | Femur     | Right      |\n"
                "| Tibial baseplate         | 6651D   | Size 4      | Tibia     | Left       |\n"
                "| Femoral stem, cemented   | 7702B   | 12 x 125 mm | Femur     | Right      |\n")


@pytest.mark.parametrize("table", [_IMPLANT_LOG_TWO_SPACE, "Closure: Layered closure over a drain. Dressing applied.\n\n" + _MD_IMPLANTS])
def test_an_implant_table_row_of_the_other_side_survives_joined_lines(checker, table):
    # An implant log with narrow column gaps (two spaces, which look like the blank lines of a
    # joined note; a wide column gap in the same row, no sentence between, says they are columns),
    # and a Markdown table, which joined is one run of cells ("| Medium | Right | | Tibial
    # baseplate | ..."): its separator row's number of columns gives each row back, and the padding
    # in its cells is not taken for lost line ends. Either way the row of the other side is still
    # read as one row.
    text = note(path=PARTS["path"] + "\n\n" + table)
    for version in (text, _joined(text)):
        assert_side_conflict(checker.check(version), "right", "left")


@pytest.mark.parametrize("mark", ["*", "-"])
def test_a_bulleted_list_of_fields_keeps_its_items_apart_when_the_lines_are_joined(checker, mark):
    # Joined, "... pathologists. * Staging: CT chest ... * Perioperative: ... after the left hip
    # replacement": each field of the list gets its line back before headings are read, so the
    # other hip's history is read under its own field, not in the pathology field before it.
    board = "\n".join(f"  {mark} {item}" for item in (
        "Pathology: open biopsy 09/2025 - high-grade osteosarcoma. Reviewed by two bone pathologists.",
        "Staging: CT chest: no metastatic disease.",
        "Perioperative: continue anticoagulation per hematology (history of DVT after the left hip replacement in 2019).",
    ))
    text = note(ind=PARTS["ind"] + "\n\nTUMOR BOARD RECOMMENDATIONS (09/30/2025)\n" + board)
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.side.value == "right" and not report.case.side.conflicts


_OPTIONS = ("A 13-year-old swimmer whose left distal femur osteosarcoma grew through chemotherapy. The options reviewed with "
            "the family at two meetings, with our social worker and the child life team present, were limb salvage"
            "{wrap}(distal femoral resection with an expandable prosthesis and vascular bypass), rotationplasty, a "
            "transfemoral amputation and a knee disarticulation. The family chose a knee disarticulation.")


@pytest.mark.parametrize("wrap", [" ", "\n"])
def test_every_item_of_a_long_list_of_options_is_only_discussed(checker, wrap):
    # The rotationplasty stands far after "options ... were", and the list may be hard-wrapped
    # before a bracket in lower case: it is an option, not a reconstruction done today, so the
    # disarticulation on the procedure line stays a disarticulation.
    text = note(pre="PREOPERATIVE DIAGNOSIS: Osteosarcoma of the left distal femur.",
                proc="PROCEDURE: Left knee disarticulation.", ind=_OPTIONS.format(wrap=wrap),
                desc="DESCRIPTION OF PROCEDURE: The knee was disarticulated and the limb removed. Wide margins.")
    report = checker.check(text)
    assert (report.case.operation.value, report.case.amputation_level.value) == ("disarticulation", "knee")
    assert report.verdict == "not_supported"


def test_slides_reviewed_before_a_bare_consent_are_no_discussion_with_the_patient(checker):
    # "reviewed here: giant cell tumour of bone" is the pathology's review, not the consent
    # discussion: the consent sentence alone after it names no oncologic purpose.
    ind = ("Summary\nKnee pain for nine months. MRI of the right knee: lytic lesion. Core biopsy at another hospital, "
           "reviewed here: giant cell tumour of bone.\n\nConsent signed and checked at sign-in.")
    text = note(pre="PREOPERATIVE DIAGNOSIS: Giant cell tumour of the right distal femur.", ind=ind)
    assert item_status(checker, text, "informed_consent") == "partial"


_BACKGROUND = ("Background: Samuel had a high-grade osteosarcoma of the right distal femur at the age of 8. He was treated "
               "with chemotherapy and a wide resection with an extendible distal femoral replacement. {last}")


@pytest.mark.parametrize(("last", "status"), [
    ("He has had no evidence of disease since, and his chest CT this winter was clear.", "historical"),
    ("Restaging CT of the chest showed no evidence of metastatic disease.", "current"),
])
def test_a_history_paragraph_that_ends_free_of_disease_makes_the_tumor_historical(checker, last, status):
    # "no evidence of disease since", two sentences after the tumor in its paragraph, says the
    # tumor is past; a staging line with no metastases says nothing of the tumor itself.
    text = ("OPERATION NOTE\n\nOperation: Revision of right extendible distal femoral replacement, exchange of the "
            "extendible body for a failed lengthening mechanism.\n\n" + _BACKGROUND.format(last=last) + "\n\n"
            "Procedure: The old incision was reopened, the body exchanged on the retained stem and the hinge reassembled.\n")
    assert checker.check(text).case.tumor_status.value == status


def test_a_core_needle_biopsy_written_with_a_hyphen_is_a_biopsy(checker):
    text = note(proc="PROCEDURE: Core-needle biopsy, right distal femur, under fluoroscopic guidance.",
                desc="DESCRIPTION OF PROCEDURE: Four cores were taken through a stab incision in line with the future "
                     "resection. Frozen section showed a high-grade malignant bone tumor.")
    report = checker.check(text)
    assert report.case.operation.value == "biopsy" and report.verdict == "not_supported"


def test_a_frozen_result_the_pathologist_reports_in_the_next_sentence_is_read(checker):
    desc = PARTS["desc"].replace(
        "Frozen section of the femoral canal margin was negative for tumor.",
        "The femoral canal margin was sent for frozen section. The pathologist (Dr. Osei) reported no tumor at the margin.")
    assert item_status(checker, note(desc=desc), "frozen_section") == "met"


@pytest.mark.parametrize(("said", "status"), [
    ("Frozen section: not available in this hospital (the pathology department has no cryostat).", "met"),
    ("Frozen section: not available at the time of dictation.", "partial"),
])
def test_a_frozen_section_the_hospital_cannot_do_is_not_performed_with_its_reason(checker, said, status):
    desc = PARTS["desc"].replace("Frozen section of the femoral canal margin was negative for tumor.", said)
    assert item_status(checker, note(desc=desc), "frozen_section") == status


def test_a_cut_measured_from_the_recurrence_is_a_margin_distance(checker):
    desc = PARTS["desc"].replace("The femur was osteotomized 15 cm from the joint line.",
                                 "The femur was divided through native bone 7 cm above the recurrence.")
    assert item_status(checker, note(desc=desc), "resection_dimensions") == "met"


def test_a_field_whose_colon_gap_holds_three_blanked_boxes_keeps_its_answer_when_the_lines_are_joined(checker):
    # Joined, "... (long nail, head screw) Resection of lesion: [ ] Wide / en bloc [ ] Curettage
    # [x] None": the label gets its line and its ticked answer, so the unticked resection is not
    # read on the procedure line.
    pre = "PREOPERATIVE DIAGNOSIS: Metastatic breast carcinoma, left femoral shaft, impending fracture."
    proc = ("PROCEDURE: Prophylactic cephalomedullary nailing, left femur (long nail, head screw)\n"
            "Resection of lesion:   [ ] Wide / en bloc   [ ] Curettage   [x] None - lesion left in situ; radiation to follow")
    desc = ("DESCRIPTION OF PROCEDURE: The nail was passed over a guide wire and locked with a head screw and two distal "
            "screws. No tumor was removed.")
    text = note(pre=pre, proc=proc, ind=None, desc=desc, path=None)
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.operation.value == "prophylactic_fixation" and report.verdict == "not_supported"


def _no_length(**parts: str) -> str:
    """The base note without its resection length, so only a tumor size can document the item."""
    return note(desc=PARTS["desc"].replace(" The femur was osteotomized 15 cm from the joint line.", ""), **parts)


_SIZE_ONLY_LAYOUTS = {
    # Joined, "[ ] CT chest" runs on into the next line's sentence; only "CT chest" is the unticked
    # option, and the lesion's size after it stays in the note.
    "last unticked option": {"path": PARTS["path"] + "\n\nImaging before surgery:  [x] MRI right femur   [ ] CT chest\n"
                                     "Lytic lesion 8.5 cm in the distal metaphysis, no fracture."},
    # "studies" reads as the literature only with the words that say so; a STUDIES heading run into
    # its first line is the patient's imaging.
    "STUDIES heading": {"path": PARTS["path"] + "\n\nSTUDIES\nRadiograph of the right femur: lytic lesion of 8 cm with cortical destruction."},
    "table without a separator row": {"pre": "DIAGNOSIS\n| Field                 | Value                      |\n"
                                             "| Diagnosis             | Osteosarcoma               |\n"
                                             "| Laterality            | Right                      |\n"
                                             "| Tumour size           | 11 x 7 x 6 cm              |\n"},
}


@pytest.mark.parametrize("layout", list(_SIZE_ONLY_LAYOUTS))
def test_a_tumor_size_in_a_form_layout_is_read_as_written_and_joined(checker, layout):
    text = _no_length(**_SIZE_ONLY_LAYOUTS[layout])
    for version in (text, _joined(text)):
        assert item_status(checker, version, "resection_dimensions") == "partial"


def test_studies_of_the_literature_are_a_discussion(checker):
    told = _no_length(path=PARTS["path"] + "\n\nPublished studies have shown a resection 12 cm long to be enough for such tumors.")
    assert item_status(checker, told, "resection_dimensions") == "missing"


def test_form_fields_in_capitals_with_dot_leaders_keep_their_lines_when_joined(checker):
    # Joined, "TUMOR SIZE (imaging) .... 9.4 cm OSTEOTOMY LEVEL ...": the size must not read as
    # the osteotomy's length, whether or not the field names are known headings.
    form = ("RESECTION LENGTH ........ ________ cm\nTUMOR SIZE (imaging) .... 9.4 cm\n"
            "OSTEOTOMY LEVEL ......... per preoperative plan")
    text = _no_length(ind=PARTS["ind"] + "\n\n" + form)
    as_written, joined = (item_status(checker, version, "resection_dimensions") for version in (text, _joined(text)))
    assert joined != "met" and joined in (as_written, "partial")


_TERSE = ("Dx: R distal femur osteosarcoma, biopsy proven.\n"
          "Proc: wide resection R distal femur + DFR.\n"
          "Preop: MRI R femur, CT chest.\n"
          "Consent: resxn R distal femur w/ DFR; alternative = AKA, discussed + declined. Risks infection, recurrence. Signed.\n"
          "Lat decub, R side up. Osteotomy 15 cm above joint line, specimen en bloc, wide margins.\n"
          "FS distal IM canal margin: neg.\n"
          "DFR cemented, patellar tendon reattached.\n")


@pytest.mark.parametrize("start", ["Lat decub, R side up.", "Ant thigh incision incl Bx tract."])
def test_a_consent_field_ends_where_the_operation_narrative_starts(checker, start):
    # Lines joined, no heading follows the consent: the frozen section dictated after the
    # positioning (or the incision) is the operation's, not something said in the consent.
    terse = _TERSE.replace("Lat decub, R side up.", start)
    for version in (terse, _joined(terse)):
        assert item_status(checker, version, "frozen_section") == "met"


_NO_FROZEN_DESC = PARTS["desc"].replace(" Frozen section of the femoral canal margin was negative for tumor.", "")


@pytest.mark.parametrize("said", [
    # the biopsy's own label after the frozen section's heading: its diagnosis is not the frozen result
    "HISTOLOGY / FROZEN SECTION: Biopsy: Ewing sarcoma, EWSR1-FLI1. Frozen sections of the marrow: result pending at dictation.",
    # what is sent for a frozen section is its specimen, not a result said before it
    "SPECIMEN: Lesional tissue, right distal femur, for frozen section, permanent sections and culture.\nFROZEN SECTION: Sent. Result pending at the end of the case.",
    # a clinic's name is not a result
    "The frozen section of the canal was still pending at closure. Follow-up in the sarcoma clinic in two weeks with the frozen section result.",
])
def test_a_pending_frozen_section_takes_no_result_from_the_words_around_it(checker, said):
    text = note(desc=_NO_FROZEN_DESC, path=said)
    assert item_status(checker, text, "frozen_section") == "partial"


def test_a_misheard_no_before_a_frozen_result_is_read_as_no(checker):
    text = note(desc=_NO_FROZEN_DESC + " Two samples were sent for frozen section, which showed known acute inflammation.")
    report = checker.check(text)
    assert next(i.status for i in report.checklist if i.id == "frozen_section") == "met"
    assert {f.attributes.get("result") for f in report.findings if f.kind == "frozen_section"} == {"negative"}


_RUN_ON = ("DESCRIPTION OF PROCEDURE: The tumor was resected en bloc with a wide margin, the femur was osteotomized "
           "15 cm from the joint line, no frozen section was sent, "
           "then the distal femoral replacement was implanted {how}, the iliotibial band was repaired to the lateral "
           "intermuscular septum, the wound was irrigated with three litres of saline, hemostasis was obtained with "
           "electrocautery along the whole length of the wound, the leg lengths were checked against the other side and "
           "were equal, the foot pulses were palpable at the end of the case, "
           "two 10 mm drains were placed, the fascia was closed with 0 sutures and the skin with 3-0 nylon, and "
           "the dressing was applied.")


_PROC_NO_RECON = "PROCEDURE: Radical resection of the right distal femur."


def test_a_negation_ends_where_a_run_on_sentence_goes_on_with_then(checker):
    # "no frozen section was done, ..., then the distal femoral replacement was implanted": the
    # implant is not negated; the sentence has moved on to the next step.
    text = note(proc=_PROC_NO_RECON, desc=_RUN_ON.format(how="with a 13 x 125 mm cemented stem and a 75 mm body"))
    assert item_status(checker, text, "reconstruction") == "met"


def test_components_of_a_reconstruction_are_read_near_it_in_a_run_on_sentence(checker):
    # Implanted "in the usual way": the drains and sutures later in the same run-on sentence are not its parts.
    text = note(proc=_PROC_NO_RECON, desc=_RUN_ON.replace("no frozen section was sent, ", "").format(how="in the usual way"))
    assert item_status(checker, text, "reconstruction") == "partial"


def _imaging_done_before(report) -> set:
    """The modalities a report counts as studies done before this operation (present or historical, not follow-up)."""
    return {f.attributes.get("modality") for f in report.findings
            if f.kind == "imaging" and f.assertion in ("present", "historical") and f.attributes.get("timing") != "postoperative"}


@pytest.mark.parametrize("plan", [
    "PLAN:\n1. Touch-down weight bearing.\n2. Tc-99m bone scan 07/10; tumor board 07/16 with final pathology.",
    "PLAN: Staging: PET-CT and a bone scan have been booked for the coming days.",
])
def test_imaging_still_to_come_in_the_plan_is_not_imaging_done_before(checker, plan):
    report = checker.check(note(path=PARTS["path"] + "\n\n" + plan))
    assert _imaging_done_before(report) == {"mri", "ct"}
    assert next(i.status for i in report.checklist if i.id == "preop_imaging") == "met"


def test_a_length_at_which_the_bone_was_transected_is_the_resection_length():
    from opnote.components.measurements import classify

    text = "The femoral shaft was transected 160 mm below the tip of the greater trochanter, 3 cm distal to the lesion on the CT."
    first, second = (text.index(x) for x in ("160 mm", "3 cm"))
    assert classify(text, first, first + 6) == "resection_length"
    assert classify(text, second, second + 4) == "margin_distance"


@pytest.mark.parametrize("said", [
    "Removal of the proximal femur prosthesis with the specimen.",
    "The leg was removed together with the proximal femur prosthesis and the recurrent tumour.",
    "Recurrent chondrosarcoma with a large soft tissue mass around the proximal femur prosthesis.",
])
def test_an_implant_taken_out_or_already_in_place_is_not_this_operations_reconstruction(checker, said):
    text = ("PREOPERATIVE DIAGNOSIS: Recurrent chondrosarcoma of the left proximal femur.\n\n"
            "PROCEDURE: Left hip disarticulation with a wide margin. " + said + "\n\n"
            "DESCRIPTION OF PROCEDURE: Posterior gluteal flap. The hip capsule was divided near the acetabulum. " + said + " The flap was closed over two drains.\n")
    assert "endoprosthesis" not in present_attrs(checker.check(text), "reconstruction", "kind")


_FIRST_STAGE = ("PREOPERATIVE DIAGNOSIS: Chronic periprosthetic joint infection (Staphylococcus epidermidis on aspiration) of a right "
                "distal femoral replacement; osteosarcoma of the right distal femur resected in 2011, no disease since.\n\n"
                "PROCEDURE: First stage of a two-stage revision: removal of the implant, debridement, antibiotic cement spacer.\n\n"
                "DESCRIPTION OF PROCEDURE: The old incision was reopened. Hinge disassembled; body segment and distal femoral "
                "component removed from the femoral stem taper. A gentamicin-loaded cement spacer was moulded across the knee.\n\n"
                "PLAN: Second-stage reimplantation of a distal femoral replacement planned in about eight weeks.\n")


def test_the_first_stage_of_a_revision_puts_in_a_spacer_and_no_endoprosthesis(checker):
    # The failed implant (its infection), the parts taken out ("component removed from ...") and the
    # second stage planned in eight weeks are not what this operation put in.
    assert present_attrs(checker.check(_FIRST_STAGE), "reconstruction", "kind") == {"cement_spacer"}


def test_what_comes_after_a_condition_is_still_a_plan(checker):
    text = note(proc="PROCEDURE: Open biopsy of the right distal femur.",
                desc="DESCRIPTION OF PROCEDURE: Open biopsy through a small incision in line with the future resection. "
                     "If confirmed: neoadjuvant chemotherapy, then planned wide resection with a distal femoral replacement.",
                path="SPECIMENS: Lesional tissue for permanent sections.")
    assert "endoprosthesis" not in present_attrs(checker.check(text), "reconstruction", "kind")


@pytest.mark.parametrize(("stage", "kinds"), [
    ("Insertion of an articulating antibiotic-loaded cement spacer. Definitive distal femoral replacement planned as a "
     "second stage in about six weeks once cultures are known.", {"cement_spacer"}),
    ("Second stage: removal of the cement spacer and implantation of an expandable distal femoral replacement with a "
     "cemented stem.", {"endoprosthesis"}),
])
def test_a_later_stage_of_a_staged_reconstruction_is_not_put_in_today(checker, stage, kinds):
    text = note(proc="PROCEDURE: Wide resection of the right distal femur. " + stage,
                desc=_NO_FROZEN_DESC.replace(" A cemented distal femoral replacement was implanted.", ""))
    assert present_attrs(checker.check(text), "reconstruction", "kind") == kinds


@pytest.mark.parametrize("said", [
    "Right lower extremity, above-knee amputation, with distal femoral replacement in situ, to pathology.",
    "The hip was disarticulated, bringing the proximal femoral replacement and its bipolar head out with the limb.",
    "Recurrent sarcoma around a chronically infected proximal femoral replacement.",
])
def test_the_old_implant_in_an_amputated_limb_is_not_a_reconstruction(checker, said):
    text = ("PREOPERATIVE DIAGNOSIS: Recurrent osteosarcoma of the right femur.\n\nPROCEDURE: Right hip disarticulation.\n\n"
            "DESCRIPTION OF PROCEDURE: " + said + " The flap was closed over two drains.\n")
    assert "endoprosthesis" not in present_attrs(checker.check(text), "reconstruction", "kind")


def test_a_title_in_capitals_keeps_its_line_before_a_title_case_heading_when_joined(checker):
    text = ("REVISION R DFR\n"
            "Hx: 27M, R distal femur osteosarcoma 2012, wide resection + DFR elsewhere; NED, MRI + CT chest 01/25 clear.\n"
            "Now: stem loosening on CT, aspirate negative.\n"
            "Consent: revision R DFR (stem + bushings), risks infection, fracture. Signed.\n"
            "Old incision reopened, scar excised. Capsule opened, hinge disassembled. Loose stem removed with its cement "
            "mantle; canal reamed and cleaned. New 15 x 150 mm cemented stem and new bushings, hinge reassembled, stable "
            "through the arc of motion. Closure in layers over a drain.\n")
    for version in (text, _joined(text)):
        assert checker.check(version).case.operation.value == "revision"


_PICK_LIST_FORM = ("Laterality:        X Right      Left      Bilateral\n"
                   "Site:                Proximal femur    X Distal femur      Other\n"
                   "Procedure:           Curettage + cement      Intramedullary nail    X Wide resection      Amputation\n"
                   "Margin intent:       Intralesional      Marginal    X Wide\n")


def test_a_pick_list_keeps_only_its_marked_options_when_the_lines_are_joined(checker):
    # Joined, the unmarked last option ("Amputation") runs into the next field's label; it is
    # still an option not chosen, not the operation.
    text = note(proc=_PICK_LIST_FORM + "PROCEDURE: Radical resection of the right distal femur with distal femoral replacement.")
    for version in (text, _joined(text)):
        report = checker.check(version)
        assert report.case.operation.value == "radical_resection" and report.verdict == "ready"


def test_prophylaxis_negates_only_the_words_just_before_it(checker):
    # "VTE prophylaxis: SCD contralateral leg" on a joined verification block must not deny the
    # side marked on the thigh a few fields before it.
    block = ("PRE-PROCEDURE VERIFICATION:\n  Consent reviewed and signed: Yes\n  Site marked: LEFT thigh, surgeon initials, "
             "verified at time-out\n  Antibiotic within 60 min: Cefazolin 2 g\n  VTE prophylaxis: SCD contralateral leg\n")
    text = note(proc=PARTS["proc"] + "\n\n" + block, desc=PARTS["desc"] + " " + "The wound was irrigated and closed in layers over a drain. " * 4)
    for version in (text, _joined(text)):
        assert_side_conflict(checker.check(version), "right", "left")


_FLAGS_FORM = ("Frozen section: [ ] Yes  [x] No\nReason: Diagnosis already established by CT-guided biopsy;\n  no tissue taken today.\n\n"
               "Resection performed: N\nCurettage / cement: N\n")


def test_flags_answered_no_and_a_frozen_section_not_sent_with_its_reason_survive_joined_lines(checker):
    text = note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\n" + _FLAGS_FORM)
    for version in (text, _joined(text)):
        c = canonical(version)
        assert "No Resection performed." in c.text and "No Curettage / cement." in c.text
        assert item_status(checker, version, "frozen_section") == "met"


@pytest.mark.parametrize("field", ["Frozen: N/A\nDisposition: PACU, then the ward", "Frozen section .............. N/A\nReamings .................... Sent for permanent histology"])
def test_a_frozen_section_field_left_blank_stays_blank_when_the_lines_are_joined(checker, field):
    text = note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\n" + field)
    for version in (text, _joined(text)):
        assert item_status(checker, version, "frozen_section") == "missing"
        assert [i.message for i in checker.check(version).checklist if i.id == "frozen_section"] == ["The frozen-section field is left blank."]


@pytest.mark.parametrize("said", [
    "We did not send a frozen section: the diagnosis had already been made on the biopsy.",
    "Canal contents from the proximal cut sent for frozen section - report: no tumor in the marrow.",
])
def test_a_heading_word_inside_a_sentence_in_capitals_opens_no_field(checker, said):
    # "A FROZEN SECTION:" after an article, "- REPORT:" after a dash: in capitals every word looks
    # like a heading; these stay in their sentence, with the result or the reason they give.
    text = note(desc=_NO_FROZEN_DESC + " " + said)
    for version in as_typed_and_in_capitals(text):
        assert item_status(checker, version, "frozen_section") == "met", version[-150:]


@pytest.mark.parametrize("said", [
    "Marrow from both cut ends was sent for frozen section; the report had not come back when this note was written.",
    "Marrow from both cut ends was sent for frozen section;\nthe report had not come back and pathology will phone the result.",
])
def test_a_frozen_section_whose_report_has_not_come_back_is_pending(checker, said):
    # Said without the word "pending", and across a line the typist wrapped after a semicolon.
    report = checker.check(note(desc=_NO_FROZEN_DESC + " " + said))
    assert present_attrs(report, "frozen_section", "result") == {"pending"}


def test_a_proforma_flag_answered_n_without_a_colon_is_a_frozen_section_not_sent(checker):
    # "Frozen section N - <reason>": the flag is no, and the dash gives the reason; read as a
    # positive result before.
    # In capitals the rewritten flag is in capitals too, so the note is still read as one in capitals.
    text = note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\nConsent Y - signed by the patient\n"
                "Frozen section N - diagnosis already established on core biopsy")
    for version in as_typed_and_in_capitals(text):
        report = checker.check(version)
        assert present_attrs(report, "frozen_section", "result") == {"not_performed"}
        assert item_status(checker, version, "frozen_section") == "met"


@pytest.mark.parametrize("said", [
    "Dx: Chronic periprosthetic infection, L distal femoral replacement (MSSA).",
    "Procedure: Stage one of a planned two-stage revision - removal of infected L DFR, antibiotic cement spacer.",
    "Procedure: Removal of the infected Rt. distal femoral replacement, antibiotic cement spacer.",
])
def test_the_infected_implant_named_with_a_short_side_is_not_put_in(checker, said):
    # The implant that failed, with its side written as a letter or "Rt.", after a comma or "removal of".
    text = ("Background: Osteosarcoma of the left distal femur treated in 2011.\n\n" + said + "\n\n"
            "Description: The implant and all cement were removed. A hand-moulded antibiotic cement spacer was placed.\n")
    assert present_attrs(checker.check(text), "reconstruction", "kind") == {"cement_spacer"}


@pytest.mark.parametrize(("said", "twenty_two"), [
    ("Freeing the vessels from the scar added roughly 80 minutes to the planned operating time.", True),
    ("Freeing the extensor mechanism made the case about fifty minutes longer than a routine one.", True),
    ("Post-radiation fibrosis was dense around the vessels.", True),
    ("Tourniquet time was 75 minutes.", False),
])
def test_extra_time_or_dense_fibrosis_said_in_words_grounds_modifier_22(checker, said, twenty_two):
    report = checker.check(note(desc=PARTS["desc"] + " " + said))
    assert any(a.kind == "modifier" and a.code == "22" for a in report.advisories) is twenty_two


def test_the_parts_of_an_allograft_prosthetic_composite_are_the_composite(checker):
    # The allograft and the hinged prosthesis cemented into it make one reconstruction, not three.
    desc = PARTS["desc"].replace(
        " A cemented distal femoral replacement was implanted.",
        " Reconstruction with an allograft-prosthetic composite: a distal femoral allograft was cut to 140 mm and a "
        "long-stem rotating-hinge prosthesis was cemented into it.")
    report = checker.check(note(proc="PROCEDURE: Radical resection of the right distal femur.", desc=desc))
    assert present_attrs(report, "reconstruction", "kind") == {"allograft_prosthetic_composite"}
    assert item_status(checker, note(proc="PROCEDURE: Radical resection of the right distal femur.", desc=desc), "reconstruction") == "met"


def test_a_numbered_procedure_that_opens_with_a_heading_word_keeps_its_words(checker):
    # "4. Reconstruction of the extensor mechanism: ..." is one label, not a Reconstruction heading
    # followed by "of the extensor mechanism"; "Side of lesion:" is still the side's field.
    proc = ("PROCEDURES:\n1. Wide resection of the right distal femur.\n2. Distal femoral replacement.\n"
            "3. Reconstruction of the extensor mechanism: patellar tendon sutured to the prosthesis.\n"
            "Side of lesion: right")
    report = checker.check(note(proc=proc))
    assert "extensor_mechanism" in present_attrs(report, "reconstruction", "kind")
    assert report.case.side.value == "right"


def test_a_second_procedure_heading_over_the_narrative_does_not_outrank_the_procedure_line(checker):
    # "Procedure: <what was done>" and later "Procedure:" alone on its line over the narrative: the
    # first names the operation; the narrative's osteotomy does not turn a curettage into a resection.
    narrative = ("Procedure:\nMedial approach incorporating the biopsy tract. The vessels were mobilised and protected. "
                 "Femoral osteotomy at 145 mm from the joint line, as planned on the MRI. The specimen was removed en bloc "
                 "with a wide margin. The canal was reamed and a custom distal femoral endoprosthesis was cemented. "
                 "The wound was closed in layers over a drain.")
    text = note(proc="Procedure: Curettage and cementation of the right distal femur lesion.", desc=narrative)
    report = checker.check(text)
    assert report.case.operation.value == "intralesional" and report.verdict == "not_supported"


def test_a_curettage_named_in_a_resection_note_is_not_its_margin(checker):
    # An earlier treatment and the option set aside: the margins of today's resection are its own.
    ind = ("INDICATIONS: Giant cell tumor of the right distal femur, recurrent after two intralesional procedures "
           "elsewhere. A third curettage is no longer appropriate. Preoperative MRI of the right femur was reviewed. "
           "We discussed limb salvage versus above-knee amputation and informed consent was obtained.")
    report = checker.check(note(ind=ind))
    assert present_attrs(report, "margin", "intent") == {"radical", "wide"}
    assert report.case.operation.value == "radical_resection"


@pytest.mark.parametrize("said", ["A CT-guided core biopsy in March showed osteosarcoma.", "A core needle biopsy under CT showed osteosarcoma."])
def test_a_modality_that_guided_the_biopsy_is_no_planning_study(checker, said):
    # The CT guided a needle; it is not imaging the resection was planned on.
    ind = "INDICATIONS: " + said + " We discussed limb salvage versus above-knee amputation and informed consent was obtained."
    report = checker.check(note(ind=ind))
    assert {f.attributes.get("timing") for f in report.findings if f.kind == "imaging"} == {"guidance"}
    assert item_status(checker, note(ind=ind), "preop_imaging") != "met"


@pytest.mark.parametrize("said", [
    "Staging (CT chest and bone scan) has been ordered for this week.",
    "Staging will be completed by a chest CT after the histological diagnosis.",
])
def test_imaging_ordered_for_later_is_no_planning_study(checker, said):
    ind = ("INDICATIONS: MRI of the right femur showed an 8 cm lesion. " + said +
           " We discussed limb salvage versus above-knee amputation and informed consent was obtained.")
    report = checker.check(note(ind=ind))
    planning = {f.attributes.get("modality") for f in report.findings
                if f.kind == "imaging" and f.assertion in ("present", "historical") and f.attributes.get("timing") is None}
    assert planning == {"mri"}


def test_a_frozen_recycled_autograft_is_no_frozen_section(checker):
    desc = PARTS["desc"].replace(" A cemented distal femoral replacement was implanted.",
                                 " The options of a frozen recycled autograft or an endoprosthesis had been discussed; "
                                 "a cemented distal femoral replacement was implanted.")
    report = checker.check(note(desc=desc))
    assert [f.text for f in report.findings if f.kind == "frozen_section"] == ["Frozen section"]


@pytest.mark.parametrize("method", ["with high-speed burr, phenol and argon beam adjuvants; PMMA cementation",
                                    "using a power burr and phenol; cement", "by extended curettage and burr; cement"])
def test_an_excision_done_with_a_burr_or_a_cavity_adjuvant_is_intralesional(checker, method):
    # "Excision" of a bone tumor names no margin; the method in the same line says what was done.
    text = note(pre="PREOPERATIVE DIAGNOSIS: Giant cell tumor of bone, right distal femur.",
                proc=f"PROCEDURE: Excision of right distal femur giant cell tumor {method}.",
                desc=("DESCRIPTION OF PROCEDURE: Through a lateral cortical window the tumor was removed by extended "
                      "intralesional curettage and the cavity burred, treated with phenol and filled with cement."))
    assert checker.check(text).case.operation.value == "intralesional"


def test_a_resection_with_its_segment_recycled_in_liquid_nitrogen_stays_a_resection(checker):
    text = note(proc=("PROCEDURE: Resection of the right distal femur with liquid nitrogen recycling of the "
                      "tumor-bearing segment and plate fixation."))
    assert checker.check(text).case.operation.value == "radical_resection"


_NO_RECON_DESC = PARTS["desc"].replace(" A cemented distal femoral replacement was implanted.", "")


def test_a_terse_recon_heading_heads_the_reconstruction(checker):
    # "Recon:" is the reconstruction's heading in a terse note: the components listed under it count.
    text = note(proc="PROCEDURE: Radical resection of the right distal femur with endoprosthetic reconstruction.",
                ind=PARTS["ind"] + "\n\nRecon:\n- DFR: 110 mm body segment, 13 x 125 cemented stem, hinged tibial component",
                desc=_NO_RECON_DESC)
    assert item_status(checker, text, "reconstruction") == "met"


def test_modular_is_no_component_of_a_reconstruction(checker):
    # "Modular tumour prosthesis implanted in the usual manner": the system is named, no part of it.
    text = note(proc="PROCEDURE: Radical resection of the right distal femur, reconstruction with a modular tumour prosthesis.",
                desc=_NO_RECON_DESC, path=PARTS["path"] + ("\n\nRECONSTRUCTION: Modular tumour prosthesis implanted in the usual "
                                                            "manner. Component references on the implant record."))
    assert item_status(checker, text, "reconstruction") == "partial"


@pytest.mark.parametrize("margins", ["extra-compartmental margins", "extracompartmental margin"])
def test_an_extracompartmental_margin_is_a_radical_one(checker, margins):
    text = note(proc=f"PROCEDURE: Resection of the right distal femur tumor with {margins}; distal femoral replacement.",
                desc=PARTS["desc"].replace("The tumor was resected en bloc with a wide margin. ", ""))
    report = checker.check(text)
    assert present_attrs(report, "margin", "intent") == {"radical"}
    assert item_status(checker, text, "margin_intent") == "met"


@pytest.mark.parametrize(("line", "status"), [
    ("TRANS-OPERATIVE BIOPSY (estudio por congelacion): N/A", "missing"),   # a blank field, a remark before its colon
    ("Frozen section (congelacion): N/A", "missing"),
    ("Trans-operative biopsy: negative for tumor at the marrow margin", "met"),  # the Latin American name, hyphenated
    ("FROZEN SECTION (see below):\nMarrow margin negative for tumor.", "met"),   # a remark, and the result after it
])
def test_a_frozen_field_with_a_remark_before_its_colon(checker, line, status):
    for text in as_typed_and_in_capitals(note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\n" + line)):
        assert item_status(checker, text, "frozen_section") == status


@pytest.mark.parametrize("proc", ["Left femur - intramedullary stabilization with reamed cephalomedullary nail (long), locked",
                                  "Intramedullary fixation of the left femur with a long locked nail"])
def test_an_intramedullary_stabilization_of_a_metastasis_is_a_prophylactic_fixation(checker, proc):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Metastatic breast carcinoma to the left femoral shaft, impending fracture.",
                proc=f"PROCEDURE: {proc}.",
                desc="DESCRIPTION OF PROCEDURE: The canal was reamed and a long nail was passed and locked proximally and distally.")
    report = checker.check(text)
    assert report.case.operation.value == "prophylactic_fixation"
    assert report.verdict == "not_supported"


@pytest.mark.parametrize(("said", "status"), [
    ("Frozen section: deliberately not sent. Freezing compromises the tissue for the molecular and cytogenetic "
     "studies this case depends on; everything went fresh to pathology.", "met"),
    ("No frozen section was sent; the tissue was needed for molecular studies.", "met"),
    ("Frozen section: not sent.", "partial"),  # no reason
])
def test_tissue_kept_fresh_for_molecular_studies_is_a_reason_for_no_frozen_section(checker, said, status):
    text = note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\n" + said)
    assert item_status(checker, text, "frozen_section") == status


def test_a_reconstruction_named_only_where_the_case_is_discussed_was_not_done(checker):
    # Rotationplasty weighed in the indications and declined in the consent: no reconstruction of
    # this operation; the distal femoral replacement the procedure line names still is.
    text = note(ind=("INDICATIONS: Biopsy-proven osteosarcoma. Preoperative MRI of the right femur was reviewed for planning. "
                     "She met our rotationplasty patient mentor and watched the videos.\n\n"
                     "CONSENT: We discussed removal of the osteosarcoma with limb salvage by a distal femoral replacement versus "
                     "above-knee amputation, and revisited rotationplasty, which she again declined. Signed."))
    kinds = present_attrs(checker.check(text), "reconstruction", "kind")
    assert "rotationplasty" not in kinds
    assert "endoprosthesis" in kinds


def test_a_frozen_section_awaited_during_the_operation_is_not_pending_once_its_result_is_told(checker):
    desc = PARTS["desc"] + " While awaiting the frozen result, the tibia was prepared."
    assert present_attrs(checker.check(note(desc=desc)), "frozen_section", "result") == {"negative"}
    # with no result told anywhere, it is still pending
    pending = _NO_FROZEN_DESC + " While awaiting the frozen result, the tibia was prepared."
    assert present_attrs(checker.check(note(desc=pending)), "frozen_section", "result") == {"pending"}


@pytest.mark.parametrize(("said", "results"), [
    # a histology after a negation is what the result is negative for
    ("Frozen section of the deep periosteal margin: negative for sarcoma (closest margin 1 mm per the frozen report).", {"negative"}),
    # no sign of infection or tumor is a negative result
    ("Stem and body replaced; no sign of infection on frozen section.", {"negative"}),
    # a result confirmed with the pathologist is not a positive one
    ("Frozen section of the marrow margin: negative. The frozen section result above was confirmed with the pathologist by phone.", {"negative"}),
    # a malignancy found, its typing left to the permanents: positive
    ("Frozen section: positive for malignant spindle cell neoplasm producing osteoid, final diagnosis deferred to permanents.", {"positive"}),
    # no frozen-section facility: not performed
    ("Frozen section: Facility not available in this hospital; diagnosis already confirmed on core biopsy.", {"not_performed"}),
])
def test_what_a_frozen_section_found(checker, said, results):
    text = note(desc=_NO_FROZEN_DESC, path=PARTS["path"] + "\n\n" + said)
    assert present_attrs(checker.check(text), "frozen_section", "result") - {"unknown"} == results


def test_a_frozen_field_that_points_to_the_body_takes_its_result_from_there(checker):
    text = note(desc=_NO_FROZEN_DESC + " The marrow margin frozen section was negative.",
                proc=PARTS["proc"] + "\nFROZEN SECTION: see body of note",
                ind="HISTORY this is a 19 year old woman with high grade osteosarcoma. " + PARTS["ind"].split(": ", 1)[1])
    assert present_attrs(checker.check(text), "frozen_section", "result") - {"unknown"} == {"negative"}


_NO_LENGTH_DESC = PARTS["desc"].replace(" The femur was osteotomized 15 cm from the joint line.", "")


@pytest.mark.parametrize(("said", "status"), [
    ("MRI: 6.2 x 5.0 x 4.5 cm, contained, cortex thin but intact.", "partial"),       # imaging measures the tumor
    ("MRI left femur: recurrence 11 x 9 x 8 cm wrapping the prosthetic body.", "partial"),
    ("X-ray right femur: lytic lesion in proximal diaphysis 4.5 cm long with more than 50% cortical destruction.", "partial"),
    ("CT chest: two indeterminate 4 mm nodules, to be followed.", "missing"),          # staging nodules are no tumor size
    ("Osteotomy level planned from the MRI at 14 cm above the joint line.", "met"),    # a cut planned on imaging is the resection
])
def test_sizes_told_with_imaging(checker, said, status):
    ind = PARTS["ind"].replace("were reviewed for planning.", "were reviewed for planning. " + said)
    text = note(ind=ind, desc=_NO_LENGTH_DESC)
    assert item_status(checker, text, "resection_dimensions") == status


@pytest.mark.parametrize("said", [
    "The tumour was removed together with 15 cm of the femur.",
    "The proximal 14 cm of the right femur, including the lesion, was resected.",
    "The femur was divided 160 mm above the joint line.",
    "The femur was resected en bloc, including the old cement, the soft-tissue extension and 13 cm of bone.",
    "Specimen (skin, femur and soft-tissue mass) measured 19.5 x 6.0 x 4.5 cm.",  # the specimen, not the mass
])
def test_a_length_of_bone_taken_or_a_specimen_measured_is_a_resection_dimension(checker, said):
    text = note(desc=_NO_LENGTH_DESC.replace("The tumor was resected en bloc with a wide margin.", "The tumor was resected en bloc with a wide margin. " + said))
    assert item_status(checker, text, "resection_dimensions") == "met"


@pytest.mark.parametrize("said", ["MRI showed tumor involving 12 cm of the femur.", "Specimen: distal femur with the tumor measuring 8 x 6 x 5 cm."])
def test_a_tumor_told_with_bone_words_is_still_its_size(checker, said):
    text = note(desc=_NO_LENGTH_DESC.replace("The tumor was resected en bloc with a wide margin.", "The tumor was resected en bloc with a wide margin. " + said))
    assert item_status(checker, text, "resection_dimensions") == "partial"


@pytest.mark.parametrize(("line", "status"), [
    ("Specimen to path, perms.", "met"),
    ("Specimen -> pathology (margin evaluation)", "met"),
    ("Specimen handed to the scrub nurse.", "partial"),  # sent nowhere
])
def test_a_terse_line_sending_the_specimen_to_the_laboratory(checker, line, status):
    text = note(path=line)
    assert item_status(checker, text, "pathology") == status
    # the same with every line of the note joined into one
    assert item_status(checker, " ".join(text.split()) + "\n", "pathology") == status


def test_a_fracture_fixation_is_the_reconstruction_of_its_operation(checker):
    # No tumor resected: the plate that fixes the fracture is what this operation reconstructs with.
    text = ("PREOPERATIVE DIAGNOSIS: Closed fracture of the right distal femur after a fall.\n\n"
            "PROCEDURE: Open reduction and internal fixation of the right distal femur with a lateral locking plate.\n\n"
            "DESCRIPTION OF PROCEDURE: The fracture was reduced and fixed with a 13-hole lateral locking plate, "
            "four locking screws proximally and five distally.\n")
    assert item_status(checker, text, "reconstruction") == "met"


def test_a_word_hyphenated_at_a_line_end_is_one_word_also_when_the_lines_are_joined(checker):
    text = note(proc="PROCEDURE: Radical resection for right proximal femur chondrosarcoma: right hip disarticu-\nlation with posterior gluteal flap closure.")
    for version in (text, " ".join(text.split()) + "\n", text.upper()):
        report = checker.check(version)
        assert report.case.operation.value == "disarticulation"
        assert report.verdict == "not_supported"
    assert "well- known" in canonical("A well- known complication.").text  # mid-line, only a known word is joined


def test_a_prophylactic_nail_with_its_size_and_locking_told_is_documented_with_its_components(checker):
    text = note(pre="PREOPERATIVE DIAGNOSIS: Metastatic breast carcinoma, right femoral shaft, impending fracture.",
                proc="PROCEDURE: 1) Open biopsy of the right proximal femur lesion. 2) Prophylactic cephalomedullary nailing of the right femur (long).",
                desc=("DESCRIPTION OF PROCEDURE: Tissue was taken through a cortical window. Guidewire from the trochanteric tip, reamed to "
                      "12.5 mm. TFNA 11 x 380 mm placed; 100 mm helical blade into the head; one distal static interlock."))
    assert checker.check(text).case.operation.value == "prophylactic_fixation"
    assert item_status(checker, text, "reconstruction") == "met"


@pytest.mark.parametrize("said", [
    "The patient was informed in detail about the operation and its complications and agreed in writing.",
    "We discussed removal of the bone sarcoma and amputation as the alternative; he agreed to limb salvage surgery and signed.",
])
def test_agreeing_and_signing_is_a_consent(checker, said):
    ind = PARTS["ind"].replace(" We discussed limb salvage versus above-knee amputation, the malignant nature of the tumor "
                               "and the risk of local recurrence, and informed consent was obtained.", "")
    text = note(ind=ind + "\n\n" + said)
    assert item_status(checker, text, "informed_consent") != "missing"


_NO_MARGIN_DESC = PARTS["desc"].replace("The tumor was resected en bloc with a wide margin. ", "The tumor was resected. ")


@pytest.mark.parametrize("field", [
    "Surgical margin (Enneking):       Wide - level through the knee joint, 6 cm proximal to the tumor.",
    "Surgical margin\n(Enneking):       Wide - femoral transection 7 cm above the tumor.",
])
def test_a_margin_field_with_a_remark_before_its_colon(checker, field):
    text = note(proc="PROCEDURE: Resection of the right distal femur with distal femoral replacement.\n" + field, desc=_NO_MARGIN_DESC)
    assert present_attrs(checker.check(text), "margin", "intent") == {"wide"}
    assert item_status(checker, text, "margin_intent") == "met"


def test_a_margin_field_of_a_form_is_this_operations_margin(checker):
    # under an imaging heading with no heading of its own before it, the field still tells the operation
    field = "Margin intent .... [ ] Intralesional  [ ] Marginal  [x] Wide  [ ] Radical"
    ind = PARTS["ind"] + "\n\nImaging: MRI of the right femur 02/2025.\n" + field
    text = note(ind=ind, desc=_NO_MARGIN_DESC, proc="PROCEDURE: Resection of the right distal femur with distal femoral replacement.")
    assert present_attrs(checker.check(text), "margin", "intent") == {"wide"}
    assert item_status(checker, text, "margin_intent") == "met"


def test_a_wide_margin_in_a_curettage_note_is_not_its_margin(checker):
    # the resection weighed in the consent, or a template's default, is not what a curettage did
    text = note(pre="PREOPERATIVE DIAGNOSIS: Giant cell tumor of bone, right distal femur.",
                proc="PROCEDURE: Extended curettage of right distal femur giant cell tumor, phenol, cementation.\nMargin intent: Wide",
                ind=("INDICATIONS: Biopsy-proven giant cell tumor. MRI of the right femur was reviewed for planning. We discussed "
                     "extended curettage versus wide resection with an endoprosthesis; she chose curettage and signed consent."),
                desc="DESCRIPTION OF PROCEDURE: Through a lateral window the tumor was curetted, burred and the cavity filled with cement.")
    report = checker.check(text)
    assert report.case.operation.value == "intralesional"
    assert present_attrs(report, "margin", "intent") == {"intralesional"}
    assert item_status(checker, text, "margin_intent") == "partial"
