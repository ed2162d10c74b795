"""opnote's FastTokenMatcher against spaCy's Matcher (hypothesis): the same matches, same order.

Two kinds of input:

* opnote's own pattern sets (section headings, ConText triggers, target token patterns) on
  token sequences built from the words the patterns use, in several casings, with punctuation,
  line breaks, filler and realizations of the patterns themselves;
* random patterns over a small vocabulary on random token sequences, reaching what the rule
  files do not use yet: operators, flags, regexes, sets, values that are not lower case under
  ``LOWER``, characters whose lower case is ASCII (the Kelvin sign), and a ``:`` under ``ORTH``
  joining a ``LOWER`` phrase.

medspaCy sorts matches by (start, end) and keeps the first of two on the very same span, so the
order within a span must be spaCy's, and medspaCy's pruning must keep the same matches.
``OPNOTE_FUZZ_SCALE=20`` multiplies the number of examples.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import pytest
import spacy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from medspacy.common.util import prune_overlapping_matches
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from opnote.components.context import build_context_rules
from opnote.components.fastmatch import FastTokenMatcher, compile_matcher
from opnote.components.sections import build_section_rules
from opnote.components.targets import build_target_patterns

SCALE = float(os.environ.get("OPNOTE_FUZZ_SCALE", "1"))
Pattern = list[dict[str, Any]]
Keyed = list[tuple[str, list[Pattern]]]


def fuzz_settings(n: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        derandomize=bool(os.environ.get("CI")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module")
def blank() -> Language:
    return spacy.blank("en")


def _pattern_sets(nlp: Language) -> dict[str, Keyed]:
    sections = [r["pattern"] for r in build_section_rules(nlp)]
    context = [r["pattern"] for r in build_context_rules() if isinstance(r.get("pattern"), list)]
    targets = [p["pattern"] for p in build_target_patterns() if isinstance(p["pattern"], list)]
    # the targets' keys are shared by several patterns, as in the target ruler (label, id)
    target_keys = [repr((p["label"], p.get("id", ""))) for p in build_target_patterns() if isinstance(p["pattern"], list)]
    return {
        "sections": [(f"S{i}", [p]) for i, p in enumerate(sections)],
        "context": [(f"C{i}", [p]) for i, p in enumerate(context)],
        "targets": [(k, [p]) for k, p in zip(target_keys, targets)],
    }


class Pair:
    """spaCy's Matcher and the fast matcher over the same patterns."""

    def __init__(self, vocab: Vocab, keyed: Keyed) -> None:
        self.spacy = Matcher(vocab)
        for key, patterns in keyed:
            self.spacy.add(key, patterns)
        self.fast: FastTokenMatcher | None = compile_matcher(vocab, keyed, self.spacy)


@pytest.fixture(scope="module")
def rule_sets(blank: Language) -> dict[str, tuple[Pair, list[Pattern]]]:
    out = {}
    for name, keyed in _pattern_sets(blank).items():
        pair = Pair(blank.vocab, keyed)
        assert pair.fast is not None, f"{name}: the fast matcher no longer covers opnote's {name} patterns"
        out[name] = (pair, [p for _, ps in keyed for p in ps])
    return out


def _by_span(matches: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int], list[int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for match_id, start, end in matches:
        groups.setdefault((start, end), []).append(match_id)
    return groups


def assert_same_matches(pair: Pair, doc: Doc) -> None:
    assert pair.fast is not None
    ref, got = pair.spacy(doc), pair.fast(doc)
    assert sorted(got) == sorted(ref)
    assert _by_span(got) == _by_span(ref)  # the order within each span
    assert prune_overlapping_matches(list(got)) == prune_overlapping_matches(list(ref))


# ----------------------------------------------------------------------- opnote's own patterns
FILLER = ["the", "a", "was", "of", "and", "left", "right", "tumor", "femur", "x", "1", "2."]
PUNCT = [",", ".", ":", ";", "(", ")", "-", "\n", "\n\n", " \n"]


def _words(patterns: list[Pattern]) -> list[str]:
    out: set[str] = set()
    for pattern in patterns:
        for spec in pattern:
            for key, value in spec.items():
                values = value.get("IN", []) if isinstance(value, dict) else [value]
                out.update(v for v in values if key.upper() != "OP" and isinstance(v, str) and not v.startswith("^") and "\\" not in v)
    return sorted(out)


@st.composite
def _realize(draw: st.DrawFn, pattern: Pattern, pool: list[str]) -> list[str]:
    """Tokens that (mostly) satisfy a pattern: a value each token allows, optional ones at random."""
    out: list[str] = []
    for spec in pattern:
        spec = {k.upper(): v for k, v in spec.items()}
        op = spec.pop("OP", None)
        reps = draw(st.integers(0, 1)) if op == "?" else draw(st.integers(0, 2)) if op else 1
        for _ in range(reps):
            options = []
            for key, value in spec.items():
                if isinstance(value, dict) and "IN" in value:
                    options += value["IN"]
                elif isinstance(value, dict) and "REGEX" in value:
                    options += ["\n", " \n", "\n\n"]
                elif isinstance(value, str):
                    options.append(value)
            tok = draw(st.sampled_from(options or pool)) if draw(st.integers(0, 19)) else draw(st.sampled_from(pool))
            out.append(draw(st.sampled_from([str, str, str, str.upper, str.lower, str.title]))(tok))
    return out


@st.composite
def rule_docs(draw: st.DrawFn, vocab: Vocab, patterns: list[Pattern]) -> Doc:
    pool = _words(patterns) + FILLER + PUNCT
    casing = st.sampled_from([str, str, str, str.upper, str.title])
    toks: list[str] = []
    length = draw(st.integers(1, 60))
    while len(toks) < length:
        if draw(st.integers(0, 6)) == 0:
            toks += draw(_realize(draw(st.sampled_from(patterns)), pool))
        else:
            toks.append(draw(casing)(draw(st.sampled_from(pool))))
    toks = [t for t in toks if t] or ["x"]
    spaces = [draw(st.booleans()) and not t.isspace() for t in toks]
    return Doc(vocab, words=toks, spaces=spaces)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sections", "context", "targets"])
@fuzz_settings(150)
@given(data=st.data())
def test_same_matches_as_spacy_on_opnotes_patterns(rule_sets: dict[str, tuple[Pair, list[Pattern]]], name: str, data: st.DataObject) -> None:
    pair, patterns = rule_sets[name]
    assert_same_matches(pair, data.draw(rule_docs(pair.spacy.vocab, patterns)))


# ------------------------------------------------------------------------------ random patterns
VOCAB = ["a", "b", "B", "no", "Not", "not", "colon", ":", "-", "k", "K", "\u212a", "i", "\u0130", "DFR", "dfr", "x-ray", "12", "\n"]
word = st.sampled_from(VOCAB)
value = st.one_of(
    word,
    st.lists(word, min_size=1, max_size=3).map(lambda ws: {"IN": ws}),
    st.lists(word, min_size=1, max_size=3).map(lambda ws: {"NOT_IN": ws}),
    st.sampled_from([r"^\n", r"^[a-z]+$", r"\d", "K"]).map(lambda r: {"REGEX": r}),
)
anchor_token = st.builds(lambda attr, w: {attr: w}, st.sampled_from(["LOWER", "ORTH", "TEXT"]), word)
other_token = st.one_of(
    anchor_token,
    st.builds(lambda attr, v: {attr: v}, st.sampled_from(["LOWER", "ORTH", "TEXT", "NORM"]), value),
    st.builds(lambda flag, b: {flag: b}, st.sampled_from(["IS_PUNCT", "IS_UPPER", "IS_ALPHA", "LIKE_NUM"]), st.booleans()),
    st.just({}),
)
op = st.sampled_from([None, None, None, "?", "{1,2}", "{0,1}", "{2}"])


@st.composite
def random_pattern(draw: st.DrawFn) -> Pattern:
    tokens = [dict(t) for t in draw(st.lists(other_token, max_size=3))]
    tokens.insert(draw(st.integers(0, len(tokens))), dict(draw(anchor_token)))  # something to index on
    for t in tokens:
        o = draw(op)
        if o is not None:
            t["OP"] = o
    return tokens


@st.composite
def random_case(draw: st.DrawFn) -> tuple[Keyed, list[str]]:
    patterns = draw(st.lists(random_pattern(), min_size=1, max_size=8))
    keys = draw(st.lists(st.sampled_from(["K0", "K1", "K2", "K3"]), min_size=len(patterns), max_size=len(patterns)))
    keyed = [(k, [p]) for k, p in zip(keys, patterns)]
    pool = VOCAB + ["A", "Colon", "NO", "COLON", "x"]
    words: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        words += draw(st.lists(st.sampled_from(pool), max_size=4))
        words += draw(_realize(draw(st.sampled_from(patterns)), pool))  # something that may match
    return keyed, [w for w in words if w] or ["x"]


@fuzz_settings(300)
@given(case=random_case())
# the edges of sending a pattern to the PhraseMatcher, pinned: an ORTH letter cannot join a LOWER
# phrase ("K" and the Kelvin sign lower-case to "k"), a ":" can; a LOWER value that is not lower
# case matches nothing
@pytest.mark.slow
@example(case=([("K0", [[{"LOWER": "a"}, {"ORTH": "k"}]])], ["a", "K", "a", "k", "a", "\u212a", "A", "k"]))
@example(case=([("K0", [[{"LOWER": "colon"}, {"ORTH": ":"}]]), ("K1", [[{"LOWER": "colon"}, {"TEXT": ":"}]])], ["Colon", ":", "COLON", ":"]))
@example(case=([("K0", [[{"LOWER": "B"}]]), ("K1", [[{"ORTH": "B"}]])], ["b", "B", "b"]))
def test_same_matches_as_spacy_on_random_patterns(blank: Language, case: tuple[Keyed, list[str]]) -> None:
    keyed, words = case
    vocab = blank.vocab
    pair = Pair(vocab, keyed)
    if pair.fast is not None:
        assert_same_matches(pair, Doc(vocab, words=words))


def test_plain_phrases_go_to_the_phrase_matcher(blank: Language) -> None:
    """The comment in fastmatch.py measured this split; it must stay in use."""
    plain = [(f"P{i}", [[{"LOWER": w} for w in phrase.split()]]) for i, phrase in enumerate(["distal femur", "wide resection", "frozen section"])]
    keyed = plain + [("R0", [[{"TEXT": {"REGEX": "\n"}}, {"LOWER": "procedure"}, {"ORTH": ":"}]])]
    fast = compile_matcher(blank.vocab, keyed, Matcher(blank.vocab))
    assert fast is not None
    compiled = fast._c
    assert set(compiled.phrases) and compiled.index  # both halves in use
    assert sum(len(ids) for ids in compiled.phrase_ids.values()) == len(plain)  # the plain phrases, and only they


def test_unsupported_patterns_keep_spacys_matcher(blank: Language) -> None:
    for pattern in ([{"LOWER": "a", "OP": "+"}], [{"POS": "NOUN"}], [{"IS_PUNCT": True}], [{"LOWER": {"FUZZY": "tumour"}}]):
        assert compile_matcher(blank.vocab, [("K", [pattern])], Matcher(blank.vocab)) is None, pattern
