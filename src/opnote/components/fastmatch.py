"""A faster stand-in for spaCy's token ``Matcher`` on simple patterns, with identical results.

spaCy's ``Matcher`` starts every pattern at every token and evaluates ``IN`` and ``REGEX``
predicates in Python, so its cost is (tokens x patterns): medspaCy's Sectionizer (441 heading
patterns) and ConText (55 patterns with ``IN`` lists) spent about half of opnote's time per note
there. This matcher indexes each pattern by one token whose value it requires (a ``LOWER`` or
``ORTH`` value, or a set of them), looks up each token of the Doc once, and checks the rest of the
pattern only where the anchor occurs.

It accepts only what it can match exactly: tokens constrained by one of ``LOWER``, ``ORTH`` or
``TEXT`` (a string, ``{"IN": [...]}`` or ``{"REGEX": ...}``), the wildcard ``{}``, and the ``"?"``
operator; no callbacks. :func:`compile_matcher` returns ``None`` for anything else and the
caller keeps spaCy's matcher.

Results: the same set of ``(match_id, start, end)`` tuples as spaCy, sorted by (start, end).
spaCy orders matches by when its state machine emits them, and medspaCy's overlap pruning keeps
the first of two matches with the same span, so when two different patterns match the very same
span this matcher hands the Doc to spaCy's matcher and returns its list as is.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Iterable

from spacy.attrs import LOWER, ORTH
from spacy.strings import get_string_id
from spacy.tokens import Doc

_ATTR_INDEX = {"LOWER": 0, "ORTH": 1, "TEXT": 1}

# one token test: ("any",) | ("set", attr_index, frozenset of ids) | ("re", attr_index, compiled)
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
        return ("set", attr, frozenset([vocab.strings.add(value)])), op == "?"
    if isinstance(value, dict) and len(value) == 1:
        (pred, arg), = value.items()
        if pred == "IN" and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
            # spaCy's _SetPredicate: get_string_id(v) for each value
            return ("set", attr, frozenset(get_string_id(v) for v in arg)), op == "?"
        if pred == "REGEX" and isinstance(arg, str):
            return ("re", attr, re.compile(arg)), op == "?"
    return None


def _variants(pattern: list[dict[str, Any]], vocab) -> list[tuple[_Test, ...]] | None:
    """The fixed-length token sequences a pattern matches (each "?" token present or absent)."""
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
    return out


class FastTokenMatcher:
    """Callable like ``spacy.matcher.Matcher``: ``matcher(doc) -> [(match_id, start, end), ...]``."""

    def __init__(self, index: list[dict[int, list[tuple[int, tuple[_Test, ...], int]]]], n_rules: int, fallback: Callable[[Doc], list]) -> None:
        self._index = index  # per attribute: value id -> [(match_id, variant, anchor position)]
        self._n_rules = n_rules
        self._fallback = fallback
        self.fallbacks = 0  # Docs handed to spaCy's matcher (two patterns on one span)

    def __len__(self) -> int:
        return self._n_rules

    def __call__(self, doc: Doc, **_: Any) -> list[tuple[int, int, int]]:
        n = len(doc)
        if n == 0:
            return []
        arr = doc.to_array([LOWER, ORTH]).tolist()
        cols = ([a[0] for a in arr], [a[1] for a in arr])
        strings = doc.vocab.strings
        found: dict[tuple[int, int], int] = {}
        tie = False
        for attr, index in enumerate(self._index):
            if not index:
                continue
            col = cols[attr]
            for i, value in enumerate(col):
                cands = index.get(value)
                if cands is None:
                    continue
                for match_id, seq, anchor in cands:
                    start = i - anchor
                    end = start + len(seq)
                    if start < 0 or end > n:
                        continue
                    ok = True
                    for p, test in enumerate(seq):
                        if p == anchor or test[0] == "any":
                            continue
                        j = start + p
                        if test[0] == "set":
                            if cols[test[1]][j] not in test[2]:
                                ok = False
                                break
                        elif not test[2].search(strings[cols[test[1]][j]]):
                            # spaCy's _RegexPredicate: search the attribute's string
                            ok = False
                            break
                    if not ok:
                        continue
                    key = (start, end)
                    prev = found.get(key)
                    if prev is None:
                        found[key] = match_id
                    elif prev != match_id:
                        tie = True
        if tie:
            self.fallbacks += 1
            return list(self._fallback(doc))
        return [(mid, s, e) for (s, e), mid in sorted(found.items())]


def compile_matcher(vocab, entries: Iterable[tuple[str, list[list[dict[str, Any]]]]], fallback: Callable[[Doc], list]) -> FastTokenMatcher | None:
    """A :class:`FastTokenMatcher` for ``(key, patterns)`` entries, or None if any pattern is beyond it.

    ``fallback`` is spaCy's Matcher holding the same patterns (used for Docs where two
    patterns match one span, so the order of those matches is spaCy's).
    """
    index: list[dict[int, list]] = [{}, {}]
    n = 0
    for key, patterns in entries:
        match_id = vocab.strings.add(key)
        n += 1
        for pattern in patterns:
            variants = _variants(pattern, vocab)
            if variants is None:
                return None
            for seq in variants:
                # anchor on the required token with the fewest values (first one on a tie)
                best = None
                for p, test in enumerate(seq):
                    if test[0] == "set" and (best is None or len(test[2]) < len(seq[best][2])):
                        best = p
                if best is None:
                    return None  # only wildcards / regexes: nothing to index
                attr, values = seq[best][1], seq[best][2]
                for v in values:
                    index[attr].setdefault(v, []).append((match_id, seq, best))
    return FastTokenMatcher(index, n, fallback)


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
