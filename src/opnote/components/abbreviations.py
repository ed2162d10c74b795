"""Abbreviations the note defines, with scispaCy's AbbreviationDetector.

"distal femoral replacement (DFR)" makes every later "DFR" carry what its long form was matched
as. Abbreviations the note does not define (DFR, PTR, FS, GCT, OS, UPS, APC, TKA, EBL) come
from the lexicon in ``rules/abbreviations.json``, matched by the target ruler.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from .doctext import doc_text
from .targets import CANDIDATES_KEY


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
        self.detector(doc)
        abbrs = list(doc._.abbreviations)
        # Keep plain data on the Doc so it pickles (multiprocessing) and serializes.
        doc._.abbreviations = [
            {"short_text": a.text, "short_start": a.start_char, "short_end": a.end_char,
             "long_text": a._.long_form.text, "long_start": a._.long_form.start_char, "long_end": a._.long_form.end_char}
            for a in abbrs
        ]
        for a in abbrs:
            a._.long_form = None
        if not abbrs:
            return doc
        spans = list(doc.spans[self.spans_key]) if self.spans_key in doc.spans else []
        by_range: dict[tuple[int, int], list] = {}
        for s in spans:
            by_range.setdefault((s.start_char, s.end_char), []).append(s)
        added = []
        for short in abbrs:
            rec = next(d for d in doc._.abbreviations if d["short_start"] == short.start_char)
            lf_start, lf_end = rec["long_start"], rec["long_end"]
            inside = [s for s in spans if s.start_char >= lf_start and s.end_char <= lf_end and s.label_ != "SIDE"]
            if not inside:
                continue
            longest = max(inside, key=lambda s: s.end_char - s.start_char)
            key = (short.start_char, short.end_char)
            if any(x.label_ == longest.label_ for x in by_range.get(key, [])):
                continue
            new = doc[short.start:short.end]
            new = doc.char_span(new.start_char, new.end_char, label=longest.label_)
            if new is None:
                continue
            new.id_ = longest.id_
            added.append(new)
            by_range.setdefault(key, []).append(new)
        if added:
            doc.spans[self.spans_key] = spans + added
        return doc
