"""A rule sentence splitter for operative notes.

medspaCy's default splitter (PyRuSH) costs about 30 ms a note here, more than the rest of the
pipeline together, and joins lines of templated notes. This one sets ``Token.is_sent_start``
from punctuation, line breaks, blank lines, headings and spoken punctuation ("period",
"new paragraph") in one pass over the tokens.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

SPOKEN_BREAKS = {"period", "paragraph", "stop"}
NOT_SPOKEN_PERIOD = {
    "postoperative", "post-operative", "perioperative", "global", "recovery", "time", "waiting",
    "the", "a", "this", "that", "follow-up", "observation", "short", "long", "brief", "rest",
    "healing", "day", "day's", "month", "trial", "window", "same", "refractory", "latent",
}
END_PUNCT = {".", "?", "!"}


class OpnoteSentencizer:
    """Sentence boundaries for clinical layout and raw dictation."""

    def __init__(self, nlp: Language, name: str = "opnote_sentencizer", *, split_on_newline: bool = True) -> None:
        self.name = name
        self.split_on_newline = split_on_newline

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            return doc
        starts = [False] * n
        starts[0] = True
        for i in range(n - 1):
            tok = doc[i]
            text = tok.text
            nxt = doc[i + 1]
            if tok.is_space:
                if "\n" in text and self.split_on_newline:
                    # A line break ends a sentence unless the line is plainly wrapped prose:
                    # the previous word runs on and the next line starts in lower case.
                    prev = doc[i - 1] if i > 0 else None
                    wrapped = (
                        text.count("\n") == 1
                        and prev is not None
                        and not prev.is_punct
                        and nxt.is_lower
                        and prev.is_lower
                    )
                    if not wrapped:
                        starts[i + 1] = True
                continue
            if text in END_PUNCT:
                starts[i + 1] = True
            else:
                low = tok.lower_
                if low in SPOKEN_BREAKS:
                    prev = doc[i - 1].lower_ if i > 0 else ""
                    if low == "period" and prev not in NOT_SPOKEN_PERIOD:
                        starts[i + 1] = True
                    elif low == "paragraph" and prev in {"new", "next"}:
                        starts[i + 1] = True
                    elif low == "stop" and prev == "full":
                        starts[i + 1] = True
        for i, s in enumerate(starts):
            doc[i].is_sent_start = s
        return doc
