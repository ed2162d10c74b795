"""``opnote evaluate``: accuracy of the checker against gold labels in ``*.expected.json`` files.

Held-out notes are for judging only: their results are printed first, as summary lines, and their
individual misses are never listed (``--show-heldout-misses`` exists for a final audit, not for
building rules). The figures the README quotes are the held-out ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import rules as rule_files
from .mentions import NOT_PLANNING
from .schema import Report

MET = {"met", "not_applicable"}
SET_ATTRS = ["margin_intents", "frozen_section_results", "imaging_modalities", "reconstruction_kinds", "expected_icd10", "code_selection", "modifiers"]
SCALAR_ATTRS = ["site", "laterality", "resection_length_mm", "tumor_type", "diagnosis_category"]
CASE_ATTRS = ["operation", "amputation_level", "tissue", "tumor_status", "side", "side_conflict"]
GOLD_MODIFIERS = {"22", "58", "62", "78", "79"}
SPLIT_ORDER = ("heldout", "dev")


def predicted_attributes(report: Report) -> dict[str, Any]:
    """The gold-file attributes as the checker sees them in a report."""
    present = [f for f in report.findings if f.assertion == "present"]
    lengths = [max(f.attributes["values_mm"]) for f in present if f.kind == "dimension" and f.attributes.get("measures") == "resection_length"]
    d = report.diagnosis
    return {
        "site": d.site,
        "laterality": d.laterality,
        "margin_intents": sorted({f.attributes["intent"] for f in present if f.kind == "margin"}),
        "frozen_section_results": _fs_results(present),
        "imaging_modalities": sorted({f.attributes["modality"] for f in report.findings if f.kind == "imaging" and f.assertion in ("present", "historical") and f.attributes.get("timing") not in NOT_PLANNING}),
        "reconstruction_kinds": sorted({f.attributes["kind"] for f in present if f.kind == "reconstruction"}),
        "resection_length_mm": max(lengths) if lengths else None,
        "tumor_type": d.tumor_type,
        "diagnosis_category": d.category,
        "expected_icd10": sorted(d.expected_icd10),
        "code_selection": sorted({a.code for a in report.advisories if a.kind == "code_selection" and a.code}),
        "modifiers": sorted({a.code for a in report.advisories if a.kind == "modifier" and a.code in GOLD_MODIFIERS}),
    }


def predicted_case(report: Report) -> dict[str, Any]:
    """The gold-file ``case`` block as the checker sees it."""
    c = report.case
    return {
        "operation": c.operation.value,
        "amputation_level": c.amputation_level.value,
        "tissue": c.tissue.value,
        "tumor_status": c.tumor_status.value,
        "side": c.side.value,
        "side_conflict": bool(c.side.conflicts),
    }


def _fs_results(present: list[Any]) -> list[str]:
    """Frozen-section results; "unknown" only when no mention carries a result."""
    res = {f.attributes.get("result", "unknown") for f in present if f.kind == "frozen_section"}
    if len(res) > 1:
        res.discard("unknown")
    return sorted(res)


def _norm(key: str, v: Any) -> Any:
    if key == "diagnosis_category" and v is None:
        return "unknown"
    if key == "resection_length_mm" and v is not None:
        return round(float(v))
    if key == "tumor_type" and isinstance(v, str):
        return v.strip().lower()
    if isinstance(v, list):
        return sorted(str(x) for x in v)
    return v


def _pr(tp: int, fp: int, fn: int) -> dict[str, float | int | None]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return {"precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn}


def _item_rows(cases: list[dict[str, Any]], item: str) -> list[tuple[str, str]]:
    return [(c["gold"]["checklist"][item], c["pred"]["checklist"][item]) for c in cases if item in c["gold"]["checklist"]]


def _summarize(cases: list[dict[str, Any]], items: list[str]) -> dict[str, Any]:
    per_item: dict[str, Any] = {}
    total = correct = 0
    pooled = {"met_tp": 0, "met_fp": 0, "met_fn": 0, "gap_tp": 0}
    for item in items:
        rows = _item_rows(cases, item)
        ok = sum(g == p for g, p in rows)
        total += len(rows)
        correct += ok
        met_tp = sum(g in MET and p in MET for g, p in rows)
        met_fp = sum(g not in MET and p in MET for g, p in rows)
        met_fn = sum(g in MET and p not in MET for g, p in rows)
        gap_tp = sum(g not in MET and p not in MET for g, p in rows)
        for k, v in (("met_tp", met_tp), ("met_fp", met_fp), ("met_fn", met_fn), ("gap_tp", gap_tp)):
            pooled[k] += v
        per_item[item] = {"accuracy": ok / len(rows) if rows else None, "n": len(rows), "met": _pr(met_tp, met_fp, met_fn), "gap": _pr(gap_tp, met_fn, met_fp)}
    verdict_ok = sum(c["gold"]["verdict"] == c["pred"]["verdict"] for c in cases)
    attrs: dict[str, Any] = {}
    a_ok = a_n = 0
    for key in SCALAR_ATTRS + SET_ATTRS + [f"case.{k}" for k in CASE_ATTRS]:
        rows = [(g, p) for c in cases for g, p in [_attr_pair(c, key)] if g is not _MISSING]
        ok = sum(_norm(key, g) == _norm(key, p) for g, p in rows)
        attrs[key] = {"accuracy": ok / len(rows) if rows else None, "n": len(rows)}
        a_ok += ok
        a_n += len(rows)
    met = _pr(pooled["met_tp"], pooled["met_fp"], pooled["met_fn"])
    gap = _pr(pooled["gap_tp"], pooled["met_fn"], pooled["met_fp"])
    return {
        "n_notes": len(cases),
        "item_accuracy": correct / total if total else None,
        "verdict_accuracy": verdict_ok / len(cases) if cases else None,
        "gap_recall": gap["recall"],
        "gap_precision": gap["precision"],
        "met_precision": met["precision"],
        "attribute_accuracy": a_ok / a_n if a_n else None,
        "min_met_precision": min((v["met"]["precision"] for v in per_item.values() if v["met"]["precision"] is not None), default=None),
        "items": per_item,
        "attributes": attrs,
    }


_MISSING = object()


def _attr_pair(case: dict[str, Any], key: str) -> tuple[Any, Any]:
    if key.startswith("case."):
        k = key[5:]
        gold = case["gold"].get("case", {})
        return (gold[k] if k in gold else _MISSING), case["pred"]["case"].get(k)
    gold_attrs = case["gold"].get("attributes", {})
    return (gold_attrs[key] if key in gold_attrs else _MISSING), case["pred"]["attributes"].get(key)


def score_report(gold: dict[str, Any], report: Report) -> dict[str, Any]:
    """The checker's answer in the gold file's shape."""
    return {
        "checklist": {i.id: i.status for i in report.checklist},
        "verdict": report.verdict,
        "attributes": predicted_attributes(report),
        "case": predicted_case(report),
    }


def _misses(rel: str, split: str, gold: dict[str, Any], pred: dict[str, Any], report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item, g in gold["checklist"].items():
        p = pred["checklist"].get(item)
        if g != p:
            it = report.item(item)
            out.append({"note": rel, "split": split, "what": item, "expected": g, "got": p, "message": it.message, "evidence": [e.text for e in it.evidence[:3]]})
    if gold["verdict"] != report.verdict:
        out.append({"note": rel, "split": split, "what": "verdict", "expected": gold["verdict"], "got": report.verdict, "message": report.summary, "evidence": []})
    case = {"gold": gold, "pred": pred}
    for key in SCALAR_ATTRS + SET_ATTRS + [f"case.{k}" for k in CASE_ATTRS]:
        g, p = _attr_pair(case, key)
        if g is not _MISSING and _norm(key, g) != _norm(key, p):
            out.append({"note": rel, "split": split, "what": f"attr:{key}", "expected": g, "got": p, "message": "", "evidence": []})
    return out


def gold_notes(directory: Path) -> list[tuple[Path, Path]]:
    """(note, gold file) pairs under ``directory``, sorted."""
    out = []
    for gpath in sorted(directory.rglob("*.expected.json")):
        out.append((gpath.with_name(gpath.name[: -len(".expected.json")] + ".txt"), gpath))
    return out


def evaluate_dir(
    directory: str | Path,
    *,
    model: str | Path | None = None,
    checker: Any = None,
    transform: Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]] | None] | None = None,
) -> dict[str, Any]:
    """Run the checker on every note under ``directory`` that has a gold file, and score it.

    ``transform(text, gold)`` may rewrite a note and its expected labels first (``None`` skips it).
    """
    from .api import Checker

    directory = Path(directory)
    checker = checker or Checker(model)
    cases: list[dict[str, Any]] = []
    misses: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    items: list[str] = []
    for note, gpath in gold_notes(directory):
        rel = str(note.relative_to(directory))
        try:
            gold = json.loads(gpath.read_text(encoding="utf-8"))
            text = note.read_text(encoding="utf-8")
            if transform is not None:
                out = transform(text, gold)
                if out is None:
                    continue
                text, gold = out
            report = checker.check(text, gold.get("icd10") or None, code=gold.get("code", "27365"), source=rel)
        except Exception as e:  # noqa: BLE001 - report and go on
            errors.append({"note": rel, "error": f"{type(e).__name__}: {e}"})
            continue
        for i in report.checklist:
            if i.id not in items:
                items.append(i.id)
        pred = score_report(gold, report)
        split = gold.get("split", "dev")
        cases.append({"note": rel, "split": split, "gold": gold, "pred": pred})
        misses += _misses(rel, split, gold, pred, report)
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        by_split[c["split"]].append(c)
    ordered = sorted(by_split, key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s))
    return {
        "directory": str(directory),
        "n_notes": len(cases),
        "overall": _summarize(cases, items),
        "splits": {k: _summarize(by_split[k], items) for k in ordered},
        "misses": misses,
        "errors": errors,
        "cases": cases,
    }


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def summary_line(name: str, s: dict[str, Any]) -> str:
    """One line of the headline figures for a split."""
    return (f"{name:8} notes {s['n_notes']:3}  gap recall {_f(s['gap_recall'])}  met precision {_f(s['met_precision'])}  "
            f"verdict {_f(s['verdict_accuracy'])}  items {_f(s['item_accuracy'])}  attributes {_f(s['attribute_accuracy'])}")


def format_text(result: dict[str, Any], *, show_heldout_misses: bool = False) -> str:
    """The evaluation as text: held-out summary first, then dev detail and dev misses."""
    lines = [f"opnote evaluate {result['directory']}: {result['n_notes']} notes", ""]
    for split, s in result["splits"].items():
        lines.append(summary_line(split, s))
    lines.append(summary_line("overall", result["overall"]))
    lines.append("")
    detail_split = "dev" if "dev" in result["splits"] else next(iter(result["splits"]), None)
    if detail_split is not None:
        d = result["splits"][detail_split]
        lines.append(f"per item ({detail_split}):")
        lines.append(f"  {'item':22} {'acc':>6} {'met P':>6} {'met R':>6} {'gap P':>6} {'gap R':>6}")
        for item, v in d["items"].items():
            lines.append(f"  {item:22} {_f(v['accuracy']):>6} {_f(v['met']['precision']):>6} {_f(v['met']['recall']):>6} {_f(v['gap']['precision']):>6} {_f(v['gap']['recall']):>6}")
        lines.append(f"  attributes ({detail_split}): " + ", ".join(f"{k} {_f(v['accuracy'])}" for k, v in d["attributes"].items() if v["n"]))
        lines.append("")
    shown = [m for m in result["misses"] if show_heldout_misses or m["split"] != "heldout"]
    hidden = len(result["misses"]) - len(shown)
    if shown:
        lines.append(f"misses ({len(shown)}" + (f"; {hidden} held-out misses not shown" if hidden else "") + "):")
        for m in shown:
            ev = f"  evidence: {' | '.join(' '.join(e.split())[:60] for e in m['evidence'])}" if m["evidence"] else ""
            lines.append(f"  [{m['split']}] {m['note']}: {m['what']} expected {m['expected']} got {m['got']}{ev}")
        lines.append("")
    elif hidden:
        lines.append(f"({hidden} held-out misses not shown)")
    for e in result["errors"]:
        lines.append(f"  ERROR {e['note']}: {e['error']}")
    for split, s in result["splits"].items():
        lines.append(summary_line(split, s))
    lines.append(summary_line("overall", result["overall"]))
    return "\n".join(lines)


def public_result(result: dict[str, Any], *, show_heldout_misses: bool = False) -> dict[str, Any]:
    """The JSON form: no per-note cases, and no held-out misses unless asked."""
    out = {k: v for k, v in result.items() if k != "cases"}
    if not show_heldout_misses:
        out["misses"] = [m for m in result["misses"] if m["split"] != "heldout"]
    return out


def checklist_items(code: str = "27365") -> list[str]:
    """The item ids of a checklist, in order (from the checklist file)."""
    return rule_files.checklist(code).item_ids

