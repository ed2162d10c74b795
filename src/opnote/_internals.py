"""Every place opnote relies on medspaCy's or spaCy's private internals, in one module.

opnote's speed comes from replacing four pieces of library code with faster equivalents. Each
one reads private attributes or copies a library function's body, so each is used only on the
library versions it was checked on (:data:`PROVEN`); on any other version the components run
medspaCy's and spaCy's own public code, slower but correct. ``tests/test_internals.py`` runs
every sample note through both paths and requires identical Docs (sections, candidate spans,
assertions, ConText modifiers) and reports.

What is replaced, the internals it touches, and why (measured here):

* medspaCy's matchers run :class:`~.components.fastmatch.FastTokenMatcher` instead of spaCy's
  Matcher (through ``ConText._ConText__matcher``, ``Sectionizer._Sectionizer__matcher``,
  ``MedspacyMatcher._MedspacyMatcher__matcher`` and ``MedspacyMatcher._rule_map``): spaCy's
  Matcher was about half of opnote's time per note.
* :func:`run_context` is ``ConText.__call__`` (medspaCy 1.3.1, span-group input) with its two
  pairwise loops restricted to pairs that can interact: medspaCy's grow with the square of the
  note's length (about 1,400 method calls for a 500-token note; minutes for 160,000 tokens).
* :func:`run_sectionizer` is ``Sectionizer.__call__`` (medspaCy 1.3.1) writing
  ``token._.section`` straight into ``doc.user_data`` under spaCy 3.7's key for a token
  extension: setting it token by token cost about 1 ms a note, more than the matching.
* :func:`span_ruler_match` is ``SpanRuler.match`` (spaCy 3.7.5, with its
  ``_match_label_id_map`` and ``_require_patterns``) with the token matcher swapped.
* :func:`prepare_sectionizer` turns off ``validate`` on the spaCy Matcher inside medspaCy's:
  pydantic validation of each generated heading pattern was the largest part of building the
  component.

One more reader of spaCy's extension keys is still in ``components/findings.py``
(``_plain_span_exts``: assertion attributes read from ``doc.user_data``, checked once on a probe
Doc); it belongs here.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, cast

from spacy import about
from spacy.tokens import Doc, Span

from .components.doctext import doc_text
from .components.fastmatch import FastTokenMatcher, compile_matcher

if TYPE_CHECKING:  # pragma: no cover
    from medspacy.common.medspacy_matcher import MedspacyMatcher
    from medspacy.context import ConText
    from medspacy.context.context_graph import ConTextGraph
    from medspacy.context.context_modifier import ConTextModifier
    from medspacy.section_detection import Section, Sectionizer
    from spacy.pipeline import SpanRuler

Match = tuple[int, int, int]

#: Library versions the code below was checked against (``tests/test_internals.py``). Another
#: version takes the libraries' public code paths.
PROVEN = {"spacy": "3.7.5", "medspacy": "1.3.1"}

_public_only = False


@contextlib.contextmanager
def public_path() -> Iterator[None]:
    """Components built inside this block use only medspaCy's and spaCy's own code paths.

    For the test that both paths agree, and to rule opnote's fast paths out when debugging.
    """
    global _public_only
    saved, _public_only = _public_only, True
    try:
        yield
    finally:
        _public_only = saved


def spacy_proven() -> bool:
    """True when spaCy is the version this module was checked on (and the fast paths are on)."""
    return not _public_only and about.__version__ == PROVEN["spacy"]


def medspacy_proven() -> bool:
    """True when spaCy and medspaCy are the versions this module was checked on."""
    import medspacy

    return spacy_proven() and str(getattr(medspacy, "__version__", "")) == PROVEN["medspacy"]


# ------------------------------------------------------------------------ medspaCy's matchers
def _medspacy_matcher(component: ConText | Sectionizer) -> MedspacyMatcher | None:
    """The MedspacyMatcher inside a ConText or Sectionizer (None if not found)."""
    for attr in ("_ConText__matcher", "_Sectionizer__matcher"):
        matcher = getattr(component, attr, None)
        if matcher is not None:
            return matcher
    return None


def trigger_matcher(context: ConText) -> Callable[[Doc], list[Match]] | None:
    """ConText's matcher: every modifier match of a Doc, after medspaCy's overlap pruning."""
    return cast("Callable[[Doc], list[Match]] | None", _medspacy_matcher(context))


def _accelerate(medspacy_matcher: MedspacyMatcher) -> bool:
    """Swap the spaCy token Matcher inside a medspaCy ``MedspacyMatcher`` for a FastTokenMatcher.

    Returns False (and changes nothing) when the patterns, callbacks or medspaCy's internals are
    not what the fast matcher matches exactly.
    """
    attr = "_MedspacyMatcher__matcher"
    spacy_matcher = getattr(medspacy_matcher, attr, None)
    rule_map = getattr(medspacy_matcher, "_rule_map", None)
    if spacy_matcher is None or not isinstance(rule_map, dict) or isinstance(spacy_matcher, FastTokenMatcher):
        return False
    token_rules = [(rule_id, rule) for rule_id, rule in rule_map.items() if isinstance(rule.pattern, list)]
    if not token_rules or len(token_rules) != len(spacy_matcher):
        return False
    if any(getattr(rule, "on_match", None) is not None for _, rule in token_rules):
        return False
    fast = compile_matcher(spacy_matcher.vocab, [(rule_id, [rule.pattern]) for rule_id, rule in token_rules], spacy_matcher)
    if fast is None:
        return False
    setattr(medspacy_matcher, attr, fast)
    return True


# ------------------------------------------------------------------------------------ ConText
def fast_context(context: ConText) -> Callable[[Doc], Doc] | None:
    """:func:`run_context` bound to ``context`` (its matcher accelerated), or None: call ``context``."""
    from medspacy.context import ConText

    if not medspacy_proven() or type(context) is not ConText or context.input_span_type != "group":
        return None
    matcher = _medspacy_matcher(context)
    if matcher is None:
        return None
    _accelerate(matcher)
    return functools.partial(run_context, context, matcher)


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    # medspacy.util.tuple_overlaps((a0, a1), (b0, b1))
    return a0 <= b0 < a1 or a0 < b1 <= a1


def _disjoint_modifiers(modifiers: list[ConTextModifier]) -> bool:
    spans = sorted(m.modifier_span for m in modifiers)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def _update_scopes(graph: ConTextGraph) -> None:
    """ConTextGraph.update_scopes, visiting only the pairs whose scopes can overlap.

    medspaCy calls limit_scope both ways on every pair of modifiers (quadratic in the note's
    length). limit_scope does nothing unless the two current scopes overlap, and scopes only
    shrink inside their first extent (when modifiers do not overlap each other, which
    medspaCy's match pruning ensures; checked here), so pairs whose first extents are apart are
    skipped and the others are visited in medspaCy's order.
    """
    mods = graph.modifiers
    if len(mods) < 2 or not _disjoint_modifiers(mods):
        graph.update_scopes()
        return
    scopes = [m.scope_span for m in mods]
    order = sorted(range(len(mods)), key=lambda k: scopes[k][0])
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


def _prune_modifiers_on_targets(graph: ConTextGraph, bounds: list[tuple[int, int]]) -> None:
    # ConTextGraph.apply_modifiers, first step: drop modifiers that overlap a target
    for i in range(len(graph.modifiers) - 1, -1, -1):
        m0, m1 = graph.modifiers[i].modifier_span
        if any(_overlaps(t0, t1, m0, m1) for t0, t1 in bounds):
            graph.modifiers.pop(i)


def _modify_targets(targets: list[Span], bounds: list[tuple[int, int]], modifiers: list[ConTextModifier]) -> None:
    """Each target against the modifiers whose scope can reach it, in medspaCy's order.

    modifies() is False unless the target overlaps the modifier's scope.
    """
    scopes = [m.scope_span for m in modifiers]
    if not all(s0 <= s1 for s0, s1 in scopes):  # pragma: no cover - never when modifiers do not overlap
        candidates = [list(range(len(modifiers)))] * len(targets)
    else:
        by_start = sorted(range(len(modifiers)), key=lambda k: scopes[k][0])
        starts = [scopes[k][0] for k in by_start]
        longest = max((s1 - s0 for s0, s1 in scopes), default=0)
        candidates = [
            sorted(by_start[bisect.bisect_left(starts, t0 - longest):bisect.bisect_right(starts, t1)]) for t0, t1 in bounds
        ]
    for target, (t0, t1), ks in zip(targets, bounds, candidates, strict=True):
        for k in ks:
            s0, s1 = scopes[k]
            if (s0 <= t0 < s1 or s0 < t1 <= s1) and modifiers[k].modifies(target):
                modifiers[k].modify(target)


_BRACKET = re.compile(r"\([^()\n]*\)")


def _clip_to_brackets(graph: ConTextGraph, doc: Doc) -> None:
    """A modifier inside brackets governs only the bracket: "the allograft (not available in our
    bank) and the amputation" does not deny the amputation. opnote's rule, after medspaCy's scopes.
    The brackets (innermost, on one line) are found once; each modifier looks its own up."""
    text = doc_text(doc)
    if "(" not in text or not graph.modifiers:
        return
    pairs = [(m.start(), m.end() - 1) for m in _BRACKET.finditer(text)]
    if not pairs:
        return
    opens = [a for a, _ in pairs]
    for mod in graph.modifiers:
        m0, m1 = mod.modifier_span
        start = doc[m0].idx
        k = bisect.bisect_right(opens, start) - 1
        if k < 0:
            continue
        opened, closed = pairs[k]
        end = doc[m1 - 1].idx + len(doc[m1 - 1])
        if not (opened < start and end <= closed):
            continue  # not inside that bracket
        s0, s1 = mod.scope_span
        if s1 > m1 and doc[s1 - 1].idx >= closed:
            e = m1
            while e < s1 and doc[e].idx < closed:
                e += 1
            mod._scope_end = e
        if s0 < m0 and doc[s0].idx < opened:
            b = m0
            while b > s0 and doc[b - 1].idx > opened:
                b -= 1
            mod._scope_start = b


def _apply_modifiers(graph: ConTextGraph) -> None:
    """ConTextGraph.apply_modifiers, testing each target only against modifiers near it."""
    targets = list(graph.targets)
    bounds = [(t.start, t.end) for t in targets]
    if graph.prune_on_modifier_overlap:
        _prune_modifiers_on_targets(graph, bounds)
    _modify_targets(targets, bounds, graph.modifiers)
    edges = []
    for modifier in graph.modifiers:
        modifier.reduce_targets()
        for target in modifier._targets:
            edges.append((target, modifier))
    graph.edges = edges


def run_context(context: ConText, matcher: MedspacyMatcher, doc: Doc) -> Doc:
    """``ConText.__call__`` (medspaCy 1.3.1, span-group input) with linear-time graph steps.

    medspaCy's ConTextGraph compares every pair of modifiers (update_scopes) and calls
    ConTextModifier.modifies() for every (target, modifier) pair (apply_modifiers). Both only act
    on pairs whose scopes overlap, so the versions here find those pairs by position first and
    call medspaCy's own methods on them in medspaCy's order: the same scopes, edges, attributes.
    """
    return _context_call(context, matcher, doc, _update_scopes, _apply_modifiers)


def public_context(context: ConText, doc: Doc) -> Doc:
    """``ConText.__call__`` (span-group input) with medspaCy's own matcher and graph steps, and
    opnote's bracket rule (:func:`_clip_to_brackets`) between them, as in :func:`run_context`."""
    matcher = _medspacy_matcher(context)
    if matcher is None or context.input_span_type != "group":  # pragma: no cover - another medspaCy
        out: Doc = context(doc)
        return out
    return _context_call(context, matcher, doc, lambda g: g.update_scopes(), lambda g: g.apply_modifiers())


def _context_call(
    context: ConText, matcher: MedspacyMatcher, doc: Doc, update_scopes: Callable[[ConTextGraph], None], apply_modifiers: Callable[[ConTextGraph], None]
) -> Doc:
    from medspacy.context import ConTextModifier
    from medspacy.context.context_graph import ConTextGraph

    graph = ConTextGraph(prune_on_modifier_overlap=context.prune_on_target_overlap)
    graph.targets = doc.spans[context.span_group_name]
    graph.modifiers = []
    rule_map = matcher.rule_map
    strings = context.nlp.vocab.strings
    for match_id, start, end in matcher(doc):
        graph.modifiers.append(ConTextModifier(rule_map[strings[match_id]], start, end, doc, max_scope=context.max_scope))
    update_scopes(graph)
    _clip_to_brackets(graph, doc)
    apply_modifiers(graph)
    for target, modifier in graph.edges:
        target._.modifiers += (modifier,)
    if context.context_attributes_mapping:
        context.set_context_attributes(graph.edges)
    doc._.context_graph = graph
    return doc


# ----------------------------------------------------------------------------------- Sectionizer
def prepare_sectionizer(sectionizer: Sectionizer) -> None:
    """Before rules are added: skip spaCy's pydantic validation of each token pattern.

    opnote's heading patterns are generated from ``sections.json`` phrases (always well formed)
    and validating them was the largest part of building the component.
    """
    if not medspacy_proven():
        return
    spacy_matcher = getattr(_medspacy_matcher(sectionizer), "_MedspacyMatcher__matcher", None)
    if spacy_matcher is not None and hasattr(spacy_matcher, "validate"):
        spacy_matcher.validate = False


def fast_sectionizer(sectionizer: Sectionizer) -> Callable[[Doc], Doc] | None:
    """:func:`run_sectionizer` bound to ``sectionizer`` (its matcher accelerated), or None.

    Only for the options opnote uses: parent sections, line filters, assertion attributes and
    sentence boundaries take medspaCy's own code.
    """
    from medspacy.section_detection import Sectionizer

    if not medspacy_proven() or type(sectionizer) is not Sectionizer:
        return None
    matcher = _medspacy_matcher(sectionizer)
    if matcher is None or sectionizer.require_start_line or sectionizer.require_end_line:
        return None
    if sectionizer._parent_sections or sectionizer._apply_sentence_boundary or sectionizer.assertion_attributes_mapping:
        return None
    _accelerate(matcher)
    return functools.partial(run_sectionizer, sectionizer, matcher)


_TOKEN_KEY_OK: bool | None = None


def _token_key_layout_ok(doc: Doc) -> bool:
    """Does ``token._.section = x`` store ``doc.user_data[("._.", "section", token.idx, None)]``?

    Checked once on a probe Doc: a plain extension (no getter, setter or method) in spaCy's
    Underscore key layout.
    """
    global _TOKEN_KEY_OK
    if _TOKEN_KEY_OK is None:
        from spacy.tokens import Token

        ext = Token.get_extension("section")
        ok = ext is not None and ext[1] is None and ext[2] is None and ext[3] is None
        if ok:
            probe = Doc(doc.vocab, words=["a", "b"])
            marker = object()
            probe[1]._.section = marker
            user_data = cast("dict[object, object]", probe.user_data)  # spaCy's own keys are tuples
            ok = user_data.get(("._.", "section", probe[1].idx, None)) is marker and len(user_data) == 1
        _TOKEN_KEY_OK = ok
    return _TOKEN_KEY_OK


def _section_list(sectionizer: Sectionizer, matcher: MedspacyMatcher, matches: list[Match], n: int) -> list[Section]:
    """The sections of ``Sectionizer.__call__`` (no parent sections)."""
    from medspacy.section_detection import Section

    out = []
    if matches[0][1] != 0:
        out.append(Section(None, 0, 0, 0, matches[0][1]))
    strings = sectionizer.nlp.vocab.strings
    max_len = sectionizer.max_section_length
    for i, (match_id, start, end) in enumerate(matches):
        rule = matcher.rule_map[strings[match_id]]
        # a section ends at the next heading (the Doc's end for the last), or earlier when the
        # rule or the component limits its length
        limit = matches[i + 1][1] if i + 1 < len(matches) else n
        extent = rule.max_scope if rule.max_scope is not None else max_len
        body_end = limit if extent is None else min(end + extent, limit)
        out.append(Section(rule.category, start, end, end, body_end, None, rule))
    return out


def run_sectionizer(sectionizer: Sectionizer, matcher: MedspacyMatcher, doc: Doc) -> Doc:
    """``Sectionizer.__call__`` (medspaCy 1.3.1) writing ``token._.section`` straight to user_data."""
    from medspacy.section_detection import Section
    from spacy.attrs import IDX

    if not _token_key_layout_ok(doc):
        out: Doc = sectionizer(doc)
        return out
    matches = matcher(doc)
    doc._.sections = []
    n = len(doc)
    if len(matches) == 0:
        doc._.sections.append(Section(None, 0, 0, 0, n))
        return doc
    idx = doc.to_array(IDX).tolist()
    user_data = cast("dict[object, object]", doc.user_data)  # spaCy's own keys are tuples
    for section in _section_list(sectionizer, matcher, matches, n):
        doc._.sections.append(section)
        start, end = section.section_span
        # doc[start:end] clips the slice to the Doc
        for i in range(max(0, min(start, n)), max(0, min(end, n))):
            user_data[("._.", "section", idx[i], None)] = section
    return doc


# ----------------------------------------------------------------------------- spaCy SpanRuler
def fast_span_ruler_ok() -> bool:
    """May :func:`span_ruler_match` replace ``SpanRuler.match``?"""
    return spacy_proven()


def span_ruler_match(ruler: SpanRuler, fast: FastTokenMatcher, doc: Doc) -> list[Span]:
    """``SpanRuler.match`` (spaCy 3.7.5) with its token Matcher swapped for ``fast``.

    SpanRuler de-duplicates and sorts its matches, so only the set of token matches counts, and
    the fast matcher finds the same set.
    """
    ruler._require_patterns()
    # spaCy silences W036 (no patterns) around these two calls; neither the fast matcher nor a
    # PhraseMatcher emits it, so the process's warning filters are left alone here
    matches = list(fast(doc)) + list(ruler.phrase_matcher(doc))
    label_ids = ruler._match_label_id_map
    deduplicated = set(
        Span(doc, start, end, label=label_ids[m_id]["label"], span_id=label_ids[m_id]["id"])
        for m_id, start, end in matches
        if start != end
    )
    return sorted(deduplicated)
