"""Fuzz opnote's FastTokenMatcher against spaCy's Matcher on opnote's own rule sets.

    .venv/bin/python bench/check_fastmatch.py [--docs 3000] [--seed 0]

For the section rules, the ConText rules and the target patterns it builds random token
sequences from the words the patterns use (in several casings), punctuation, line breaks and
filler, and checks on every one that the fast matcher returns the same set of matches as spaCy,
in the same order within a span (what medspaCy's overlap pruning depends on), and that
medspaCy's pruning then keeps the same matches. Exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import random
import sys


def _words(patterns) -> set[str]:
    out: set[str] = set()
    for pattern in patterns:
        for spec in pattern:
            for key, value in spec.items():
                if key.upper() == "OP":
                    continue
                vals = value.get("IN", []) if isinstance(value, dict) else [value]
                for v in vals:
                    if isinstance(v, str) and not v.startswith("^") and "\\" not in v:
                        out.add(v)
    return out


FILLER = ["the", "a", "was", "of", "and", "left", "right", "tumor", "femur", "x", "1", "2."]
PUNCT = [",", ".", ":", ";", "(", ")", "-", "\n", "\n\n", " \n"]


def _realize(pattern, pool: list[str], rng: random.Random) -> list[str]:
    """Tokens that (mostly) satisfy a pattern: a value each token allows, optional ones at random."""
    out: list[str] = []
    for spec in pattern:
        spec = {k.upper(): v for k, v in spec.items()}
        op = spec.pop("OP", None)
        reps = 1
        if op == "?":
            reps = rng.randint(0, 1)
        elif isinstance(op, str) and op.startswith("{"):
            lo, _, hi = op[1:-1].partition(",")
            reps = rng.randint(int(lo or 0), min(int(hi or 3), 3))
        for _ in range(reps):
            word = None
            for key, value in spec.items():
                if isinstance(value, dict) and "IN" in value:
                    word = rng.choice(value["IN"])
                elif isinstance(value, dict) and "REGEX" in value:
                    word = rng.choice(["\n", " \n", "\n\n"])
                elif isinstance(value, str):
                    word = value.upper() if key == "ORTH" and value.isupper() else value
            if word is None or rng.random() < 0.05:
                word = rng.choice(pool)
            out.append(word)
    return out


def _docs(vocab, words: list[str], n: int, rng: random.Random, patterns=()):
    from spacy.tokens import Doc

    pool = words + FILLER + PUNCT
    for _ in range(n):
        length = rng.randint(1, 60)
        toks = []
        while len(toks) < length:
            if patterns and rng.random() < 0.15:
                toks.extend(_realize(rng.choice(patterns), pool, rng))
                continue
            w = rng.choice(pool)
            r = rng.random()
            if r < 0.2:
                w = w.upper()
            elif r < 0.3:
                w = w.title()
            toks.append(w)
        toks = [t for t in toks if t]
        if not toks:
            toks = ["x"]
        spaces = [rng.random() < 0.7 and not t.isspace() for t in toks]
        yield Doc(vocab, words=toks, spaces=spaces)


def _by_span(matches):
    groups: dict = {}
    for m in matches:
        groups.setdefault((m[1], m[2]), []).append(m[0])
    return groups


def check(name: str, vocab, keyed_patterns, n_docs: int, rng: random.Random) -> int:
    from medspacy.common.util import prune_overlapping_matches
    from spacy.matcher import Matcher

    from opnote.components.fastmatch import compile_matcher

    spacy_matcher = Matcher(vocab)
    for key, patterns in keyed_patterns:
        spacy_matcher.add(key, patterns)
    fast = compile_matcher(vocab, keyed_patterns, spacy_matcher)
    if fast is None:
        print(f"{name}: patterns not supported by the fast matcher (spaCy's is used): nothing to check")
        return 0
    all_patterns = [p for _, ps in keyed_patterns for p in ps]
    words = sorted(_words(all_patterns))
    bad = 0
    n_matches = 0
    n_shared = 0
    for doc in _docs(vocab, words, n_docs, rng, all_patterns):
        ref = spacy_matcher(doc)
        got = fast(doc)
        n_matches += len(ref)
        n_shared += sum(1 for v in _by_span(ref).values() if len(v) > 1)
        if set(ref) != set(got):
            bad += 1
        elif any(_by_span(ref)[k] != v for k, v in _by_span(got).items()):
            bad += 1
        elif prune_overlapping_matches(list(ref)) != prune_overlapping_matches(list(got)):
            bad += 1
        if bad:
            toks = [t.text for t in doc]
            print(f"{name}: DIFFERENT on {toks!r}\n  spaCy: {sorted(ref)}\n  fast:  {sorted(got)}")
            return 1
    print(f"{name}: {n_docs} random docs, {n_matches} matches ({n_shared} spans matched by several rules), identical"
          f" ({fast.fallbacks} docs handed to spaCy for the order)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)

    from opnote.api import Checker

    nlp = Checker().nlp
    vocab = nlp.vocab
    sections = nlp.get_pipe("opnote_sectionizer").rules
    context = nlp.get_pipe("opnote_context").rules
    targets = nlp.get_pipe("opnote_targets").patterns
    rc = 0
    rc |= check("sections", vocab, [(f"S{i}", [r["pattern"]]) for i, r in enumerate(sections) if isinstance(r.get("pattern"), list)], a.docs, rng)
    rc |= check("context", vocab, [(f"C{i}", [r["pattern"]]) for i, r in enumerate(context) if isinstance(r.get("pattern"), list)], a.docs, rng)
    rc |= check("targets", vocab, [(f"T{i}", [p["pattern"]]) for i, p in enumerate(targets) if isinstance(p.get("pattern"), list)], a.docs, rng)
    return rc


if __name__ == "__main__":
    sys.exit(main())
