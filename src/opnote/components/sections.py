"""Operative-note section detection on top of medspaCy's Sectionizer.

medspaCy's default section rules have no operative-note headings (no "PREOPERATIVE DIAGNOSIS",
"DESCRIPTION OF PROCEDURE", "ESTIMATED BLOOD LOSS", "SPECIMENS"), so this component loads
opnote's own heading list and expands each phrase into three token patterns: the phrase and a
colon, the phrase and the spoken word "colon", and the phrase in capitals alone on its line.
Rules are written by ``to_disk`` and read by ``from_disk``, so a saved pipeline keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from .. import _internals
from .. import rules as rule_files
from .._compat import import_medspacy

NEWLINE = {"TEXT": {"REGEX": "\n"}}


def build_section_rules(nlp: Language) -> list[dict[str, Any]]:
    """Expand ``sections.json`` into medspaCy section rules (as dicts).

    A heading starts a line and ends with a colon; a heading in capitals may also stand alone on
    its line. The canonical text (:func:`opnote.normalize.canonical`, which ``opnote.process`` and
    ``Checker`` apply) puts every heading it recognizes in this form: it gives a heading without a
    colon one, turns a dictated "colon" into one, drops a list marker before it ("II.", "1)") and
    moves a heading dictated or joined mid-line onto a line of its own, while "Operation:
    scraping out the lesion" inside a consent paragraph stays prose. Two patterns a phrase, where
    there were seven, keep the Sectionizer's cost where it was.
    """
    out: list[dict[str, Any]] = []
    for group in rule_files.sections().sections:
        for phrase in group.phrases:
            words = [t.text for t in nlp.make_doc(phrase)]
            lower = [{"LOWER": w.lower()} for w in words]
            out.append({"literal": phrase + ":", "category": group.category, "pattern": [NEWLINE] + lower + [{"ORTH": ":"}]})
            caps = [{"ORTH": w.upper()} for w in words]
            out.append({
                "literal": phrase.upper() + " (own line)",
                "category": group.category,
                "pattern": [NEWLINE] + caps + [{"TEXT": {"REGEX": "^\\s*\n"}}],
            })
    return out


class OpnoteSectionizer:
    """Wraps ``medspacy_sectionizer`` with operative-note headings that survive ``to_disk``."""

    def __init__(self, nlp: Language, name: str = "opnote_sectionizer", *, max_section_length: int | None = None) -> None:
        import_medspacy()
        from medspacy.section_detection import Sectionizer

        self.name = name
        self.nlp = nlp
        self.max_section_length = max_section_length
        self._Sectionizer = Sectionizer
        self.rules = build_section_rules(nlp)
        self._fast: Callable[[Doc], Doc] | None = None
        self._build()

    def _build(self) -> None:
        from medspacy.section_detection import SectionRule

        self.sectionizer = self._Sectionizer(
            self.nlp,
            name=self.name,
            rules=None,
            max_section_length=self.max_section_length,
            span_attrs=None,
        )
        # medspaCy's Sectionizer with opnote's faster build, matcher and token writes, on the
        # versions they were checked on (opnote._internals); None: medspaCy's own code
        _internals.prepare_sectionizer(self.sectionizer)
        self.sectionizer.add([SectionRule(literal=r["literal"], category=r["category"], pattern=r["pattern"]) for r in self.rules])
        self._fast = _internals.fast_sectionizer(self.sectionizer)

    def __call__(self, doc: Doc) -> Doc:
        out: Doc = self._fast(doc) if self._fast is not None else self.sectionizer(doc)
        _heading_starts_sentence(out)
        return out

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "section_rules.json").write_text(json.dumps({"section_rules": self.rules}, indent=1, sort_keys=True), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> OpnoteSectionizer:
        data = json.loads((Path(path) / "section_rules.json").read_text(encoding="utf-8"))
        self.rules = data["section_rules"]
        self._build()
        return self


def _heading_starts_sentence(doc: Doc) -> None:
    """A heading at the start of a line starts a sentence: "...the femoral triangle" /
    "postoperative diagnosis: same" in a note typed in lower case is two sentences, though the
    line break alone (lower case on both sides) reads as wrapped prose."""
    starts: list[int] = []
    for sec in doc._.sections:
        i = sec.title_start
        if sec.category is None or i is None:
            continue
        while i < len(doc) and doc[i].is_space:  # a title's span may open on the line break before it
            i += 1
        if i <= 0 or i >= len(doc):
            continue
        prev = doc[i - 1]
        if ("\n" in prev.text or "\n" in prev.whitespace_) and not doc[i].is_sent_start:
            starts.append(i)
    if starts:  # one array write (setting Token.is_sent_start checks the whole Doc each time)
        arr = doc.to_array([SENT_START])
        arr[starts] = 1
        doc.from_array([SENT_START], arr)  # type: ignore[arg-type]  # spaCy types to_array as float
