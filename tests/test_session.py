"""Live sessions: every update returns exactly what a full check of the same text returns.

``Checker.session().update(text)`` reuses the tokens, target matches and dimensions of the parts
of a note that did not change (``opnote.incremental``); these tests replay notes being written,
edited in the middle, cut and pasted, and compare every step with ``Checker.check`` as JSON,
byte for byte. Only ``sample_notes/dev`` is read.

``OPNOTE_FUZZ_SCALE=20`` multiplies the number of random edit sequences.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opnote.errors import CodeError, EmptyNoteError, InputError, NoteTooLargeError, NotTextError, RuleFileError, SessionClosedError
from opnote.incremental import IncrementalPipeline, plan_for
from opnote.normalize import canonical

ROOT = Path(__file__).resolve().parents[1]
DEV = sorted((ROOT / "sample_notes" / "dev").glob("*.txt"))
NOTES = [p.read_text(encoding="utf-8") for p in DEV]
SCALE = float(os.environ.get("OPNOTE_FUZZ_SCALE", "1"))
SENTENCES = sorted({s.strip() for t in NOTES for s in re.split(r"(?<=[.!?])\s+|\n+", t) if len(s.split()) >= 3})
WORDS = sorted({w for t in NOTES for w in re.findall(r"\w+|[^\w\s]", t)})
# Text that reads across the places where the note is cut into pieces: a margin phrase, a
# dimension and a special case of the tokenizer broken over a line or a sentence end, an
# abbreviation defined after its use, a heading dictated mid-line.
ACROSS = [
    "wide\n\nresection", "radical.\nExcision", "12\ncm", "twelve\n\ncentimeters", "12 x\n6 x 5 cm", "Ph. D.", "o. O",
    "e. g. The", "distal femoral replacement (DFR)", " DFR ", "\nFROZEN SECTION:\n", " period procedure colon ", "( ",
    "gastrocnemius\nflap was\nrotated", "Cannot", "n't", "\n\n\n", "   ", "\t", "left\n", "R distal femur",
]


def same(session, checker, text: str, **kw: object) -> None:
    """``session.update(text)`` and ``checker.check(text, **kw)``: the same JSON, or the same error."""
    try:
        expected = checker.check(text, **kw).model_dump_json()
    except InputError as e:
        with pytest.raises(type(e)) as got:
            session.update(text)
        assert str(got.value) == str(e)
        return
    assert session.update(text).model_dump_json() == expected


# ---------------------------------------------------------------------------- random edits
@st.composite
def edits(draw) -> tuple[str, list[str]]:
    """A dev note and the texts it goes through under 1-8 random edits."""
    text = draw(st.sampled_from(NOTES))
    versions = []
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["append", "insert", "delete", "word", "paste", "cut", "lines", "across"]))
        at = draw(st.integers(0, len(text)))
        if op == "append":
            text += draw(st.sampled_from([" ", "\n", "\n\n", ""])) + draw(st.sampled_from(SENTENCES))
        elif op == "insert":
            text = text[:at] + draw(st.sampled_from(SENTENCES + WORDS)) + draw(st.sampled_from([" ", "", "\n"])) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 300)):]
        elif op == "word":
            m = re.compile(r"\w+").search(text, at)
            if m:
                text = text[:m.start()] + draw(st.sampled_from(WORDS)) + text[m.end():]
        elif op == "paste":
            other = draw(st.sampled_from(NOTES))
            start = draw(st.integers(0, len(other)))
            text = text[:at] + other[start:start + draw(st.integers(1, 800))] + text[at:]
        elif op == "cut":
            text = text[:at]
        elif op == "lines":
            text = text[:at] + text[at:].replace("\n", " ", 1) if draw(st.booleans()) else text[:at] + text[at:].replace(" ", "\n", 1)
        else:
            text = text[:at] + draw(st.sampled_from(ACROSS)) + text[at:]
        versions.append(text)
    return versions[0], versions


@pytest.mark.slow
@settings(
    max_examples=max(1, int(60 * SCALE)),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(case=edits())
def test_random_edit_sequences_give_the_full_check_at_every_step(checker, case):
    _, versions = case
    with checker.session() as session:
        for text in versions:
            same(session, checker, text)


# ------------------------------------------------------------------- a note being dictated
def sentences(text: str) -> list[str]:
    """The note cut after each sentence or line, keeping every character."""
    return [m.group(0) for m in re.finditer(r".+?(?:(?:[.!?]|\bperiod\b)(?=\s)|\n|$)\s*", text, re.S) if m.group(0)]


@pytest.mark.slow
@pytest.mark.parametrize("path", DEV[::12], ids=lambda p: p.stem)
def test_a_note_dictated_sentence_by_sentence(checker, path):
    text = path.read_text(encoding="utf-8")
    parts = sentences(text)
    assert "".join(parts) == text and len(parts) > 10
    with checker.session(icd10=["C40.21"], source=path.name) as session:
        so_far = ""
        for part in parts:
            so_far += part
            if so_far.strip():
                assert session.update(so_far).model_dump_json() == checker.check(so_far, ["C40.21"], source=path.name).model_dump_json()


def test_a_long_note_reuses_what_did_not_change(checker):
    """A 2,000-word note: an appended sentence is the only new piece; a word corrected mid-note,
    a sentence deleted and a paragraph pasted redo only the lines they touch."""
    note = "\n\n".join(NOTES[i] for i in range(6))
    assert len(note.split()) > 2000
    with checker.session() as session:
        same(session, checker, note)
        assert session.stats.chunks > 100 and session.stats.chunks_new == session.stats.chunks
        pasted = NOTES[7][:1500]
        steps = [  # (text, at most this many new lines, new chunks)
            (note + " The wound was closed in layers.", 1, 2),
            (note.replace("distal femur", "distal femur ", 1), 1, 2),
            (note.replace(SENTENCES[5], "", 1), 2, 3),
            (note[:4000] + pasted + note[4000:], pasted.count("\n") + 2, len(sentences(pasted)) + 3),
        ]
        for text, lines, chunks in steps:
            same(session, checker, text)
            assert session.stats.lines_new <= lines and session.stats.chunks_new <= chunks, session.stats
            assert not session.stats.whole


# ------------------------------------------------------------- each reused part, on its own
@pytest.mark.parametrize("text", [NOTES[0] + x + NOTES[1] for x in ACROSS], ids=range(len(ACROSS)))
def test_reused_parts_equal_a_full_run(nlp, text):
    """Tokens, sentence starts, candidates (with their ConText assertions) and findings of the
    incremental pipeline against ``nlp(text)``, where the text is cut across a line or sentence."""
    ctext = canonical(text).text
    full, inc = nlp(ctext), IncrementalPipeline(nlp).process(ctext)
    attrs = ["ORTH", "NORM", "SPACY", "SENT_START"]
    assert (full.to_array(attrs) == inc.to_array(attrs)).all()
    cands = lambda d: [(s.start, s.end, s.label_, s.id_, s._.is_negated) for s in d.spans["opnote_candidates"]]  # noqa: E731
    assert cands(full) == cands(inc)
    assert full._.opnote_findings == inc._.opnote_findings and full._.opnote_cues == inc._.opnote_cues


def test_a_target_across_a_cut_is_found_in_the_window_around_it(nlp):
    inc = IncrementalPipeline(nlp)
    text = canonical("INDICATIONS: Osteosarcoma of the left distal femur.\n\nThe tumor was resected with a wide\n\nresection of the femur.\n").text
    doc = inc.process(text)
    margins = [s.text for s in doc.spans["opnote_candidates"] if s.label_ == "MARGIN"]
    assert "wide\n\nresection" in margins and inc.stats.windows_new > 0
    full = nlp(text)
    assert [(s.start, s.end, s.label_) for s in doc.spans["opnote_candidates"]] == [(s.start, s.end, s.label_) for s in full.spans["opnote_candidates"]]


def test_a_dimension_across_a_line_end_is_found_over_the_whole_note(nlp):
    inc = IncrementalPipeline(nlp)
    text = canonical("PROCEDURE: Radical resection.\nThe specimen measured 12 x\n6 x 5 cm.\n").text
    doc = inc.process(text)
    assert inc.stats.dims_whole
    assert [s.text for s in doc.spans["opnote_candidates"] if s.label_ == "DIMENSION"] == ["12 x\n6 x 5 cm"]


def test_the_reuse_plan_of_the_opnote_pipeline(nlp):
    plan = plan_for(nlp)
    assert plan is not None and plan.ruler is not None and plan.measurements is not None
    assert plan.width >= 12  # "gastrocnemius ... (up to 10 tokens) ... rotated"
    assert plan.sentence_cuts  # no special case of the English tokenizer runs across ". The"


@pytest.mark.slow
def test_a_pipeline_it_does_not_know_runs_whole_and_still_agrees():
    from opnote.pipeline import build_nlp

    nlp = build_nlp()
    nlp.add_pipe("sentencizer", name="extra", first=True)
    assert plan_for(nlp) is None
    inc = IncrementalPipeline(nlp)
    doc = inc.process(canonical(NOTES[3]).text)
    assert inc.stats.whole and doc._.opnote_findings == nlp(canonical(NOTES[3]).text)._.opnote_findings


# ------------------------------------------------------------------------- the session API
def test_errors_are_those_of_check(checker):
    with checker.session(source="dictation") as session:
        for bad in ("", "  \n\t", "Left femur.\x00"):
            with pytest.raises(InputError) as got:
                session.update(bad)
            with pytest.raises(InputError) as want:
                checker.check(bad, source="dictation")
            assert str(got.value) == str(want.value) and type(got.value) is type(want.value)
        with pytest.raises(NotTextError):
            session.update(b"Left distal femur osteosarcoma.")  # type: ignore[arg-type]
        same(session, checker, NOTES[2], source="dictation")  # a failed update changes nothing
    small = type(checker)(max_bytes=100)
    with small.session() as session, pytest.raises(NoteTooLargeError, match="over the limit of 100"):
        session.update("x" * 101)
    with pytest.raises(CodeError):
        checker.session(icd10=["NOT A CODE"])
    with pytest.raises(RuleFileError):
        checker.session(code="99999")
    with pytest.raises(EmptyNoteError):
        checker.session().update("")


def test_codes_and_source_are_those_of_the_session(checker):
    text = NOTES[4]
    with checker.session(code="27645", icd10=["C40.22"], source="n.txt") as session:
        got = session.update(text)
    want = checker.check(text, ["C40.22"], code="27645", source="n.txt")
    assert got.model_dump_json() == want.model_dump_json() and got.code == "27645" and got.source == "n.txt"


def test_the_same_text_twice_and_a_report_changed_by_the_caller(checker):
    with checker.session() as session:
        first = session.update(NOTES[5])
        first.checklist.clear()  # the caller's copy: the session's is not touched
        again = session.update(NOTES[5])
        assert again.model_dump_json() == checker.check(NOTES[5]).model_dump_json()


def test_a_closed_session_holds_no_text(checker):
    marker = "Quillon Marchbanks-Ytterby"
    session = checker.session()
    session.update(NOTES[6] + f"\nThe patient {marker} was seen.")
    session.close()
    assert session.closed
    with pytest.raises(SessionClosedError, match="E501"):
        session.update(NOTES[6])
    seen, stack = set(), list(vars(session).values())
    while stack:  # every value the session still holds, through containers and plain objects
        obj = stack.pop()
        if id(obj) in seen or obj is checker:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            assert marker not in obj
        elif isinstance(obj, dict):
            stack += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack += list(vars(obj).values())


def test_a_session_can_be_shared_by_threads(checker):
    from concurrent.futures import ThreadPoolExecutor

    texts = [NOTES[8][:n] for n in range(400, len(NOTES[8]), 400)]
    with checker.session() as session, ThreadPoolExecutor(4) as pool:
        got = list(pool.map(session.update, texts))
    assert [r.model_dump_json() for r in got] == [checker.check(t).model_dump_json() for t in texts]
