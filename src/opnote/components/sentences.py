"""A rule sentence splitter for operative notes.

medspaCy's default splitter (PyRuSH) costs about 30 ms a note here, more than the rest of the
pipeline together, and joins lines of templated notes. This one sets ``Token.is_sent_start``
from punctuation, line breaks, blank lines, headings and spoken punctuation ("period",
"new paragraph") in one pass over the tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy
from spacy.attrs import IS_LOWER, IS_PUNCT, IS_SPACE, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

if TYPE_CHECKING:  # pragma: no cover
    from numpy.typing import NDArray

    Ints = NDArray[numpy.int64]
    Bools = NDArray[numpy.bool_]

SPOKEN_BREAKS = {"period", "paragraph", "stop"}
NOT_SPOKEN_PERIOD = {
    "postoperative", "post-operative", "perioperative", "global", "recovery", "time", "waiting",
    "the", "a", "this", "that", "follow-up", "observation", "short", "long", "brief", "rest",
    "healing", "day", "day's", "month", "trial", "window", "same", "refractory", "latent",
}
END_PUNCT = {".", "?", "!"}
# Words whose full stop is an abbreviation's, not a sentence end. spaCy's tokenizer keeps "Dr." as
# one token but splits "dr." (a note typed in lower case), so the rule reads the word before ".".
# A line that ends on one of these words is wrapped, whatever its case ("SUSPICIOUS FOR" /
# "OSTEOSARCOMA"): no sentence ends on a preposition, an article or a conjunction.
RUN_ON_WORDS = {
    "for", "of", "with", "to", "and", "or", "the", "a", "an", "in", "at", "by", "from", "on", "into",
    "than", "versus", "vs", "without", "including", "involving", "abutting", "near",
}
# ... and the sides written short ("Rt. distal femur", "Lt. knee"): the side belongs to what follows.
TITLE_ABBREVIATIONS = {"dr", "mr", "mrs", "ms", "prof", "vs", "approx", "fig", "cf", "st", "mt", "rt", "lt"}
_U64 = 1 << 64


def _signed(h: int) -> int:
    return h - _U64 if h >= 1 << 63 else h


def _list_marker(doc: Doc, i: int) -> bool:
    """Is token i the "." of a list number ("1." / "2 .") at the start of a line?"""
    tok = doc[i]
    if tok.text != ".":
        num_i = i  # "1." tokenized as one token
    else:
        num_i = i - 1
        if num_i < 0 or not doc[num_i].text.isdigit():
            return False
    j = num_i - 1
    return j < 0 or (doc[j].is_space and "\n" in doc[j].text) or doc[j].text.endswith("\n")


class OpnoteSentencizer:
    """Sentence boundaries for clinical layout and raw dictation."""

    def __init__(self, nlp: Language, name: str = "opnote_sentencizer", *, split_on_newline: bool = True) -> None:
        self.name = name
        self.split_on_newline = split_on_newline
        # The rules compare string ids (what Doc.to_array returns) instead of making a Token per word.
        # (int64 ids: tolist() of a uint64 array is several times slower)
        def ids(w: str) -> int:
            return _signed(nlp.vocab.strings.add(w))

        self._end_punct = {ids(w) for w in END_PUNCT}
        self._query = ids("?")
        self._spoken = {ids(w): w for w in SPOKEN_BREAKS}
        self._not_spoken_period = {ids(w) for w in NOT_SPOKEN_PERIOD}
        self._new_next = {ids("new"), ids("next")}
        self._full = ids("full")
        self._titles = {ids(w) for w in TITLE_ABBREVIATIONS}
        self._dot = ids(".")
        self._run_on = {ids(w) for w in RUN_ON_WORDS}

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            return doc
        arr = doc.to_array([IS_SPACE, IS_PUNCT, IS_LOWER, ORTH, LOWER]).view("int64").reshape(n, 5)
        starts = numpy.full(n, -1, dtype="int64")
        starts[0] = 1
        # Each rule only ever marks token i + 1 as a sentence start, so the rules are applied
        # to just the tokens they concern (found with numpy) instead of a Python loop over all.
        is_space = arr[: n - 1, 0] != 0
        if self.split_on_newline:
            self._line_breaks(doc, arr, is_space, starts)
        punct = self._full_stops(doc, arr, is_space, starts)
        self._spoken_punctuation(arr, punct | is_space, starts)
        # spaCy's stub says Ints2d; Doc.from_array takes a 1-D array for a single attribute.
        doc.from_array([SENT_START], starts.view("uint64"))  # type: ignore[arg-type]
        return doc

    def _line_breaks(self, doc: Doc, arr: Ints, is_space: Bools, starts: Ints) -> None:
        """A line break ends a sentence unless the line is plainly wrapped prose: the previous
        word runs on and the next line starts in lower case, or the line ends on a word no
        sentence ends on."""
        strings = doc.vocab.strings
        is_punct, is_lower, low = arr[:, 1].tolist(), arr[:, 2].tolist(), arr[:, 4].tolist()
        for i in numpy.flatnonzero(is_space).tolist():
            text = strings[int(arr[i, 3]) % _U64]
            if "\n" in text:
                single = text.count("\n") == 1 and i > 0 and not is_punct[i - 1]
                wrapped = single and ((is_lower[i + 1] and is_lower[i - 1]) or low[i - 1] in self._run_on)
                if not wrapped:
                    starts[i + 1] = 1

    def _full_stops(self, doc: Doc, arr: Ints, is_space: Bools, starts: Ints) -> Bools:
        """Sentence ends at ".", "?" and "!"; returns where they stand (for the spoken rules)."""
        n = len(arr)
        orth, low = arr[: n - 1, 3], arr[: n - 1, 4]
        punct = numpy.zeros(n - 1, dtype=bool)
        for value in self._end_punct:
            punct |= orth == value
        for i in numpy.flatnonzero(punct & ~is_space).tolist():
            # "1." opening a numbered line is a list marker, not the end of a sentence; nor is the
            # full stop of "dr." written in lower case.
            if orth[i] == self._dot and i > 0 and low[i - 1] in self._titles and not doc[i - 1].whitespace_:
                continue
            # "? osteosarcoma", "?OS": a question mark set before a word queries it; it ends nothing.
            if orth[i] == self._query and i > 0 and doc[i - 1].whitespace_ and not doc[i].whitespace_.count("\n") and doc[i + 1].is_alpha:
                continue
            if not _list_marker(doc, i):
                starts[i + 1] = 1
        return punct

    def _spoken_punctuation(self, arr: Ints, skip: Bools, starts: Ints) -> None:
        """Dictated "period", "new paragraph", "full stop" (not "postoperative period")."""
        n = len(arr)
        low = arr[: n - 1, 4]
        spoken_at = numpy.zeros(n - 1, dtype=bool)
        for value in self._spoken:
            spoken_at |= low == value
        for i in numpy.flatnonzero(spoken_at & ~skip).tolist():
            word = self._spoken[int(low[i])]
            prev_low = int(arr[i - 1, 4]) if i > 0 else None
            if word == "period" and prev_low not in self._not_spoken_period:
                starts[i + 1] = 1
            elif word == "paragraph" and prev_low in self._new_next:
                starts[i + 1] = 1
            elif word == "stop" and prev_low == self._full:
                starts[i + 1] = 1
