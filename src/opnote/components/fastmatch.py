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

from spacy.attrs import LOWER, ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc

_ATTRS = (LOWER, ORTH)
_ATTR_INDEX = {"LOWER": 0, "ORTH": 1, "TEXT": 1}
_U64 = 1 << 64


def _signed(h: int) -> int:
    """A uint64 string id as the int64 that ``to_array(...).view("int64")`` yields."""
    return h - _U64 if h >= 1 << 63 else h


# One token test: ("any",) | ("set", attr, frozenset of signed ids) | ("re", attr, compiled).
_Test = tuple


def _compile_token(spec: Any, vocab) -> tuple[_Test, bool] | None:
    """(test, optional) for one token dict, or None when this matcher cannot do it exactly."""
    if not isinstance(spec, dict):
        return None
    op = spec.get("OP")
    if op not in (None, "?"):
        return None
    keys = [k for k in spec if k != "OP"]
    if not keys:
        return ("any",), op == "?"
    if len(keys) != 1 or keys[0] not in _ATTR_INDEX:
        return None
    attr = _ATTR_INDEX[keys[0]]
    value = spec[keys[0]]
    if isinstance(value, str):
        # spaCy's Matcher: vocab.strings.add(value) for a plain value
        return ("set", attr, frozenset([_signed(vocab.strings.add(value))])), op == "?"
    if isinstance(value, dict) and len(value) == 1:
        (pred, arg), = value.items()
        if pred == "IN" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
            # spaCy's _SetPredicate: get_string_id(v) for each value
            return ("set", attr, frozenset(_signed(get_string_id(v)) for v in arg)), op == "?"
        if pred == "REGEX" and isinstance(arg, str):
            return ("re", attr, re.compile(arg)), op == "?"
    return None


def _variants(pattern: list[dict[str, Any]], vocab) -> tuple[list[tuple[_Test, ...]], bool] | None:
    """(the fixed-length token sequences a pattern matches, whether it has no "?" token)."""
    compiled = []
    for spec in pattern:
        c = _compile_token(spec, vocab)
        if c is None:
            return None
        compiled.append(c)
    n_opt = sum(1 for _, opt in compiled if opt)
    if n_opt > 8:
        return None
    out = []
    for keep in itertools.product((True, False), repeat=n_opt):
        it = iter(keep)
        seq = tuple(test for test, opt in compiled if not opt or next(it))
        if seq:  # spaCy drops zero-length matches
            out.append(seq)
    return out, n_opt == 0


class FastTokenMatcher:
    """Callable like ``spacy.matcher.Matcher``: ``matcher(doc) -> [(match_id, start, end), ...]``."""

    def __init__(self, index: list[dict[int, list[tuple]]], n_keys: int, fallback: Callable[[Doc], list]) -> None:
        # per attribute: signed value id -> [(match_id, variant, anchor, pattern number, fixed)]
        self._index = index
        self._attrs = [a for a, ix in zip(_ATTRS, index) if ix]
        self._n_keys = n_keys
        self._fallback = fallback
        self.fallbacks = 0  # Docs handed to spaCy's matcher

    def __len__(self) -> int:
        return self._n_keys

    def __call__(self, doc: Doc, **_: Any) -> list[tuple[int, int, int]]:
        n = len(doc)
        if n == 0 or not self._attrs:
            return []
        # int64 view: tolist() of uint64 is several times slower
        arr = doc.to_array(self._attrs).view("int64")
        cols: list[list[int] | None] = [None, None]
        k = 0
        for a, ix in enumerate(self._index):
            if ix:
                cols[a] = arr[:, k].tolist() if arr.ndim == 2 else arr.tolist()
                k += 1
        strings = doc.vocab.strings
        # (start, end) -> {match_id: (pattern number, fixed)}
        found: dict[tuple[int, int], dict[int, tuple[int, bool]]] = {}
        for attr, index in enumerate(self._index):
            if not index:
                continue
            for i, value in enumerate(cols[attr]):
                cands = index.get(value)
                if cands is None:
                    continue
                for match_id, seq, anchor, number, fixed in cands:
                    start = i - anchor
                    end = start + len(seq)
                    if start < 0 or end > n:
                        continue
                    ok = True
                    for p, test in enumerate(seq):
                        if p == anchor or test[0] == "any":
                            continue
                        col = cols[test[1]]
                        if col is None:  # an attribute no anchor uses
                            col = cols[test[1]] = doc.to_array(_ATTRS[test[1]]).view("int64").tolist()
                        if test[0] == "set":
                            if col[start + p] not in test[2]:
                                ok = False
                                break
                        elif not test[2].search(strings[col[start + p] % _U64]):
                            # spaCy's _RegexPredicate: search the attribute's string
                            ok = False
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
                # a "?" pattern shares this span: only spaCy knows its order
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
    index: list[dict[int, list]] = [{}, {}]
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
                # anchor on the required token with the fewest values (the first one on a tie)
                best = None
                for p, test in enumerate(seq):
                    if test[0] == "set" and (best is None or len(test[2]) < len(seq[best][2])):
                        best = p
                if best is None:
                    return None  # only wildcards and regexes: nothing to index
                attr, values = seq[best][1], seq[best][2]
                for v in values:
                    index[attr].setdefault(v, []).append((match_id, seq, best, number, fixed))
            number += 1
    return FastTokenMatcher(index, n_keys, fallback)


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
