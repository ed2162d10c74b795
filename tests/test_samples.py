"""Regression: every sample note against its gold file (checklist statuses and verdict).

Notes the checker still gets wrong are listed in ``known_misses.json`` with the reason; they run
as strict xfails, so fixing one without updating the list fails too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sample_notes"
KNOWN = json.loads((Path(__file__).with_name("known_misses.json")).read_text())


def _cases():
    for gold in sorted(ROOT.rglob("*.expected.json")):
        rel = str(gold.relative_to(ROOT))[: -len(".expected.json")]
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[rel])] if rel in KNOWN else []
        yield pytest.param(gold, id=rel, marks=marks)


@pytest.mark.parametrize("gold_path", list(_cases()))
def test_sample_note_matches_gold(checker, gold_path: Path):
    gold = json.loads(gold_path.read_text())
    note = gold_path.with_name(gold_path.name[: -len(".expected.json")] + ".txt")
    report = checker.check_file(note, gold.get("icd10") or None, code=gold.get("code", "27365"))
    got = {i.id: i.status for i in report.checklist}
    assert (got, report.verdict) == (gold["checklist"], gold["verdict"])


def test_there_are_enough_sample_notes():
    golds = list(ROOT.rglob("*.expected.json"))
    assert len(golds) >= 45
    splits = [json.loads(g.read_text())["split"] for g in golds]
    assert splits.count("heldout") >= len(golds) // 3
