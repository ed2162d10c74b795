"""opnote's fast paths through medspaCy's and spaCy's internals (``opnote._internals``) against
the libraries' own code: the same Doc and the same report on every sample note.

Nothing here prints note text: a failure names the note file and what differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from opnote import _internals
from opnote.components.fastmatch import FastTokenMatcher
from opnote.pipeline import build_nlp
from opnote.scoring import evaluate

ROOT = Path(__file__).resolve().parents[1]
NOTES = sorted((ROOT / "sample_notes").glob("**/*.txt"))
ASSERTIONS = ("is_negated", "is_uncertain", "is_historical", "is_hypothetical", "is_family")


@pytest.fixture(scope="module")
def public_nlp() -> Language:
    with _internals.public_path():
        return build_nlp()


def _sections(doc: Doc) -> dict[str, Any]:
    sections = list(doc._.sections or [])
    number = {id(s): k for k, s in enumerate(sections)}
    return {
        "sections": [
            (s.category, s.title_start, s.title_end, s.body_start, s.body_end, s.rule.literal if s.rule else None) for s in sections
        ],
        # which section each token points to (token._.section), by position in doc._.sections
        "token_sections": [number.get(id(t._.section)) if t._.section is not None else None for t in doc],
        "token_categories": [t._.section_category for t in doc],
    }


def _modifier(m: Any) -> tuple[Any, ...]:
    return (m.category, m.modifier_span, m.scope_span, m.rule.literal)


def _context(doc: Doc) -> dict[str, Any]:
    cands = doc.spans["opnote_candidates"] if "opnote_candidates" in doc.spans else []
    graph = doc._.context_graph
    return {
        # sorted: the abbreviation component adds spans in scispaCy's set order
        "candidates": sorted(
            (s.start, s.end, s.label_, s.id_, *(bool(getattr(s._, a)) for a in ASSERTIONS), tuple(_modifier(m) for m in s._.modifiers))
            for s in cands
        ),
        "graph_modifiers": [_modifier(m) for m in graph.modifiers] if graph is not None else None,
        "graph_edges": [((t.start, t.end, t.label_), _modifier(m)) for t, m in graph.edges] if graph is not None else None,
    }


def _state(doc: Doc) -> dict[str, Any]:
    """Everything the pipeline leaves on a Doc that the two paths could disagree on."""
    report = evaluate(doc.text, doc._.opnote_findings, doc._.opnote_cues or [], code="27365", icd10=[])
    return {
        "sent_starts": [t.i for t in doc if t.is_sent_start],
        **_sections(doc),
        **_context(doc),
        "findings": doc._.opnote_findings,
        "cues": doc._.opnote_cues,
        "opnote_sections": doc._.opnote_sections,
        "report": report.model_dump_json(),
    }


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [key for key in a if a[key] != b[key]]


@pytest.mark.slow
def test_fast_and_public_paths_agree_on_every_sample_note(nlp: Language, public_nlp: Language) -> None:
    assert len(NOTES) >= 80  # dev and heldout
    differing = {}
    for path in NOTES:
        from opnote.normalize import canonical

        text = canonical(path.read_text(encoding="utf-8")).text
        for variant, t in (("as-is", text), ("twice", text + "\n" + text)):
            keys = _differences(_state(nlp(t)), _state(public_nlp(t)))
            if keys:
                differing[f"{path.relative_to(ROOT)} ({variant})"] = keys
    assert not differing


@pytest.mark.slow
def test_section_length_limit_agrees_on_every_sample_note() -> None:
    """``max_section_length`` takes its own branch in the sectionizer copy."""

    def sectionizer_only() -> Language:
        nlp = spacy.blank("en")
        nlp.add_pipe("opnote_sentencizer")
        nlp.add_pipe("opnote_sectionizer", config={"max_section_length": 12})
        return nlp

    fast = sectionizer_only()
    with _internals.public_path():
        public = sectionizer_only()
    from opnote.normalize import canonical

    texts = {p: canonical(p.read_text(encoding="utf-8")).text for p in NOTES}  # what the pipeline reads
    differing = [str(p.relative_to(ROOT)) for p in NOTES if _sections(fast(texts[p])) != _sections(public(texts[p]))]
    assert not differing
    cut = [p for p in NOTES[:40] if any(s.body_end - s.body_start == 12 for s in fast(texts[p])._.sections if s.category)]
    assert cut  # the limit did cut sections


def _inner_matcher(component: Any) -> Any:
    medspacy_matcher = _internals._medspacy_matcher(component)
    return getattr(medspacy_matcher, "_MedspacyMatcher__matcher")


def test_the_proven_versions_take_the_fast_paths(nlp: Language) -> None:
    assert _internals.spacy_proven() and _internals.medspacy_proven()
    context = nlp.get_pipe("opnote_context")
    sectionizer = nlp.get_pipe("opnote_sectionizer")
    assert context._fast is not None and sectionizer._fast is not None
    assert isinstance(_inner_matcher(context.context), FastTokenMatcher)
    assert isinstance(_inner_matcher(sectionizer.sectionizer), FastTokenMatcher)
    assert isinstance(nlp.get_pipe("opnote_targets")._fast_matcher(), FastTokenMatcher)


def test_public_path_leaves_the_libraries_code_in_place(public_nlp: Language) -> None:
    context = public_nlp.get_pipe("opnote_context")
    sectionizer = public_nlp.get_pipe("opnote_sectionizer")
    assert context._fast is None and sectionizer._fast is None
    assert type(_inner_matcher(context.context)) is Matcher
    assert type(_inner_matcher(sectionizer.sectionizer)) is Matcher
    assert _inner_matcher(sectionizer.sectionizer).validate  # spaCy validates the patterns
    assert public_nlp.get_pipe("opnote_targets")._fast_matcher() is False


@pytest.mark.slow
@pytest.mark.parametrize("library", ["spacy", "medspacy"])
def test_another_library_version_takes_the_public_path(monkeypatch: pytest.MonkeyPatch, checker: Any, library: str) -> None:
    monkeypatch.setitem(_internals.PROVEN, library, "0.0.0")
    nlp = build_nlp()
    assert nlp.get_pipe("opnote_context")._fast is None
    assert nlp.get_pipe("opnote_sectionizer")._fast is None
    assert (nlp.get_pipe("opnote_targets")._fast_matcher() is False) == (library == "spacy")
    text = NOTES[0].read_text(encoding="utf-8")
    assert _state(nlp(text)) == _state(checker.nlp(text))


def test_public_path_is_restored_after_the_block() -> None:
    with _internals.public_path():
        assert not _internals.spacy_proven()
        with _internals.public_path():
            pass
        assert not _internals.spacy_proven()
    assert _internals.spacy_proven()


def test_gc_paused_nests_and_restores_the_collector_as_it_found_it():
    import gc

    from opnote._gc import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a host that turned the collector off keeps it off
    finally:
        gc.enable()


def test_a_check_leaves_the_collector_enabled_even_when_it_fails(checker, monkeypatch):
    import gc

    import pytest

    checker.check("PROCEDURE: Radical resection of the right distal femur.")
    assert gc.isenabled()

    def broken(text):
        assert not gc.isenabled()  # paused while the pipeline runs
        raise RuntimeError("pipeline failed")

    monkeypatch.setattr(checker, "_run", broken)
    with pytest.raises(RuntimeError):
        checker.check("PROCEDURE: Radical resection of the right distal femur.")
    assert gc.isenabled()
