"""Operative-note section detection on top of medspaCy's Sectionizer.

medspaCy's default section rules have no operative-note headings (no "PREOPERATIVE DIAGNOSIS",
"DESCRIPTION OF PROCEDURE", "ESTIMATED BLOOD LOSS", "SPECIMENS"), so this component loads
opnote's own heading list and expands each phrase into three token patterns: the phrase and a
colon, the phrase and the spoken word "colon", and the phrase in capitals alone on its line.
Rules are written by ``to_disk`` and read by ``from_disk``, so a saved pipeline keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spacy.attrs import IDX
from spacy.language import Language
from spacy.tokens import Doc

from .._compat import import_medspacy
from .. import rules as rule_files


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
        # The patterns are generated from sections.json phrases (always well formed): skip spaCy's
        # pydantic validation of each one, the largest part of building this component.
        spacy_matcher = getattr(getattr(self.sectionizer, "_Sectionizer__matcher", None), "_MedspacyMatcher__matcher", None)
        if spacy_matcher is not None and hasattr(spacy_matcher, "validate"):
            spacy_matcher.validate = False
        self.sectionizer.add([SectionRule(literal=r["literal"], category=r["category"], pattern=r["pattern"]) for r in self.rules])
        # Same matches as spaCy's Matcher, indexed by token instead of trying every rule at every token.
        from .fastmatch import accelerate

        accelerate(getattr(self.sectionizer, "_Sectionizer__matcher", None))

    def __call__(self, doc: Doc) -> Doc:
        if _fast_sectionizer_ok(self.sectionizer):
            return _run_sectionizer(self.sectionizer, doc)
        return self.sectionizer(doc)

    def to_disk(self, path: str | Path, *, exclude: Any = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "section_rules.json").write_text(json.dumps({"section_rules": self.rules}, indent=1, sort_keys=True), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Any = ()) -> "OpnoteSectionizer":
        data = json.loads((Path(path) / "section_rules.json").read_text(encoding="utf-8"))
        self.rules = data["section_rules"]
        self._build()
        return self


# ---------------------------------------------------------------------------------------------
# medspaCy's Sectionizer ends by setting ``token._.section`` token by token, through spaCy's
# Underscore object (about 1 ms a note here, more than its matching). The value lands in
# ``doc.user_data`` under the key spaCy's Underscore uses for a token extension; _run_sectionizer
# is Sectionizer.__call__ (medspaCy 1.3.1) for the options opnote uses, writing those keys
# directly. Anything else (parent sections, line filters, assertion attributes, sentence
# boundaries, a different Underscore key layout) takes medspaCy's own code.

_TOKEN_KEY_OK: bool | None = None


def _token_key_layout_ok(doc: Doc) -> bool:
    """Does ``token._.section = x`` store ``doc.user_data[("._.", "section", token.idx, None)]``?"""
    global _TOKEN_KEY_OK
    if _TOKEN_KEY_OK is None:
        from spacy.tokens import Token

        ext = Token.get_extension("section")
        ok = ext is not None and ext[1] is None and ext[2] is None and ext[3] is None
        if ok:
            probe = Doc(doc.vocab, words=["a", "b"])
            marker = object()
            probe[1]._.section = marker
            ok = probe.user_data.get(("._.", "section", probe[1].idx, None)) is marker and len(probe.user_data) == 1
        _TOKEN_KEY_OK = ok
    return _TOKEN_KEY_OK


def _fast_sectionizer_ok(sectionizer: Any) -> bool:
    from medspacy.section_detection import Sectionizer

    return (
        type(sectionizer) is Sectionizer
        and hasattr(sectionizer, "_Sectionizer__matcher")
        and not sectionizer.require_start_line
        and not sectionizer.require_end_line
        and not sectionizer._parent_sections
        and not sectionizer._apply_sentence_boundary
        and not sectionizer.assertion_attributes_mapping
    )


def _run_sectionizer(sectionizer: Any, doc: Doc) -> Doc:
    from medspacy.section_detection import Section

    if not _token_key_layout_ok(doc):
        return sectionizer(doc)
    matcher = sectionizer._Sectionizer__matcher
    matches = matcher(doc)
    doc._.sections = []
    n = len(doc)
    if len(matches) == 0:
        doc._.sections.append(Section(None, 0, 0, 0, n))
        return doc
    section_list = []
    if matches[0][1] != 0:
        section_list.append(Section(None, 0, 0, 0, matches[0][1]))
    strings = sectionizer.nlp.vocab.strings
    rule_map = matcher.rule_map
    max_len = sectionizer.max_section_length
    for i, (match_id, start, end) in enumerate(matches):
        rule = rule_map[strings[match_id]]
        category = rule.category
        if i == len(matches) - 1:
            if max_len is None and rule.max_scope is None:
                section_list.append(Section(category, start, end, end, n, None, rule))
            else:
                if rule.max_scope is not None:
                    scope_end = min(end + rule.max_scope, doc[-1].i + 1)
                else:
                    scope_end = min(end + max_len, doc[-1].i + 1)
                section_list.append(Section(category, start, end, end, scope_end, None, rule))
        else:
            next_start = matches[i + 1][1]
            if max_len is None and rule.max_scope is None:
                section_list.append(Section(category, start, end, end, next_start, None, rule))
            else:
                if rule.max_scope is not None:
                    scope_end = min(end + rule.max_scope, next_start)
                else:
                    scope_end = min(end + max_len, next_start)
                section_list.append(Section(category, start, end, end, scope_end, None, rule))
    idx = doc.to_array(IDX).tolist()
    user_data = doc.user_data
    for section in section_list:
        doc._.sections.append(section)
        start, end = section.section_span
        # doc[start:end] clips the slice to the Doc
        start, end = max(0, min(start, n)), max(0, min(end, n))
        for i in range(start, end):
            user_data[("._.", "section", idx[i], None)] = section
    return doc
