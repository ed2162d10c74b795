"""Target terms: spaCy's own ``span_ruler`` loaded with opnote's rule files.

spaCy's SpanRuler writes its patterns with ``to_disk`` and reads them back with ``spacy.load``
(medspaCy's TargetMatcher does neither), and keeps overlapping matches in a span group.
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.pipeline import SpanRuler
from spacy.tokens import Doc, Span

from .. import _internals
from .. import rules as rule_files
from .fastmatch import FastTokenMatcher

CANDIDATES_KEY = "opnote_candidates"


def build_target_patterns() -> list[dict[str, Any]]:
    """Expand ``targets.json`` and ``abbreviations.json`` into span_ruler patterns."""
    patterns: list[dict[str, Any]] = []
    groups = {g.id: g for g in rule_files.targets().groups}
    for g in groups.values():
        for phrase in g.phrases:
            patterns.append({"label": g.label, "pattern": phrase, "id": g.id})
        for pat in g.patterns:
            patterns.append({"label": g.label, "pattern": pat, "id": g.id})
    for a in rule_files.abbreviations().abbreviations:
        if a.target is None:
            continue
        label = groups[a.target].label
        patterns.append({"label": label, "pattern": [{"ORTH": a.short}], "id": a.target})
        if a.lower:
            patterns.append({"label": label, "pattern": [{"LOWER": a.short.lower()}], "id": a.target})
    return patterns


class OpnoteTargetRuler(SpanRuler):
    """spaCy's SpanRuler, matching its token patterns with :mod:`.fastmatch` when it can.

    SpanRuler de-duplicates and sorts its matches, so only the set of token matches counts,
    and :class:`~.fastmatch.FastTokenMatcher` finds the same set. Built on first use after the
    patterns change; patterns it cannot match exactly keep spaCy's Matcher, and so does a spaCy
    version other than the one ``opnote._internals`` was checked on (decided when the ruler is
    made, by :func:`make_target_ruler`).
    """

    _fast: FastTokenMatcher | bool | None = None
    _use_fast = False

    def _fast_matcher(self) -> FastTokenMatcher | bool:
        if not self._use_fast:
            return False
        if self._fast is None:
            from .fastmatch import compile_matcher

            entries = [
                (repr((p["label"], p.get("id", ""))), [p["pattern"]])
                for p in self._patterns
                if isinstance(p["pattern"], list)
            ]
            fast = compile_matcher(self.nlp.vocab, entries, self.matcher) if entries else None
            self._fast = fast if fast is not None else False
        return self._fast

    def add_patterns(self, patterns: list[Any]) -> None:
        self._fast = None
        # SpanRuler runs the pipeline's other components over every phrase pattern (before this
        # ruler is in the pipeline it disables only the last one); the phrase matcher compares
        # LOWER, which only the tokenizer sets, so run the tokenizer alone.
        with self.nlp.select_pipes(disable=self.nlp.pipe_names):
            super().add_patterns(patterns)

    def clear(self) -> None:
        self._fast = None
        super().clear()

    def remove(self, label: str) -> None:
        self._fast = None
        super().remove(label)

    def remove_by_id(self, pattern_id: str) -> None:
        self._fast = None
        super().remove_by_id(pattern_id)

    def match(self, doc: Doc) -> list[Span]:
        fast = self._fast_matcher()
        if isinstance(fast, FastTokenMatcher):
            return _internals.span_ruler_match(self, fast, doc)
        spans: list[Span] = super().match(doc)
        return spans


def make_target_ruler(nlp: Language, name: str, spans_key: str = CANDIDATES_KEY, validate: bool = False) -> SpanRuler:
    ruler = OpnoteTargetRuler(
        nlp,
        name,
        spans_key=spans_key,
        spans_filter=None,
        annotate_ents=False,
        phrase_matcher_attr="LOWER",
        validate=validate,
        overwrite=True,
    )
    ruler._use_fast = _internals.fast_span_ruler_ok()
    ruler.add_patterns(build_target_patterns())
    return ruler
