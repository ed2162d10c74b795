"""Abbreviations the note defines, with scispaCy's AbbreviationDetector.

"distal femoral replacement (DFR)" makes every later "DFR" carry what its long form was matched
as. Abbreviations the note does not define (DFR, PTR, FS, GCT, OS, UPS, APC, TKA, EBL) come
from the lexicon in ``rules/abbreviations.json``, matched by the target ruler.
"""

from __future__ import annotations

import bisect
import warnings
from typing import TypedDict

import numpy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span

from .doctext import doc_text
from .targets import CANDIDATES_KEY


class AbbreviationRecord(TypedDict):
    """An abbreviation the note defines, as left on the Doc (``doc._.abbreviations``)."""

    short_text: str
    short_start: int
    short_end: int
    long_text: str
    long_start: int
    long_end: int


class OpnoteAbbreviations:
    """Copies the matches of a defined long form onto each use of its short form."""

    def __init__(self, nlp: Language, name: str = "opnote_abbreviations", *, spans_key: str = CANDIDATES_KEY) -> None:
        from scispacy.abbreviation import AbbreviationDetector

        self.name = name
        self.spans_key = spans_key
        self.detector = AbbreviationDetector(nlp, name=name + "_detector", make_serializable=False)

    def __call__(self, doc: Doc) -> Doc:
        if "(" not in doc_text(doc):
            return doc
        # scispaCy's extension default is one shared list: give each doc its own.
        doc._.abbreviations = []
        self._detect(doc)
        # scispaCy returns them in set order, which varies between processes: sort by position.
        abbrs = sorted(doc._.abbreviations, key=lambda a: (a.start_char, a.end_char))
        # Keep plain data on the Doc so it pickles (multiprocessing) and serializes.
        records: list[AbbreviationRecord] = [
            {"short_text": a.text, "short_start": a.start_char, "short_end": a.end_char,
             "long_text": a._.long_form.text, "long_start": a._.long_form.start_char, "long_end": a._.long_form.end_char}
            for a in abbrs
        ]
        doc._.abbreviations = records
        for a in abbrs:
            a._.long_form = None
        if abbrs:
            self._copy_long_form_matches(doc, abbrs, records)
        return doc

    def _copy_long_form_matches(self, doc: Doc, abbrs: list[Span], records: list[AbbreviationRecord]) -> None:
        """Give each short form the longest candidate its long form holds (not a side)."""
        spans = list(doc.spans[self.spans_key]) if self.spans_key in doc.spans else []
        by_range: dict[tuple[int, int], list[Span]] = {}
        for s in spans:
            by_range.setdefault((s.start_char, s.end_char), []).append(s)
        added = []
        # Looked up by position, not by scanning (a note with thousands of "(DFR)" stays linear).
        rec_at: dict[int, AbbreviationRecord] = {}
        for d in records:
            rec_at.setdefault(d["short_start"], d)
        inside_of: dict[tuple[int, int], list[Span]] = {}
        for short in abbrs:
            rec = rec_at[short.start_char]
            long_form = (rec["long_start"], rec["long_end"])
            if long_form not in inside_of:
                inside_of[long_form] = [s for s in spans if s.start_char >= long_form[0] and s.end_char <= long_form[1] and s.label_ != "SIDE"]
            inside = inside_of[long_form]
            if not inside:
                continue
            longest = max(inside, key=lambda s: s.end_char - s.start_char)
            key = (short.start_char, short.end_char)
            if any(x.label_ == longest.label_ for x in by_range.get(key, [])):
                continue
            whole = doc[short.start:short.end]
            new = doc.char_span(whole.start_char, whole.end_char, label=longest.label_)
            if new is None:
                continue
            new.id_ = longest.id_
            added.append(new)
            by_range.setdefault(key, []).append(new)
        if added:
            doc.spans[self.spans_key] = spans + added

    def _detect(self, doc: Doc) -> None:
        """scispaCy's ``AbbreviationDetector.__call__``, with its "( ... )" pairs found in linear time.

        scispaCy's matcher pairs every "(" with every later ")" and its filter then drops the pairs
        more than 8 words apart: thousands of parentheses made millions of matches (10,000 "(DFR)"
        ran for hours). The pairs it keeps are found here directly, in the matcher's order
        (by end, then later start first), so the abbreviations found are the same.
        """
        from scispacy.abbreviation import filter_matches

        text = doc_text(doc)
        if "(" not in text or ")" not in text:
            return  # no "( ... )" pair: scispaCy would find nothing (its matcher of defined forms is empty)
        orth = doc.to_array(ORTH)
        strings = doc.vocab.strings
        closes = numpy.flatnonzero(orth == strings[")"]).tolist()
        pairs: list[tuple[int, int, int]] = []
        for i in numpy.flatnonzero(orth == strings["("]).tolist():
            k = bisect.bisect_left(closes, i + 2)
            while k < len(closes) and closes[k] - i - 1 <= _MAX_PAREN_WORDS:
                pairs.append((0, i + 1, closes[k]))  # inside the brackets, as scispaCy passes them on
                k += 1
        if not pairs:
            return
        pairs.sort(key=lambda m: (m[2], -m[1]))
        with warnings.catch_warnings():
            # scispaCy runs its matcher of defined short forms also when the note defined none,
            # and spaCy then warns (W036) on every such note; spaCy's own SpanRuler silences it
            # the same way. The host's warning filters are restored on leaving the block.
            warnings.filterwarnings("ignore", message=r"\[W036\]")
            occurrences = self.detector.find_matches_for(filter_matches(pairs, doc), doc)
        for long_form, short_forms in occurrences:
            for short in short_forms:
                short._.long_form = long_form
                doc._.abbreviations.append(short)


# scispaCy's filter_matches skips a parenthesis holding more than 8 words.
_MAX_PAREN_WORDS = 8
