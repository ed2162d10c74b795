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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .. import _internals
from .. import rules as rule_files
from .._compat import import_medspacy
from .targets import CANDIDATES_KEY


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
    rules: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["context_rules"]
    return rules


def build_context_rules() -> list[dict[str, Any]]:
    """medspaCy's default rules, corrected for operative notes, plus opnote's own rules."""
    cfg = rule_files.context()
    from .. import rules as r

    all_labels = set(r.LABELS) | {"DIMENSION"}
    result_bearing = set(cfg.result_bearing_labels)
    out: list[dict[str, Any]] = []
    # One rule per literal: where medspaCy's defaults and opnote's rules both match the same words,
    # only one modifier survives and which one would depend on the order of the rules. opnote's
    # rule replaces the default.
    own = {row.literal.lower() for row in cfg.context_rules}
    for rule in _default_rule_dicts():
        if str(rule["literal"]).lower() in own:
            continue
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


_RULE_KWARGS = {"literal", "category", "pattern", "direction", "allowed_types", "excluded_types", "max_scope", "max_targets"}


def _rule_kwargs(rule: dict[str, Any]) -> dict[str, Any]:
    """ConTextRule's keyword arguments from a rule dict (type lists as sets)."""
    kw = {k: v for k, v in rule.items() if k in _RULE_KWARGS}
    for k in ("allowed_types", "excluded_types"):
        if kw.get(k) is not None:
            kw[k] = set(kw[k])
    return kw


class OpnoteContext:
    """Wraps ``medspacy_context`` over the candidate span group."""

    def __init__(self, nlp: Language, name: str = "opnote_context", *, spans_key: str = CANDIDATES_KEY) -> None:
        import_medspacy()
        self.nlp = nlp
        self.name = name
        self.spans_key = spans_key
        self.rules = build_context_rules()
        self._fast: Callable[[Doc], Doc] | None = None
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
        self.context.add([ConTextRule(**_rule_kwargs(r)) for r in self.rules])
        # medspaCy's ConText with opnote's faster matcher and graph steps, on the versions they
        # were checked on (opnote._internals); None: medspaCy's own code
        self._fast = _internals.fast_context(self.context)

    def __call__(self, doc: Doc) -> Doc:
        if self.spans_key not in doc.spans or not len(doc.spans[self.spans_key]):
            return doc
        if self._fast is not None:
            return self._fast(doc)
        return _internals.public_context(self.context, doc)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "context_rules.json").write_text(json.dumps({"context_rules": self.rules}, indent=1, sort_keys=True), encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> OpnoteContext:
        self.rules = json.loads((Path(path) / "context_rules.json").read_text(encoding="utf-8"))["context_rules"]
        self._build()
        return self
