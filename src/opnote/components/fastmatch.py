"""A faster stand-in for spaCy's token ``Matcher`` on simple patterns, with identical results.

spaCy's ``Matcher`` starts every pattern at every token and evaluates ``IN`` and ``REGEX``
predicates in Python, so its cost is (tokens x patterns): medspaCy's Sectionizer (hundreds of
heading patterns) and ConText (55 patterns with ``IN`` lists) spent about half of opnote's time
per note there. This matcher sends plain phrases to spaCy's ``PhraseMatcher`` and indexes every
other pattern by one token whose value it requires (a ``LOWER`` or ``ORTH`` value, or a set of
them): it looks each token of the Doc up once and checks the rest of a pattern only where its
anchor occurs.

Plain phrases (every token one ``LOWER``, ``ORTH`` or ``TEXT`` string, no operator) go to the
PhraseMatcher because it is faster on them, measured on the 83 sample notes (CPU microseconds
per note, median of 21 passes; the same matches every time): the sectionizer's 489 patterns,
326 of them plain, 100 with the PhraseMatcher for the plain ones against 178 with the index
alone (spaCy's Matcher: 3,212); the target ruler's 73 token patterns, 61 plain, 77 against 84
(1,037).

It accepts only what it can match exactly: tokens constrained by ``LOWER``, ``ORTH``, ``TEXT``
or ``NORM`` (a string, ``{"IN": [...]}`` or ``{"REGEX": ...}``) or by boolean flags, the
wildcard ``{}``, and the operators ``"?"`` and ``"{n,m}"``; no callbacks. :func:`compile_matcher`
returns ``None`` for anything else and the caller keeps spaCy's matcher.

Results: the same set of ``(match_id, start, end)`` tuples as spaCy's, sorted by (start, end).
medspaCy sorts matches by (start, end) before pruning overlaps and keeps the first of two
matches on the very same span, so the order within one span must be spaCy's too. For patterns
without operators spaCy emits same-span matches in the order the patterns were added, which
this matcher reproduces; when a pattern with an operator shares a span with another pattern,
the Doc is handed to spaCy's own matcher (rare: counted in ``fallbacks``).

Only public spaCy API is used here; ``tests/test_fastmatch.py`` checks the results against
spaCy's Matcher on random token sequences (hypothesis).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from spacy.attrs import IDS, LOWER, ORTH
from spacy.matcher import PhraseMatcher
from spacy.strings import StringStore, get_string_id
from spacy.tokens import Doc
from spacy.vocab import Vocab

Match = tuple[int, int, int]

# Token attributes this matcher reads, by the names patterns use. String attributes take a
# value, {"IN": [...]} or {"REGEX": ...}; flags take True/False (spaCy compares int(value)).
_STRING_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH, "NORM": IDS["NORM"]}
_FLAG_ATTRS = {
    name: IDS[name]
    for name in ("IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT",
                 "IS_SPACE", "IS_BRACKET", "IS_QUOTE", "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "LIKE_NUM")
}
_PHRASE_ATTRS = {LOWER: "LOWER", ORTH: "ORTH"}
_PHRASE_KEY = "opnote_fastmatch_phrase"
_U64 = 1 << 64
_MAX_VARIANTS = 4096


def _signed(h: int) -> int:
    """A uint64 id as the int64 that ``to_array(...).view("int64")`` yields."""
    return h - _U64 if h >= 1 << 63 else h


class TokenTest(NamedTuple):
    """One condition on one token: its attribute is one of ``values``, or matches ``regex``."""

    attr: int
    values: frozenset[int] | None  # signed string ids
    regex: re.Pattern[str] | None  # spaCy's _RegexPredicate: re.search on the attribute's string
    shortest: int  # length of the shortest allowed value (anchor choice)


TokenSeq = tuple[tuple[TokenTest, ...], ...]  # the tests of each token of a fixed-length pattern


class _Entry(NamedTuple):
    match_id: int
    seq: TokenSeq  # the anchor's indexed test removed
    anchor: int  # position of the indexed token in the pattern
    number: int  # the pattern's number, in the order patterns were added
    fixed: bool  # the pattern has one length only


# (start, end) -> {match_id: (lowest pattern number, every such pattern fixed)}
_Found = dict[tuple[int, int], dict[int, tuple[int, bool]]]


def _record(found: _Found, start: int, end: int, match_id: int, number: int, fixed: bool) -> None:
    ids = found.setdefault((start, end), {})
    prev = ids.get(match_id)
    if prev is None or number < prev[0]:
        ids[match_id] = (number, fixed and (prev is None or prev[1]))


def _repeats(op: object) -> list[int] | None:
    """How many times a token may repeat under spaCy operator ``op`` (None: not supported)."""
    if op is None or op == "1":
        return [1]
    if op == "?":
        return [1, 0]
    if not (isinstance(op, str) and op.startswith("{") and op.endswith("}")):
        return None
    body = op[1:-1]
    n, _, m = body.partition(",") if "," in body else (body, ",", body)
    if not m.isdecimal() or (n and not n.isdecimal()):
        return None  # "{n,}" is unbounded
    lo, hi = int(n or 0), int(m)
    return list(range(hi, lo - 1, -1)) if lo <= hi else None


def _string_test(attr: int, value: object, strings: StringStore) -> TokenTest | None:
    if isinstance(value, str):
        # spaCy's Matcher: vocab.strings.add(value) for a plain value
        return TokenTest(attr, frozenset([_signed(strings.add(value))]), None, len(value))
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    ((pred, arg),) = value.items()
    if pred == "IN" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
        # spaCy's _SetPredicate: get_string_id(v) for each value
        return TokenTest(attr, frozenset(_signed(get_string_id(v)) for v in arg), None, min((len(v) for v in arg), default=0))
    if pred == "REGEX" and isinstance(arg, str):
        return TokenTest(attr, None, re.compile(arg), 0)
    if pred == "NOT_IN" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
        # spaCy's _SetPredicate: the value is none of these strings; the same test on the string
        alternatives = "|".join(re.escape(v) for v in arg)
        return TokenTest(attr, None, re.compile(rf"\A(?!(?:{alternatives})\Z)", re.DOTALL), 0)
    return None


def _one_test(name: str, value: object, strings: StringStore) -> TokenTest | None:
    if name in _FLAG_ATTRS:
        if not isinstance(value, (bool, int)):
            return None
        return TokenTest(_FLAG_ATTRS[name], frozenset([int(value)]), None, 0)
    attr = _STRING_ATTRS.get(name)
    return None if attr is None else _string_test(attr, value, strings)


def _compile_token(spec: object, strings: StringStore) -> tuple[tuple[TokenTest, ...], list[int]] | None:
    """(tests, allowed repeat counts) for one token dict, or None when not matched exactly here."""
    if not isinstance(spec, dict) or not all(isinstance(k, str) for k in spec):
        return None
    spec = {k.upper(): v for k, v in spec.items()}
    repeats = _repeats(spec.pop("OP", None))
    if repeats is None:
        return None
    tests = [_one_test(name, value, strings) for name, value in spec.items()]
    if any(t is None for t in tests):
        return None
    return tuple(t for t in tests if t is not None), repeats


def _variants(pattern: object, strings: StringStore) -> tuple[list[TokenSeq], bool] | None:
    """(the fixed-length token sequences a pattern matches, whether it has only one length)."""
    if not isinstance(pattern, list) or not pattern:
        return None
    compiled = []
    total = 1
    for spec in pattern:
        c = _compile_token(spec, strings)
        if c is None:
            return None
        compiled.append(c)
        total *= len(c[1])
        if total > _MAX_VARIANTS:
            return None
    out = []
    for counts in itertools.product(*[reps for _, reps in compiled]):
        seq = tuple(t for (t, _), k in zip(compiled, counts, strict=True) for _ in range(k))
        if seq:  # spaCy drops zero-length matches
            out.append(seq)
    return out, total == 1


def _holds(seq: TokenSeq, start: int, cols: dict[int, list[int]], strings: StringStore) -> bool:
    for p, tests in enumerate(seq):
        j = start + p
        for t in tests:
            v = cols[t.attr][j]
            if t.values is not None:
                if v not in t.values:
                    return False
            elif t.regex is not None and not t.regex.search(strings[v % _U64]):
                return False
    return True


def _anchor_rank(t: TokenTest) -> tuple[bool, int, int]:
    """Lower is a better index: no short word among the values ("of", "the", "to" are everywhere),
    then the fewest values, then the longest words."""
    return (t.shortest <= 3, len(t.values or ()), -t.shortest)


def _anchor(seq: TokenSeq) -> tuple[int, TokenTest] | None:
    """The token to index a pattern on: the string test the fewest tokens of a note can pass."""
    best: tuple[int, TokenTest] | None = None
    for p, tests in enumerate(seq):
        for t in tests:
            if t.values is None or t.attr not in (LOWER, ORTH):
                continue
            if best is None or _anchor_rank(t) < _anchor_rank(best[1]):
                best = (p, t)
    return best


def _phrase_words(seq: TokenSeq, strings: StringStore) -> list[tuple[int, str]] | None:
    """(attribute, word) per token when every token is one exact LOWER or ORTH value."""
    out = []
    for tests in seq:
        if len(tests) != 1:
            return None
        t = tests[0]
        if t.attr not in _PHRASE_ATTRS or t.values is None or len(t.values) != 1:
            return None
        try:
            word = strings[next(iter(t.values)) % _U64]
        except KeyError:  # an {"IN": [...]} value spaCy hashed without storing
            return None
        out.append((t.attr, word))
    return out


def _plain_phrase(seq: TokenSeq, vocab: Vocab) -> tuple[int, list[str]] | None:
    """(attribute, words) when a PhraseMatcher on that attribute matches exactly this sequence.

    An ORTH value of ASCII non-letters (":") is also its own LOWER value and no other string
    lower-cases to it, so such a token may join a LOWER phrase. A LOWER phrase's pattern Doc
    must have the pattern's own values (a LOWER value that is not lower case never matches in
    spaCy's Matcher, but would in a PhraseMatcher).
    """
    tokens = _phrase_words(seq, vocab.strings)
    if tokens is None:
        return None
    words = [w for _, w in tokens]
    if all(attr == ORTH for attr, _ in tokens):
        return ORTH, words
    if not all(attr == LOWER or (w.isascii() and not any(c.isalpha() for c in w)) for attr, w in tokens):
        return None
    if any(vocab[w].lower != get_string_id(w) for w in words):  # the pattern Doc's LOWER values
        return None
    return LOWER, words


@dataclass
class _Compiled:
    index: dict[int, dict[int, list[_Entry]]] = field(default_factory=dict)  # attr -> value -> entries
    phrases: dict[int, PhraseMatcher] = field(default_factory=dict)  # attr -> matcher
    # (attr, the phrase's values) -> {match_id: lowest pattern number}
    phrase_ids: dict[tuple[int, tuple[int, ...]], dict[int, int]] = field(default_factory=dict)
    attrs: list[int] = field(default_factory=list)  # every attribute a test reads, in to_array order

    def need(self, attr: int) -> None:
        if attr not in self.attrs:
            self.attrs.append(attr)

    def add_phrase(self, vocab: Vocab, match_id: int, number: int, attr: int, words: list[str]) -> None:
        # One PhraseMatcher key for all phrases: a key per pattern made a Lexeme for each (half
        # of building the sectionizer's matcher); the phrase's values say which patterns matched.
        matcher = self.phrases.get(attr)
        if matcher is None:
            matcher = self.phrases[attr] = PhraseMatcher(vocab, attr=_PHRASE_ATTRS[attr])
        pattern = Doc(vocab, words=words)
        matcher.add(_PHRASE_KEY, [pattern])
        self.need(attr)
        ids = self.phrase_ids.setdefault((attr, tuple(pattern.to_array([attr]).view("int64").tolist())), {})
        ids[match_id] = min(number, ids.get(match_id, number))

    def add_indexed(self, match_id: int, number: int, seq: TokenSeq, fixed: bool) -> bool:
        best = _anchor(seq)
        if best is None:
            return False  # nothing to index on (wildcards, flags or regexes only)
        anchor, anchor_test = best
        # the anchor token's other tests stay in place; its indexed test is known to hold
        rest = tuple(tuple(t for t in tests if t is not anchor_test) if p == anchor else tests for p, tests in enumerate(seq))
        for tests in rest:
            for t in tests:
                self.need(t.attr)
        self.need(anchor_test.attr)
        bucket = self.index.setdefault(anchor_test.attr, {})
        for v in anchor_test.values or ():
            bucket.setdefault(v, []).append(_Entry(match_id, rest, anchor, number, fixed))
        return True


class FastTokenMatcher:
    """Callable like ``spacy.matcher.Matcher``: ``matcher(doc) -> [(match_id, start, end), ...]``."""

    def __init__(self, compiled: _Compiled, n_keys: int, fallback: Callable[[Doc], Sequence[Match]]) -> None:
        self._c = compiled
        self._n_keys = n_keys
        self._fallback = fallback
        self.fallbacks = 0  # Docs handed to spaCy's matcher

    def __len__(self) -> int:
        return self._n_keys

    def __call__(self, doc: Doc, **_: object) -> list[Match]:
        n = len(doc)
        if n == 0 or not (self._c.index or self._c.phrases):
            return []
        attrs = self._c.attrs
        # int64 view: tolist() of a uint64 array is several times slower
        arr = doc.to_array(cast("list[int | str]", attrs)).view("int64").reshape(n, len(attrs))
        cols = {a: arr[:, k].tolist() for k, a in enumerate(attrs)}
        found: _Found = {}
        self._match_index(cols, n, doc.vocab.strings, found)
        self._match_phrases(doc, cols, found)
        out = _ordered(found)
        if out is None:
            # a pattern with an operator shares a span with another: only spaCy knows the order
            self.fallbacks += 1
            return list(self._fallback(doc))
        return out

    def _match_index(self, cols: dict[int, list[int]], n: int, strings: StringStore, found: _Found) -> None:
        for attr, index in self._c.index.items():
            col = cols[attr]
            for i in [i for i, v in enumerate(col) if v in index]:
                for e in index[col[i]]:
                    start = i - e.anchor
                    end = start + len(e.seq)
                    if start >= 0 and end <= n and _holds(e.seq, start, cols, strings):
                        _record(found, start, end, e.match_id, e.number, e.fixed)

    def _match_phrases(self, doc: Doc, cols: dict[int, list[int]], found: _Found) -> None:
        for attr, matcher in self._c.phrases.items():
            col = cols[attr]
            for _, start, end in matcher(doc):
                for match_id, number in self._c.phrase_ids[(attr, tuple(col[start:end]))].items():
                    _record(found, start, end, match_id, number, True)


def _ordered(found: _Found) -> list[Match] | None:
    """Matches by (start, end), same-span matches by pattern number; None if that order is unknown."""
    out: list[Match] = []
    for (start, end), ids in sorted(found.items()):
        if len(ids) > 1 and not all(fixed for _, fixed in ids.values()):
            return None
        for match_id, _ in sorted(ids.items(), key=lambda kv: kv[1][0]):
            out.append((match_id, start, end))
    return out


def compile_matcher(
    vocab: Vocab, entries: Iterable[tuple[str, list[list[dict[str, Any]]]]], fallback: Callable[[Doc], Sequence[Match]]
) -> FastTokenMatcher | None:
    """A :class:`FastTokenMatcher` for ``(key, patterns)`` entries, or None if any pattern is beyond it.

    ``entries`` must be in the order they were added to ``fallback``, spaCy's Matcher holding
    the same patterns.
    """
    compiled = _Compiled()
    n_keys = 0
    number = 0
    for key, patterns in entries:
        vocab.strings.add(key)
        n_keys += 1
        for pattern in patterns:
            variants = _variants(pattern, vocab.strings)
            if variants is None or not _add_pattern(compiled, vocab, key, number, *variants):
                return None
            number += 1
    return FastTokenMatcher(compiled, n_keys, fallback)


def _add_pattern(compiled: _Compiled, vocab: Vocab, key: str, number: int, variants: list[TokenSeq], fixed: bool) -> bool:
    if fixed and len(variants) == 1:
        phrase = _plain_phrase(variants[0], vocab)
        if phrase is not None:
            compiled.add_phrase(vocab, vocab.strings[key], number, *phrase)
            return True
    match_id = vocab.strings[key]
    return all(compiled.add_indexed(match_id, number, seq, fixed) for seq in variants)
