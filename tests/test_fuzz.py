"""Property-based tests: whatever the text, the checker answers with a valid, stable report.

For arbitrary Unicode, soups of note words and control characters, sample notes with random
edits (deleted lines, duplicated sections, injected control characters, very long lines) and
notes followed by 10,000 repetitions of one token, every check must:

* return a Report, or raise the documented InputError (empty / white-space-only / NUL text);
* give evidence and finding offsets that index the text: ``text[start:end] == evidence.text``;
* produce JSON that validates against ``opnote schema`` (``report_json_schema()``);
* produce byte-identical JSON when the same text is checked again.

Sizes are set so this file runs in about a minute on a 2-core machine. ``OPNOTE_FUZZ_SCALE=20``
multiplies every ``max_examples`` for a longer session; with ``CI`` set the runs are derandomized
(the same examples each time).

Known speed limits shape the sizes (they are speed problems, reported separately, not hidden):

* 10,000 repetitions of a ConText trigger ("no", "not", "if", ...) or of a frozen-section or
  imaging term take minutes (medspaCy's ConText compares every pair of modifiers in the note;
  the frozen-section and imaging attributes rescan the sentence for each mention). The
  10,000-token test draws its token from the other note words; the triggers get 600 repetitions.
* spaCy's English tokenizer splits a run of most ASCII punctuation ("=", "_", "*", "#", "(",
  ")", ",", ":", "!", "?", quotes, brackets...; not "-", ".", "/") one character at a time, each
  time searching the rest of the run: quadratic, about 50 s for 12,000 "=" here. Very long lines
  of other characters are up to 30,000 long; those runs, 1,500.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opnote.errors import BinaryInputError, EmptyNoteError, InputError
from opnote.render import render
from opnote.schema import report_json_schema

ROOT = Path(__file__).resolve().parents[1]
NOTES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "sample_notes").rglob("*.txt"))]
SCALE = float(os.environ.get("OPNOTE_FUZZ_SCALE", "1"))
VALIDATOR = jsonschema.Draft202012Validator(report_json_schema())


def fuzz_settings(n: int):
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=bool(os.environ.get("CI")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


def spans(report):
    """Every (start, end, text) the report claims is a piece of the note."""
    out = [(f.start, f.end, f.text) for f in report.findings]
    for item in report.checklist:
        out += [(e.start, e.end, e.text) for e in item.evidence]
    for adv in report.advisories:
        out += [(e.start, e.end, e.text) for e in adv.evidence]
    out += [(e.start, e.end, e.text) for e in report.diagnosis.evidence]
    if report.global_period is not None:
        out += [(e.start, e.end, e.text) for e in report.global_period.evidence]
    return out


def assert_sound(checker, text: str) -> None:
    """The four properties for one text."""
    if not text.strip():
        with pytest.raises(EmptyNoteError):
            checker.check(text)
        return
    if "\x00" in text:
        with pytest.raises(BinaryInputError):
            checker.check(text)
        return
    report = checker.check(text)
    for start, end, piece in spans(report):
        assert 0 <= start <= end <= len(text), (start, end, len(text))
        assert text[start:end] == piece
    first = render(report, "json")
    VALIDATOR.validate(json.loads(first))
    assert len(report.checklist) == 9
    again = render(checker.check(text), "json")
    assert again == first


# ----------------------------------------------------------------------------- strategies
CONTROL = [chr(c) for c in range(1, 32)] + [
    "\x7f", "\x85", "\u00a0", "\u00ad", "\u200b", "\u200d", "\u200e", "\u202e", "\u2028", "\u2029",
    "\u2060", "\ufeff", "\ufffd", "\u0301", "\u0338", "\U0001f600", "\U0001d400", "\r\n", "\r",
]
WORDS = sorted({w for t in NOTES for w in re.findall(r"\w+|[^\w\s]", t)})
HEADING = re.compile(r"^\s*(?:[A-Z][A-Z0-9 /&()'-]{2,}:|[A-Z][A-Z /&-]{3,}$|\d+\.\s)")


@st.composite
def token_soup(draw) -> str:
    """Note words, punctuation, white space and control characters in any order."""
    parts = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(CONTROL), st.sampled_from([" ", " ", "\n", ". ", ": ", "\n\n"])), max_size=300))
    return "".join(parts)


@st.composite
def edited_note(draw) -> str:
    """A sample note with 1-5 random edits."""
    lines = draw(st.sampled_from(NOTES)).split("\n")
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["delete", "duplicate", "control", "long_line", "swap"]))
        if op == "delete" and len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 1))
            del lines[i:i + draw(st.integers(1, 6))]
            lines = lines or [""]
        elif op == "duplicate":
            heads = [i for i, ln in enumerate(lines) if HEADING.match(ln)] or [0]
            i = draw(st.sampled_from(heads))
            j = next((k for k in heads if k > i), len(lines))
            at = draw(st.integers(0, len(lines)))
            lines[at:at] = lines[i:j] * draw(st.integers(1, 3))
        elif op == "control":
            for _ in range(draw(st.integers(1, 30))):
                i = draw(st.integers(0, len(lines) - 1))
                pos = draw(st.integers(0, len(lines[i])))
                lines[i] = lines[i][:pos] + draw(st.sampled_from(CONTROL)) + lines[i][pos:]
        elif op == "long_line":
            if draw(st.booleans()):
                unit = draw(st.sampled_from(["x", "-", ".", "/", "1", "word ", "5 cm ", "margin ", "right ", "(DFR) ", "\t", "\u00e9", "femur, "]))
                n = draw(st.integers(1000, 30000)) // len(unit)
            else:  # runs spaCy's tokenizer splits one character at a time, in quadratic time: kept short
                unit = draw(st.sampled_from(["=", "_", "*", "#", "(", ")", ",", ":"]))
                n = draw(st.integers(100, 1500))
            at = draw(st.integers(0, len(lines)))
            lines.insert(at, unit * n)
        elif op == "swap" and len(lines) > 1:
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _slow_tokens(nlp) -> set[str]:
    """Note words that are (part of) a ConText trigger or a frozen-section / imaging term."""
    import bisect

    text = "\n".join(WORDS)
    starts, pos = [], 0
    for w in WORDS:
        starts.append(pos)
        pos += len(w) + 1
    doc = nlp(text)
    from opnote._internals import trigger_matcher

    matcher = trigger_matcher(nlp.get_pipe("opnote_context").context)  # every trigger match
    if matcher is not None:
        trigger_spans = [doc[s:e] for _, s, e in matcher(doc)]
    else:  # pragma: no cover - another medspaCy version
        trigger_spans = [doc[m.modifier_span[0]:m.modifier_span[1]] for m in doc._.context_graph.modifiers]
    trigger_spans += [s for s in doc.spans["opnote_candidates"] if s.label_ in {"FROZEN", "IMAGING", "IMAGING_GENERIC"}]
    slow = set()
    for span in trigger_spans:
        for tok in span:
            if not tok.is_space:
                slow.add(WORDS[bisect.bisect_right(starts, tok.idx) - 1])
    return slow


@pytest.fixture(scope="module")
def plain_words(checker) -> list[str]:
    slow = _slow_tokens(checker.nlp)
    words = [w for w in WORDS if w not in slow]
    assert len(words) > 100
    return words


# ----------------------------------------------------------------------------- properties
@pytest.mark.slow
@fuzz_settings(600)
@given(text=st.text(max_size=1500))
def test_arbitrary_unicode(checker, text):
    assert_sound(checker, text)


@pytest.mark.slow
@fuzz_settings(500)
@given(text=token_soup())
def test_soup_of_note_words_and_control_characters(checker, text):
    assert_sound(checker, text)


@pytest.mark.slow
@fuzz_settings(300)
@given(text=edited_note())
def test_sample_notes_with_random_edits(checker, text):
    assert_sound(checker, text)


@pytest.mark.slow
@fuzz_settings(12)
@given(data=st.data())
def test_ten_thousand_repeated_tokens(checker, plain_words, data):
    note = data.draw(st.sampled_from(NOTES))
    token = data.draw(st.sampled_from(plain_words + ["(DFR)", "5 cm", "x", "-", "DFR", "right", "margin", "femur"]))
    sep = data.draw(st.sampled_from([" ", "\n", ". ", ""]))
    if sep == "" and not any(ch.isalnum() for ch in token):
        sep = " "  # a 10,000-long run of punctuation: the tokenizer limit in the module docstring
    at = data.draw(st.integers(0, len(note)))
    assert_sound(checker, note[:at] + sep.join([token] * 10_000) + sep + note[at:])


@pytest.mark.slow
@fuzz_settings(6)
@given(data=st.data())
def test_clinical_triggers_repeated(checker, data):
    """ConText triggers and frozen-section / imaging terms, repeated 600 times (see the docstring)."""
    note = data.draw(st.sampled_from(NOTES))
    token = data.draw(st.sampled_from(["no", "not", "without", "frozen section", "MRI", "history of", "possible", "if"]))
    sep = data.draw(st.sampled_from([" ", ". "]))
    assert_sound(checker, note + "\n" + sep.join([token] * 600))


@pytest.mark.slow
@fuzz_settings(500)
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes_decode_or_raise_an_input_error(checker, data):
    try:
        report = checker.check_bytes(data)
    except InputError as e:
        assert re.match(r"\[E10\d\] <bytes>: ", str(e))
        return
    assert report.encoding in {"utf-8", "utf-8-sig", "utf-16", "utf-32", "windows-1252"}
    VALIDATOR.validate(json.loads(render(report, "json")))
