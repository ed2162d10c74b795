"""The canonical text the rules read, and its map back to the note as read."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from opnote.normalize import canonical

PIECES = [
    "tumour", "Tumor", "  ", " ", "\t", "\u00a0", "\r\n", "\n", "\n\n\n", "\u2013", "\u2014", "\u201c", "\u201d", "\u2019",
    "en bloc", "in  bloc", "m r i", "osteo to me", "PROCEDURE", "Procedure Performed", ":", " colon ", "II. ", "1) ",
    "distal femur", "16 cm", "1\u00b75", "\u00d7", "\u200b", "\ufeff", "haemostasis", "l distal femur", "Operation(s)", ".", ", ",
    "Frozen section", "negative", "x", "FINDINGS", "Findings", "the", "was", "resected",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=0, max_size=40))
def test_normalize_offset_map_stays_in_bounds_and_in_order(pieces):
    text = "".join(pieces)
    c = canonical(text)
    n = len(c.text)
    points = sorted({0, n, *range(0, n, 3)})
    last = (0, 0)
    for i in points:
        for j in (i, min(n, i + 1), min(n, i + 7), n):
            a, b = c.to_original(i, j)
            assert 0 <= a <= b <= len(text)
        a, b = c.to_original(i, n)
        assert a >= last[0]  # starts never go backwards
        last = (a, b)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=30))
@example(["\u00d7", "\u00d7", "\u00d7"])
def test_normalize_words_map_to_the_words_they_came_from(pieces):
    text = "".join(pieces)
    c = canonical(text)
    for m in re.finditer(r"[A-Za-z]{3,}", c.text):
        a, b = c.to_original(m.start(), m.end())
        original = text[a:b]
        # a word maps to a stretch that holds letters too (its own, or the variant it
        # replaced: the multiplication sign is read as the letter x)
        assert re.search(r"[A-Za-z\u00d7]", original), (m.group(0), original)


def test_normalize_plain_text_changes_nothing_but_the_leading_line_break():
    text = "Radical resection of the right distal femur.\nFrozen section negative.\n"
    c = canonical(text)
    assert c.text == "\n" + text
    assert c.to_original(1, 8) == (0, 7) and text[0:7] == "Radical"


@pytest.mark.parametrize(("raw", "canon"), [
    ("The tumour was excised in  bloc", "The tumor was excised en bloc"),
    ("m r i of the\u00a0femur", "MRI of the femur"),
    ("osteo to me at 14 centimetres", "osteotomy at 14 centimeters"),
    ("margins where negative", "margins were negative"),
    ("a 1\u00b75 cm margin \u2013 clear", "a 1.5 cm margin - clear"),
    ("l distal femur", "L distal femur"),
    ("Rt. distal femur", "Right distal femur"),
    ("LT knee", "LEFT knee"),
    ("Laterality: Lt", "Laterality: Left"),
    ("RT to the thigh was given", "RT to the thigh was given"),
])
def test_normalize_rewrites_spelling_dictation_and_typography(raw, canon):
    assert canonical(raw).text.strip() == canon


@pytest.mark.parametrize(("raw", "expected_lines"), [
    ("Procedure Performed\nRadical resection", ["Procedure Performed:", "Radical resection"]),
    ("II. PROCEDURE: Radical resection", ["PROCEDURE: Radical resection"]),
    ("procedure colon radical resection period", ["procedure: radical resection period"]),
    ("Same. PROCEDURE: Radical resection.", ["Same. ", "PROCEDURE: Radical resection."]),
    ("We explained it. Operation: scraping out the lesion.", ["We explained it. Operation: scraping out the lesion."]),
])
def test_normalize_gives_every_heading_a_line_and_a_colon(raw, expected_lines):
    assert canonical(raw).text.strip("\n").split("\n") == expected_lines


def test_normalize_evidence_indexes_the_original_after_a_check(checker):
    text = "PREOPERATIVE  DIAGNOSIS:\tOsteosarcoma of the right\u00a0distal femur.\r\n\r\nPROCEDURE:  Radical resection, in  bloc.\r\n"
    report = checker.check(text)
    spans = [(f.start, f.end, f.text) for f in report.findings]
    spans += [(e.start, e.end, e.text) for i in report.checklist for e in i.evidence]
    assert spans and all(text[s:e] == t for s, e, t in spans)
    assert report.case.side.value == "right"


@pytest.mark.parametrize(
    "text",
    [
        "Resection length 15 CM x 4 mm; specimen 12 x 6.5 x 5 cm.",
        "RESECTED SEGMENT MEASURED ONE HUNDRED AND FORTY MILLIMETRES PERIOD",
        "a 14-cm segment, \u017fixteen cm, 3 \u212am",  # long s and the Kelvin sign fold to s and k
        "İstanbul 5 cm",  # lower-casing changes the length
    ],
)
def test_dimensions_found_in_the_lower_cased_note_are_the_case_insensitive_ones(text):
    from opnote._regex import finditer_folded, fold
    from opnote.components import measurements as m

    expected = [(x.span(), x.groups()) for x in m.DIM_RE.finditer(text)]
    got = [(x.span(), x.groups()) for x in finditer_folded(m.DIM_RE, m._DIM_FOLDED, text, fold(text))]
    assert got == expected


def test_a_heading_parted_from_its_value_by_spaces_or_a_tab_is_a_field():
    text = canonical("Procedure    Extended intralesional curettage\nConsent\tWe discussed curettage\nProcedure Extended one").text
    assert text.strip("\n").split("\n") == ["Procedure: Extended intralesional curettage", "Consent: We discussed curettage", "Procedure Extended one"]


def test_a_printed_page_break_inside_a_sentence_is_taken_out():
    raw = ("Frozen section of the femoral marrow margin was reported as\n\n" + "-" * 60 + "\n"
           "ST ALDRIC HOSPITAL    CONFIDENTIAL    Page 1 of 3\n" + "-" * 60 + "\n\n"
           "negative for tumour - no atypical cells seen.\n")
    c = canonical(raw)
    assert "reported as negative for tumor" in c.text and "Page" not in c.text


def test_a_page_break_with_a_running_header_is_taken_out_when_the_lines_are_joined():
    # Joined, the footer's and the running header's column gaps split them into short lines in
    # capitals; the sentence the break cut still goes on.
    raw = ("Osteotomy made 17 cm above the joint line, specimen 170 mm long. Frozen section of the femoral marrow margin was reported by Dr Q. Lindqvist as\n\n"
           + "-" * 60 + "\nST ALDRIC HOSPITAL        CONFIDENTIAL        Page 1 of 3\n" + "-" * 60 + "\n"
           "ST ALDRIC HOSPITAL  -  Operative Note (continued)  DRUMMOND-ASARE L  SA-2270018\n\n"
           "negative for tumour - no atypical cells seen.\n\nReconstruction  Canal reamed to 15 mm, distal femoral replacement cemented.\n")
    joined = re.sub(r"[ \t]*\n[ \t]*", " ", raw).strip() + "\n"
    for version in (raw, joined):
        c = canonical(version)
        assert "Lindqvist as negative for tumor" in c.text and "Page" not in c.text and "SA-2270018" not in c.text
    # a separator rule as long as a printed page is wide (99 characters) is still part of the break
    wide = raw.replace("-" * 60, "-" * 99)
    c = canonical(re.sub(r"[ \t]*\n[ \t]*", " ", wide).strip() + "\n")
    assert "Lindqvist as negative for tumor" in c.text and "Page" not in c.text


def test_a_note_in_one_paragraph_with_a_page_banner_inside_it_keeps_its_text(checker):
    # A note converted to one paragraph: its only line holds the page banner, and is no page line.
    from notes import note

    one_line = " ".join(note().split())
    cut = one_line.index("Frozen section")
    text = one_line[:cut] + "Page 2 of 3 ST ALDRIC HOSPITAL DRUMMOND-ASARE L MRN 2270018 CONFIDENTIAL - contains PHI " + one_line[cut:] + "\n"
    assert "osteosarcoma of the right distal femur" in canonical(text).text
    report = checker.check(text)
    assert report.case.operation.value == "radical_resection"
    assert {i.id: i.status for i in report.checklist}["tumor_location"] == "met"


def test_scanned_words_are_repaired_to_words_of_the_rules():
    c = canonical("Pre op diagnosis: Grade 2 chondrosarcorna 1eft distal femur, no turnour in the canal. Turn the leg.")
    assert "chondrosarcoma left distal femur, no tumor in the canal. Turn the leg." in c.text
    s = c.text.index("left")
    assert c.original[slice(*c.to_original(s, s + 4))] == "1eft"


def test_a_word_hyphenated_at_a_line_end_is_joined():
    assert "distal femoral component medium" in canonical("Modular distal femoral compo-\nnent medium.").text


def test_the_rule_files_word_lists_name_each_word_once():
    # A word listed twice is harmless to the matcher but hides a list edited in two places.
    import json
    from collections import Counter
    from importlib import resources

    def repeated(words):
        return [w for w, n in Counter(w.lower() for w in words if isinstance(w, str)).items() if n > 1]

    rules = resources.files("opnote") / "rules"
    norm = json.loads((rules / "normalize.json").read_text(encoding="utf-8"))
    found = {k: repeated(v) for k, v in norm.items() if isinstance(v, list)}
    targets = json.loads((rules / "targets.json").read_text(encoding="utf-8"))
    found |= {g["id"]: repeated(g.get("phrases", [])) for g in targets["groups"]}
    assert {k: v for k, v in found.items() if v} == {}
