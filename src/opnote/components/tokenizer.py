"""spaCy's tokenizer, with its cache filled line by line.

spaCy's tokenizer keeps the tokens of every white-space-delimited piece it has split, so a word seen
before costs a look-up. It stops saving them, for the rest of a text, once a special case ("Dr.",
"e.g.", "p.m.") has matched in that text (spaCy issue #1250: the special-case matcher may then join
tokens across pieces), and nearly every operative note has one in its header. Most of a note's
words are then split by the affix rules on every call, in every note.

:class:`LineCachedTokenizer` tokenizes exactly as spaCy's does (it is spaCy's ``Tokenizer``, with
its rules): before tokenizing a text, it tokenizes each line of it on its own, which fills the cache
with the pieces of lines without a special case, as separate texts would. The tokens of the text
are then those ``Tokenizer.__call__`` returns for the whole text; a cache entry is the tokens of
one piece, the same in every context spaCy saves it in. A line already tokenized on its own is
remembered by its hash (no text is kept), so a note sent again after every dictated sentence is
warmed once. The text is also remembered as the Doc's text (:mod:`opnote.components.doctext`),
which spaCy would otherwise rebuild from the tokens. On the canonical text of this project's notes
it tokenizes about three times faster (0.7 against 2.4 ms a note); on raw reports whose lines hold
fewer special cases the gain is smaller (the README gives the figures).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from spacy import util
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc

from .doctext import remember_text

# spaCy's compiled Tokenizer, without type information
Tokenizer: Any = importlib.import_module("spacy.tokenizer").Tokenizer

__all__ = ["LineCachedTokenizer", "create_tokenizer"]


# How many lines' hashes a tokenizer remembers before it starts again.
_WARMED_MAX = 100_000


class LineCachedTokenizer(Tokenizer):  # type: ignore[misc]  # a compiled class, typed Any
    """spaCy's ``Tokenizer``; a text's lines are tokenized first, to fill the cache (see the module)."""

    def __call__(self, string: str) -> Doc:
        if "\n" in string.rstrip("\n"):
            self._warm(string)
        doc: Doc = super().__call__(string)
        remember_text(doc, string)  # a tokenizer's Doc has the text it was given; spaCy rebuilds it per access
        return doc

    def _warm(self, string: str) -> None:
        """Tokenize each line not seen before on its own. Lines seen are remembered by their hash
        (no text is kept), a bounded number of them: a session's note, sent again after every
        sentence, is warmed once."""
        warmed: set[int] | None = getattr(self, "_warmed", None)
        if warmed is None or len(warmed) > _WARMED_MAX:
            warmed = set()
            self._warmed = warmed
        tokenize = super().__call__
        for line in string.split("\n"):
            if line:
                h = hash(line)
                if h not in warmed:
                    tokenize(line)
                    warmed.add(h)


def _with_capitals(rules: dict[str, list[dict[int, str]]]) -> dict[str, list[dict[int, str]]]:
    """The language's special cases, with the contractions in capitals too. spaCy lists "cannot",
    "didn't" and "Didn't" but not "CANNOT" or "DIDN'T", so a note typed in capitals kept "CANNOT"
    one token and its negation unread. Only contractions are added: "IM" (intramedullary) must not
    split as "im" ("I am") does."""
    out = dict(rules)
    for key, pieces in rules.items():
        if ("'" in key or "\u2019" in key or key.lower() == "cannot") and any(ch.isalpha() for ch in key):
            out.setdefault(key.upper(), [{**p, ORTH: p[ORTH].upper()} for p in pieces])
    return out


def create_tokenizer() -> Callable[[Language], LineCachedTokenizer]:
    """The ``opnote.Tokenizer.v1`` tokenizer: the language's defaults, as ``spacy.Tokenizer.v1``."""

    def make(nlp: Language) -> LineCachedTokenizer:
        d = nlp.Defaults
        return LineCachedTokenizer(
            nlp.vocab,
            rules=_with_capitals(d.tokenizer_exceptions),
            prefix_search=util.compile_prefix_regex(d.prefixes).search if d.prefixes else None,
            suffix_search=util.compile_suffix_regex(d.suffixes).search if d.suffixes else None,
            infix_finditer=util.compile_infix_regex(d.infixes).finditer if d.infixes else None,
            token_match=d.token_match,
            url_match=d.url_match,
        )

    return make
