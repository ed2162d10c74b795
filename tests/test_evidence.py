"""Evidence offsets index the original text, for every sample note and every span."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sample_notes"


@pytest.mark.parametrize("note", sorted(ROOT.rglob("*.txt")), ids=lambda p: p.stem)
def test_every_offset_indexes_the_note(checker, note: Path):
    text = note.read_text(encoding="utf-8")
    report = checker.check(text)
    spans = [(f.start, f.end, f.text) for f in report.findings]
    for item in report.checklist:
        spans += [(e.start, e.end, e.text) for e in item.evidence]
    for adv in report.advisories:
        spans += [(e.start, e.end, e.text) for e in adv.evidence]
    for start, end, t in spans:
        assert text[start:end] == t
