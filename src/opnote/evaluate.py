"""``opnote evaluate``: accuracy of the checker against gold labels in ``*.expected.json`` files."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .schema import Report

ITEMS = ["tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging", "pathology", "diagnosis_code", "reconstruction", "informed_consent"]
MET = {"met", "not_applicable"}
SET_ATTRS = ["margin_intents", "frozen_section_results", "imaging_modalities", "reconstruction_kinds", "expected_icd10", "code_selection", "modifiers"]
SCALAR_ATTRS = ["site", "laterality", "resection_length_mm", "tumor_type", "diagnosis_category"]
GOLD_MODIFIERS = {"22", "58", "62", "78", "79"}


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
        "imaging_modalities": sorted({f.attributes["modality"] for f in report.findings if f.kind == "imaging" and f.assertion in ("present", "historical")}),
        "reconstruction_kinds": sorted({f.attributes["kind"] for f in present if f.kind == "reconstruction"}),
        "resection_length_mm": lengths[0] if lengths else None,
        "tumor_type": d.tumor_type,
        "diagnosis_category": d.category,
        "expected_icd10": sorted(d.expected_icd10),
        "code_selection": sorted({a.code for a in report.advisories if a.kind == "code_selection" and a.code}),
        "modifiers": sorted({a.code for a in report.advisories if a.kind == "modifier" and a.code in GOLD_MODIFIERS}),
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


def _pr(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return {"precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn}


def _summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    per_item: dict[str, Any] = {}
    total = correct = 0
    for item in ITEMS:
        rows = [(c["gold"]["checklist"][item], c["pred"]["checklist"][item]) for c in cases]
        ok = sum(g == p for g, p in rows)
        total += len(rows)
        correct += ok
        met_tp = sum(g in MET and p in MET for g, p in rows)
        met_fp = sum(g not in MET and p in MET for g, p in rows)
        met_fn = sum(g in MET and p not in MET for g, p in rows)
        gap_tp = sum(g not in MET and p not in MET for g, p in rows)
        per_item[item] = {
            "accuracy": ok / len(rows) if rows else None,
            "n": len(rows),
            "met": _pr(met_tp, met_fp, met_fn),
            "gap": _pr(gap_tp, met_fn, met_fp),
        }
    verdict_ok = sum(c["gold"]["verdict"] == c["pred"]["verdict"] for c in cases)
    attrs: dict[str, Any] = {}
    for key in SCALAR_ATTRS + SET_ATTRS:
        rows = [(c["gold"]["attributes"].get(key), c["pred"]["attributes"].get(key)) for c in cases if key in c["gold"].get("attributes", {})]
        ok = sum(_norm(key, g) == _norm(key, p) for g, p in rows)
        attrs[key] = {"accuracy": ok / len(rows) if rows else None, "n": len(rows)}
    return {
        "n_notes": len(cases),
        "item_accuracy": correct / total if total else None,
        "verdict_accuracy": verdict_ok / len(cases) if cases else None,
        "min_met_precision": min((v["met"]["precision"] for v in per_item.values() if v["met"]["precision"] is not None), default=None),
        "items": per_item,
        "attributes": attrs,
    }


def evaluate_dir(directory: str | Path, *, model: str | Path | None = None, checker: Any = None) -> dict[str, Any]:
    """Run the checker on every note under ``directory`` that has a gold file, and score it."""
    from .api import Checker

    directory = Path(directory)
    golds = sorted(directory.rglob("*.expected.json"))
    checker = checker or Checker(model)
    cases: list[dict[str, Any]] = []
    misses: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for gpath in golds:
        note = gpath.with_name(gpath.name[: -len(".expected.json")] + ".txt")
        rel = str(note.relative_to(directory))
        try:
            gold = json.loads(gpath.read_text(encoding="utf-8"))
            report = checker.check_file(note, gold.get("icd10") or None, code=gold.get("code", "27365"))
        except Exception as e:  # noqa: BLE001 - report and go on
            errors.append({"note": rel, "error": f"{type(e).__name__}: {e}"})
            continue
        pred = {
            "checklist": {i.id: i.status for i in report.checklist},
            "verdict": report.verdict,
            "attributes": predicted_attributes(report),
        }
        split = gold.get("split", "dev")
        cases.append({"note": rel, "split": split, "gold": gold, "pred": pred})
        for item in ITEMS:
            g, p = gold["checklist"][item], pred["checklist"][item]
            if g != p:
                it = report.item(item)
                misses.append({"note": rel, "split": split, "what": item, "expected": g, "got": p, "message": it.message,
                               "evidence": [e.text for e in it.evidence[:3]]})
        if gold["verdict"] != report.verdict:
            misses.append({"note": rel, "split": split, "what": "verdict", "expected": gold["verdict"], "got": report.verdict, "message": report.summary, "evidence": []})
        for key in SCALAR_ATTRS + SET_ATTRS:
            if key not in gold.get("attributes", {}):
                continue
            g, p = gold["attributes"][key], pred["attributes"][key]
            if _norm(key, g) != _norm(key, p):
                misses.append({"note": rel, "split": split, "what": f"attr:{key}", "expected": g, "got": p, "message": "", "evidence": []})
    by_split: dict[str, list] = defaultdict(list)
    for c in cases:
        by_split[c["split"]].append(c)
    return {
        "directory": str(directory),
        "n_notes": len(cases),
        "overall": _summarize(cases),
        "splits": {k: _summarize(v) for k, v in sorted(by_split.items())},
        "misses": misses,
        "errors": errors,
    }


def _f(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def format_text(result: dict[str, Any]) -> str:
    lines = []
    o = result["overall"]
    lines.append(f"opnote evaluate {result['directory']}: {result['n_notes']} notes")
    lines.append("")
    lines.append(f"{'item':22} {'acc':>6} {'met P':>6} {'met R':>6} {'gap P':>6} {'gap R':>6}")
    for item, v in o["items"].items():
        lines.append(f"{item:22} {_f(v['accuracy']):>6} {_f(v['met']['precision']):>6} {_f(v['met']['recall']):>6} {_f(v['gap']['precision']):>6} {_f(v['gap']['recall']):>6}")
    lines.append("")
    lines.append("attribute accuracy: " + ", ".join(f"{k} {_f(v['accuracy'])}" for k, v in o["attributes"].items()))
    lines.append("")
    if result["misses"]:
        lines.append(f"misses ({len(result['misses'])}):")
        for m in result["misses"]:
            ev = f"  evidence: {' | '.join(' '.join(e.split())[:60] for e in m['evidence'])}" if m["evidence"] else ""
            lines.append(f"  [{m['split']}] {m['note']}: {m['what']} expected {m['expected']} got {m['got']}{ev}")
        lines.append("")
    for e in result["errors"]:
        lines.append(f"  ERROR {e['note']}: {e['error']}")
    for split, s in result["splits"].items():
        lines.append(f"{split:8} notes {s['n_notes']:3}  item accuracy {_f(s['item_accuracy'])}  verdict accuracy {_f(s['verdict_accuracy'])}  min met precision {_f(s['min_met_precision'])}")
    lines.append(f"{'overall':8} notes {o['n_notes']:3}  item accuracy {_f(o['item_accuracy'])}  verdict accuracy {_f(o['verdict_accuracy'])}  min met precision {_f(o['min_met_precision'])}")
    return "\n".join(lines)
