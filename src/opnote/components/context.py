"""Assertion (negated / possible / hypothetical / historical) with medspaCy's ConText.

medspaCy's default English rules are kept, with two corrections measured on operative notes:

* a result is not a negation: "frozen section ... negative for tumor" is a frozen section that
  was done. Default negation rules do not modify result-bearing findings (frozen sections,
  margin statements, imaging, pathology); opnote's own rules ("was not sent", "not performed",
  "no frozen") negate them instead;
* post-negations the default rules miss: "the proximal tibia and patella were not involved",
  "a gastrocnemius flap was not required".

The combined rules are written by ``to_disk``, so a saved pipeline keeps them.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .._compat import import_medspacy
from .. import rules as rule_files
from .targets import CANDIDATES_KEY


# medspaCy's matcher runs a spaCy Matcher that may hold no token patterns; spaCy then warns
# (W036) on every note. The warning says nothing about the note, so it is filtered narrowly.
warnings.filterwarnings("ignore", message=r"\[W036\] The component 'matcher' does not have any patterns defined")


def _default_rule_dicts() -> list[dict[str, Any]]:
    import_medspacy()
    import medspacy.context as mc

    # medspaCy installs its resources beside the package (site-packages/resources/en).
    base = Path(mc.__file__).resolve()
    candidates = [p / "resources" / "en" / "context_rules.json" for p in base.parents[:4]]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        from ..errors import RuleFileError

        raise RuleFileError("medspaCy's default ConText rules (resources/en/context_rules.json) were not found")
    return json.loads(path.read_text(encoding="utf-8"))["context_rules"]


def build_context_rules() -> list[dict[str, Any]]:
    """medspaCy's default rules, corrected for operative notes, plus opnote's own rules."""
    cfg = rule_files.context()
    from .. import rules as r

    all_labels = set(r.LABELS) | {"DIMENSION"}
    result_bearing = set(cfg.result_bearing_labels)
    out: list[dict[str, Any]] = []
    for rule in _default_rule_dicts():
        rule = dict(rule)
        cat = rule["category"]
        excluded = set(cfg.default_excluded.get(cat, []))
        if cat == "NEGATED_EXISTENCE":
            excluded |= result_bearing
        excluded |= {"SIDE", "DIMENSION"}
        allowed = rule.get("allowed_types")
        if allowed:
            rule["allowed_types"] = sorted(set(allowed) - excluded)
            rule.pop("excluded_types", None)
            if not rule["allowed_types"]:
                continue
        else:
            rule["allowed_types"] = sorted(all_labels - excluded - set(rule.get("excluded_types") or []))
            rule.pop("excluded_types", None)
        out.append(rule)
    for row in cfg.context_rules:
        out.append(row.model_dump(exclude_none=True))
    return out


class OpnoteContext:
    """Wraps ``medspacy_context`` over the candidate span group."""

    def __init__(self, nlp: Language, name: str = "opnote_context", *, spans_key: str = CANDIDATES_KEY) -> None:
        import_medspacy()
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.rules = build_context_rules()
        self._build()

    def _build(self) -> None:
        from medspacy.context import ConText, ConTextRule

        self.context = ConText(
            self.nlp,
            name=self.name,
            rules=None,
            input_span_type="group",
            span_group_name=self.spans_key,
        )
        rules = []
        for r in self.rules:
            kw = {k: v for k, v in r.items() if k in {"literal", "category", "pattern", "direction", "allowed_types", "excluded_types", "max_scope", "max_targets"}}
            for k in ("allowed_types", "excluded_types"):
                if kw.get(k) is not None:
                    kw[k] = set(kw[k])
            rules.append(ConTextRule(**kw))
        self.context.add(rules)
        # Same matches as spaCy's Matcher, indexed by token instead of trying every rule at every token.
        from .fastmatch import accelerate

        accelerate(getattr(self.context, "_ConText__matcher", None))

    def __call__(self, doc: Doc) -> Doc:
        if self.spans_key not in doc.spans or not len(doc.spans[self.spans_key]):
            return doc
        if _fast_context_ok(self.context):
            return _run_context(self.context, doc)
        return self.context(doc)

    def to_disk(self, path: str | Path, *, exclude: Any = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "context_rules.json").write_text(json.dumps({"context_rules": self.rules}, indent=1, sort_keys=True), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Any = ()) -> "OpnoteContext":
        self.rules = json.loads((Path(path) / "context_rules.json").read_text(encoding="utf-8"))["context_rules"]
        self._build()
        return self


# ---------------------------------------------------------------------------------------------
# ConText without its quadratic loops. medspaCy's ConTextGraph compares every pair of modifiers
# (update_scopes) and calls ConTextModifier.modifies() for every (target, modifier) pair of the
# Doc (apply_modifiers): about 1,400 method calls for a 500-token note, and time growing with
# the square of the note's length (a 160,000-token note took minutes). Both only ever act on
# pairs whose scopes overlap, so the versions below find those pairs by position first and then
# call medspaCy's own methods on them in medspaCy's order: the same scopes, edges and
# attributes. _run_context is ConText.__call__ (medspaCy 1.3.1, span-group input) with those
# two steps swapped.


def _fast_context_ok(context: Any) -> bool:
    from medspacy.context import ConText

    return (
        type(context) is ConText
        and context.input_span_type == "group"
        and hasattr(context, "_ConText__matcher")
    )


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    # medspacy.util.tuple_overlaps((a0, a1), (b0, b1))
    return a0 <= b0 < a1 or a0 < b1 <= a1


def _disjoint_modifiers(modifiers: list[Any]) -> bool:
    spans = sorted(m.modifier_span for m in modifiers)
    return all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def _update_scopes(graph: Any) -> None:
    """ConTextGraph.update_scopes, visiting only the pairs whose scopes can overlap.

    medspaCy calls limit_scope both ways on every pair of modifiers (quadratic in the note's
    length). limit_scope does nothing unless the two current scopes overlap, and scopes only
    shrink inside their first extent (when modifiers do not overlap each other, which
    medspaCy's match pruning ensures; checked here), so pairs whose first extents are apart are
    skipped and the others are visited in medspaCy's order.
    """
    mods = graph.modifiers
    n = len(mods)
    if n < 2 or not _disjoint_modifiers(mods):
        graph.update_scopes()
        return
    scopes = [m.scope_span for m in mods]
    order = sorted(range(n), key=lambda k: scopes[k][0])
    pairs = []
    for pos, k in enumerate(order):
        s0, e0 = scopes[k]
        for other in order[pos + 1:]:
            if scopes[other][0] > e0:
                break
            if scopes[other][1] >= s0:
                pairs.append((k, other) if k < other else (other, k))
    pairs.sort()
    for i, j in pairs:
        mods[i].limit_scope(mods[j])
        mods[j].limit_scope(mods[i])


def _apply_modifiers(graph: Any) -> None:
    """ConTextGraph.apply_modifiers, testing each target only against modifiers near it.

    modifies() is False unless the target overlaps the modifier's scope, so each target is
    checked (in medspaCy's order) only against the modifiers whose scope can reach it.
    """
    import bisect

    targets = list(graph.targets)
    bounds = [(t.start, t.end) for t in targets]
    if graph.prune_on_modifier_overlap:
        for i in range(len(graph.modifiers) - 1, -1, -1):
            m0, m1 = graph.modifiers[i].modifier_span
            for t0, t1 in bounds:
                if _overlaps(t0, t1, m0, m1):
                    graph.modifiers.pop(i)
                    break
    modifiers = graph.modifiers
    scopes = [m.scope_span for m in modifiers]
    if all(s0 <= s1 for s0, s1 in scopes):
        by_start = sorted(range(len(modifiers)), key=lambda k: scopes[k][0])
        starts = [scopes[k][0] for k in by_start]
        longest = max((s1 - s0 for s0, s1 in scopes), default=0)
        for target, (t0, t1) in zip(targets, bounds):
            lo = bisect.bisect_left(starts, t0 - longest)
            hi = bisect.bisect_right(starts, t1)
            for k in sorted(by_start[lo:hi]):
                s0, s1 = scopes[k]
                if (s0 <= t0 < s1 or s0 < t1 <= s1) and modifiers[k].modifies(target):
                    modifiers[k].modify(target)
    else:  # pragma: no cover - scopes are never inverted when modifiers do not overlap
        for target, (t0, t1) in zip(targets, bounds):
            for modifier, (s0, s1) in zip(modifiers, scopes):
                if (s0 <= t0 < s1 or s0 < t1 <= s1) and modifier.modifies(target):
                    modifier.modify(target)
    edges = []
    for modifier in modifiers:
        modifier.reduce_targets()
        for target in modifier._targets:
            edges.append((target, modifier))
    graph.edges = edges


def _run_context(context: Any, doc: Doc) -> Doc:
    from medspacy.context import ConTextModifier
    from medspacy.context.context_graph import ConTextGraph

    targets = doc.spans[context.span_group_name]
    graph = ConTextGraph(prune_on_modifier_overlap=context.prune_on_target_overlap)
    graph.targets = targets
    graph.modifiers = []
    matcher = context._ConText__matcher
    rule_map = matcher.rule_map
    strings = context.nlp.vocab.strings
    for match_id, start, end in matcher(doc):
        rule = rule_map[strings[match_id]]
        graph.modifiers.append(ConTextModifier(rule, start, end, doc, max_scope=context.max_scope))
    _update_scopes(graph)
    _apply_modifiers(graph)
    for target, modifier in graph.edges:
        target._.modifiers += (modifier,)
    if context.context_attributes_mapping:
        context.set_context_attributes(graph.edges)
    doc._.context_graph = graph
    return doc
