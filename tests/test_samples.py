"""Regression on the gold notes.

Every dev note is a test of its own (checklist statuses and verdict). Notes the checker still
gets wrong are listed in ``known_misses.json`` with what it gets wrong; they run as strict xfails,
so fixing one without updating the list fails too. Held-out notes are never tested one by one
(their misses are not for reading): the held-out split is held to summary thresholds instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sample_notes"
KNOWN = json.loads((Path(__file__).with_name("known_misses.json")).read_text())


def _cases():
    for gold in sorted((ROOT / "dev").rglob("*.expected.json")):
        rel = str(gold.relative_to(ROOT))[: -len(".expected.json")]
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[rel])] if rel in KNOWN else []
        yield pytest.param(gold, id=rel, marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("gold_path", list(_cases()))
def test_sample_note_matches_gold(checker, gold_path: Path):
    gold = json.loads(gold_path.read_text())
    note = gold_path.with_name(gold_path.name[: -len(".expected.json")] + ".txt")
    report = checker.check_file(note, gold.get("icd10") or None, code=gold.get("code", "27365"))
    got = {i.id: i.status for i in report.checklist}
    assert (got, report.verdict) == (gold["checklist"], gold["verdict"])


# Floors about 0.015 under the figures measured on the 209 held-out notes (README, "Accuracy"): a
# change that costs accuracy on notes the rules were not written for fails here, without naming a note.
HELDOUT_FLOORS = {"gap_recall": 0.90, "met_precision": 0.97, "verdict_accuracy": 0.88, "item_accuracy": 0.93, "attribute_accuracy": 0.91}


@pytest.mark.slow
def test_heldout_summary_stays_above_its_floors(checker):
    from opnote.evaluate import evaluate_dir

    result = evaluate_dir(ROOT / "heldout", checker=checker)
    summary = result["splits"]["heldout"]
    low = {k: round(summary[k], 3) for k, floor in HELDOUT_FLOORS.items() if summary[k] < floor}
    assert not low, f"held-out figures below their floors: {low}"


def test_there_are_enough_sample_notes():
    golds = list(ROOT.rglob("*.expected.json"))
    assert len(golds) >= 200
    splits = [json.loads(g.read_text())["split"] for g in golds]
    assert splits.count("heldout") >= 0.38 * len(golds)
    authors = {json.loads(g.read_text()).get("author") for g in golds} - {None}
    assert len(authors) >= 4
