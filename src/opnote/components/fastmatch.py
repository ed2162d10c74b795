"""A faster stand-in for spaCy's token ``Matcher`` on simple patterns, with identical results.

spaCy's ``Matcher`` starts every pattern at every token and evaluates ``IN`` and ``REGEX``
predicates in Python, so its cost is (tokens x patterns): medspaCy's Sectionizer (hundreds of
heading patterns) and ConText (55 patterns with ``IN`` lists) spent about half of opnote's time
per note there. This matcher indexes each pattern by one token whose value it requires (a
``LOWER`` or ``ORTH`` value, or a set of them), looks each token of the Doc up once, and checks
the rest of a pattern only where its anchor occurs.

It accepts only what it can match exactly: tokens constrained by one of ``LOWER``, ``ORTH`` or
``TEXT`` (a string, ``{"IN": [...]}`` or ``{"REGEX": ...}``), the wildcard ``{}``, and the ``"?"``
operator; no callbacks. :func:`compile_matcher` returns ``None`` for anything else and the
caller keeps spaCy's matcher.

Results: the same set of ``(match_id, start, end)`` tuples as spaCy's, sorted by (start, end).
medspaCy sorts matches by (start, end) before pruning overlaps and keeps the first of two
matches on the very same span, so the order within one span must be spaCy's too. For patterns
without ``"?"`` spaCy emits same-span matches in the order the patterns were added, which this
matcher reproduces; when a ``"?"`` pattern shares a span with another pattern, the Doc is handed
to spaCy's own matcher (rare: counted in ``fallbacks``).
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Iterable

from spacy.attrs import IDS, LOWER, ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc

# Token attributes this matcher reads, by the names patterns use. String attributes take a
# value, {"IN": [...]} or {"REGEX": ...}; flags take True/False (spaCy compares int(value)).
_STRING_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH, "NORM": IDS["NORM"]}
_FLAG_ATTRS = {
    name: IDS[name]
    for name in ("IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT",
                 "IS_SPACE", "IS_BRACKET", "IS_QUOTE", "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "LIKE_NUM")
}
_U64 = 1 << 64
_MAX_VARIANTS = 4096


def _signed(h: int) -> int:
    """A uint64 id as the int64 that ``to_array(...).view("int64")`` yields."""
    return h - _U64 if h >= 1 << 63 else h


# A token test is a tuple of atomic tests, all of which must hold (the empty tuple matches any
# token). Atomic: ("set", attr_id, frozenset of signed values[, shortest word length]) |
# ("re", attr_id, compiled).


def _repeats(op: Any) -> list[int] | None:
    """How many times a token may repeat under spaCy operator ``op`` (None: not supported)."""
    if op is None or op == "1":
        return [1]
    if op == "?":
        return [1, 0]
    if isinstance(op, str) and op.startswith("{") and op.endswith("}"):
        body = op[1:-1]
        n, _, m = body.partition(",") if "," in body else (body, ",", body)
        if not m.isdecimal() or (n and not n.isdecimal()):
            return None  # "{n,}" is unbounded
        lo, hi = int(n or 0), int(m)
        if lo > hi:
            return None
        return list(range(hi, lo - 1, -1))
    return None


def _compile_token(spec: Any, vocab) -> tuple[tuple, list[int]] | None:
    """(test, allowed repeat counts) for one token dict, or None when not matched exactly here."""
    if not isinstance(spec, dict) or not all(isinstance(k, str) for k in spec):
        return None
    spec = {k.upper(): v for k, v in spec.items()}
    repeats = _repeats(spec.pop("OP", None))
    if repeats is None:
        return None
    tests = []
    for name, value in spec.items():
        if name in _FLAG_ATTRS:
            if not isinstance(value, (bool, int)):
                return None
            tests.append(("set", _FLAG_ATTRS[name], frozenset([int(value)])))
            continue
        attr = _STRING_ATTRS.get(name)
        if attr is None:
            return None
        if isinstance(value, str):
            # spaCy's Matcher: vocab.strings.add(value) for a plain value
            tests.append(("set", attr, frozenset([_signed(vocab.strings.add(value))]), len(value)))
        elif isinstance(value, dict) and len(value) == 1:
            (pred, arg), = value.items()
            if pred == "IN" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
                # spaCy's _SetPredicate: get_string_id(v) for each value
                tests.append(("set", attr, frozenset(_signed(get_string_id(v)) for v in arg), min((len(v) for v in arg), default=0)))
            elif pred == "REGEX" and isinstance(arg, str):
                tests.append(("re", attr, re.compile(arg)))
            else:
                return None
        else:
            return None
    return tuple(tests), repeats


def _variants(pattern: list[dict[str, Any]], vocab) -> tuple[list[tuple[tuple, ...]], bool] | None:
    """(the fixed-length token sequences a pattern matches, whether it has only one length)."""
    if not isinstance(pattern, list) or not pattern:
        return None
    compiled = []
    total = 1
    for spec in pattern:
        c = _compile_token(spec, vocab)
        if c is None:
            return None
        compiled.append(c)
        total *= len(c[1])
        if total > _MAX_VARIANTS:
            return None
    out = []
    for counts in itertools.product(*[reps for _, reps in compiled]):
        seq = tuple(t for (t, _), k in zip(compiled, counts) for _ in range(k))
        if seq:  # spaCy drops zero-length matches
            out.append(seq)
    return out, total == 1


class FastTokenMatcher:
    """Callable like ``spacy.matcher.Matcher``: ``matcher(doc) -> [(match_id, start, end), ...]``."""

    def __init__(self, index: dict[int, dict[int, list[tuple]]], attrs: list[int], n_keys: int, fallback: Callable[[Doc], list]) -> None:
        # anchor attribute -> signed value -> [(match_id, variant, anchor, pattern number, fixed)]
        self._index = index
        self._attrs = attrs  # every attribute a test reads, in to_array order
        self._n_keys = n_keys
        self._fallback = fallback
        self.fallbacks = 0  # Docs handed to spaCy's matcher

    def __len__(self) -> int:
        return self._n_keys

    def __call__(self, doc: Doc, **_: Any) -> list[tuple[int, int, int]]:
        n = len(doc)
        if n == 0 or not self._index:
            return []
        # int64 view: tolist() of a uint64 array is several times slower
        arr = doc.to_array(self._attrs).view("int64").reshape(n, len(self._attrs))
        cols = {a: arr[:, k].tolist() for k, a in enumerate(self._attrs)}
        strings = doc.vocab.strings
        # (start, end) -> {match_id: (pattern number, fixed)}
        found: dict[tuple[int, int], dict[int, tuple[int, bool]]] = {}
        for attr, index in self._index.items():
            col = cols[attr]
            for i in [i for i, v in enumerate(col) if v in index]:
                cands = index[col[i]]
                for match_id, seq, anchor, number, fixed in cands:
                    start = i - anchor
                    end = start + len(seq)
                    if start < 0 or end > n:
                        continue
                    ok = True
                    for p, tests in enumerate(seq):
                        j = start + p
                        for test in tests:
                            if test[0] == "set":
                                if cols[test[1]][j] not in test[2]:
                                    ok = False
                                    break
                            elif not test[2].search(strings[cols[test[1]][j] % _U64]):
                                # spaCy's _RegexPredicate: search the attribute's string
                                ok = False
                                break
                        if not ok:
                            break
                    if not ok:
                        continue
                    ids = found.setdefault((start, end), {})
                    prev = ids.get(match_id)
                    if prev is None or number < prev[0]:
                        ids[match_id] = (number, fixed and (prev is None or prev[1]))
        out: list[tuple[int, int, int]] = []
        for (start, end), ids in sorted(found.items()):
            if len(ids) == 1:
                (match_id,) = ids
                out.append((match_id, start, end))
                continue
            if not all(fixed for _, fixed in ids.values()):
                # a pattern with optional tokens shares this span: only spaCy knows the order
                self.fallbacks += 1
                return list(self._fallback(doc))
            for match_id, _ in sorted(ids.items(), key=lambda kv: kv[1][0]):
                out.append((match_id, start, end))
        return out


def compile_matcher(vocab, entries: Iterable[tuple[str, list[list[dict[str, Any]]]]], fallback: Callable[[Doc], list]) -> FastTokenMatcher | None:
    """A :class:`FastTokenMatcher` for ``(key, patterns)`` entries, or None if any pattern is beyond it.

    ``entries`` must be in the order they were added to ``fallback``, spaCy's Matcher holding
    the same patterns.
    """
    index: dict[int, dict[int, list]] = {}
    attrs: list[int] = []
    n_keys = 0
    number = 0
    for key, patterns in entries:
        match_id = vocab.strings.add(key)
        n_keys += 1
        for pattern in patterns:
            compiled = _variants(pattern, vocab)
            if compiled is None:
                return None
            variants, fixed = compiled
            for seq in variants:
                # anchor on the token whose string test allows the fewest values, and of those
                # the one with the longest words (short ones like "the", "to" are everywhere)
                best = None
                for p, tests in enumerate(seq):
                    for test in tests:
                        if test[0] == "set" and test[1] in (LOWER, ORTH):
                            if best is None or (len(test[2]), -test[3]) < (len(best[1][2]), -best[1][3]):
                                best = (p, test)
                if best is None:
                    return None  # nothing to index on (wildcards, flags or regexes only)
                anchor, anchor_test = best
                # the anchor token's other tests stay in place; its indexed test is known to hold
                rest = tuple(tuple(t for t in tests if t is not anchor_test) if p == anchor else tests for p, tests in enumerate(seq))
                for tests in rest:
                    for test in tests:
                        if test[1] not in attrs:
                            attrs.append(test[1])
                if anchor_test[1] not in attrs:
                    attrs.append(anchor_test[1])
                bucket = index.setdefault(anchor_test[1], {})
                for v in anchor_test[2]:
                    bucket.setdefault(v, []).append((match_id, rest, anchor, number, fixed))
            number += 1
    return FastTokenMatcher(index, attrs, n_keys, fallback)


def accelerate(medspacy_matcher: Any) -> bool:
    """Swap the spaCy token Matcher inside a medspaCy ``MedspacyMatcher`` for a :class:`FastTokenMatcher`.

    Returns False (and changes nothing) when the patterns, callbacks or medspaCy's internals are
    not what this module matches exactly.
    """
    attr = "_MedspacyMatcher__matcher"
    spacy_matcher = getattr(medspacy_matcher, attr, None)
    rule_map = getattr(medspacy_matcher, "_rule_map", None)
    if spacy_matcher is None or not isinstance(rule_map, dict) or isinstance(spacy_matcher, FastTokenMatcher):
        return False
    token_rules = [(rule_id, rule) for rule_id, rule in rule_map.items() if isinstance(rule.pattern, list)]
    if not token_rules or len(token_rules) != len(spacy_matcher):
        return False
    if any(getattr(rule, "on_match", None) is not None for _, rule in token_rules):
        return False
    fast = compile_matcher(spacy_matcher.vocab, [(rule_id, [rule.pattern]) for rule_id, rule in token_rules], spacy_matcher)
    if fast is None:
        return False
    setattr(medspacy_matcher, attr, fast)
    return True
