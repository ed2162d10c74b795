"""Target terms: spaCy's own ``span_ruler`` loaded with opnote's rule files.

spaCy's SpanRuler writes its patterns with ``to_disk`` and reads them back with ``spacy.load``
(medspaCy's TargetMatcher does neither), and keeps overlapping matches in a span group.
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.pipeline import SpanRuler

from .. import rules as rule_files

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


def make_target_ruler(nlp: Language, name: str, spans_key: str = CANDIDATES_KEY, validate: bool = False) -> SpanRuler:
    ruler = SpanRuler(
        nlp,
        name,
        spans_key=spans_key,
        spans_filter=None,
        annotate_ents=False,
        phrase_matcher_attr="LOWER",
        validate=validate,
        overwrite=True,
    )
    ruler.add_patterns(build_target_patterns())
    return ruler
