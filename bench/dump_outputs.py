"""Dump everything the opnote pipeline produces for a corpus, to prove a speed change changed nothing.

Usage (compare a reference source tree with the working tree)::

    PYTHONPATH=/path/to/reference/src .venv/bin/python bench/dump_outputs.py ref.json [--corpus FILE.jsonl]
    .venv/bin/python bench/dump_outputs.py new.json [--corpus FILE.jsonl]
    cmp ref.json new.json   # or: .venv/bin/python bench/dump_outputs.py --diff ref.json new.json

For each note it records the sentence starts, the sections, every finding and cue, the
ConText modifiers per candidate span and the full report (``model_dump``). Note text never
goes to stdout; the output file holds offsets and matched spans only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_corpus(path: str | None, samples: bool = True) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    if path:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                obj = json.loads(line)
                if isinstance(obj.get("text"), str) and obj["text"].strip():
                    notes.append((f"{Path(path).name}:{n}", obj["text"]))
    for p in sorted((ROOT / "sample_notes").glob("**/*.txt")) if samples else []:
        notes.append((str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")))
    return notes


def dump(out: str, corpus: str | None, samples: bool = True) -> None:
    import opnote
    from opnote.api import Checker
    from opnote.scoring import evaluate

    checker = Checker()
    nlp = checker.nlp
    rows = []
    for name, text in load_corpus(corpus, samples):
        doc = nlp(text)
        cands = doc.spans["opnote_candidates"] if "opnote_candidates" in doc.spans else []
        row = {
            "name": name,
            "sent_starts": [t.i for t in doc if t.is_sent_start],
            "sections": [
                [s.category, s.title_start, s.title_end, s.body_start, s.body_end] for s in (doc._.sections or [])
            ],
            "section_cats": [t._.section_category for t in doc],
            # sorted: spans the abbreviation component adds come in scispaCy's set order, which
            # varies between processes
            "candidates": sorted([
                [s.start, s.end, s.label_, s.id_, bool(s._.is_negated), bool(s._.is_uncertain), bool(s._.is_historical),
                 bool(s._.is_hypothetical), bool(s._.is_family),
                 [[m.category, m.modifier_span[0], m.modifier_span[1], m.scope_span[0], m.scope_span[1]] for m in s._.modifiers]]
                for s in cands
            ], key=lambda c: (c[0], c[1], c[2], c[3])),
            "findings": doc._.opnote_findings,
            "cues": doc._.opnote_cues,
            "opnote_sections": doc._.opnote_sections,
            # scispaCy returns abbreviations in set order (varies between processes): sort them
            "abbreviations": sorted(doc._.abbreviations, key=lambda a: sorted(a.items())) if doc.has_extension("abbreviations") and doc._.abbreviations else None,
            "finding_spans": [[s.start, s.end, s.label_] for s in doc.spans.get("opnote_findings", [])],
            "report": evaluate(doc.text, doc._.opnote_findings, doc._.opnote_cues or [], code="27365", icd10=[]).model_dump(mode="json"),
        }
        rows.append(row)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"opnote_file": opnote.__file__, "notes": rows}, fh, indent=0, sort_keys=True, default=str)
    print(f"{len(rows)} notes -> {out} ({opnote.__file__})")


def diff(a: str, b: str) -> int:
    da, db = json.load(open(a)), json.load(open(b))
    na, nb = da["notes"], db["notes"]
    if len(na) != len(nb):
        print(f"different number of notes: {len(na)} vs {len(nb)}")
        return 1
    bad = 0
    for ra, rb in zip(na, nb):
        for key in ra:
            if ra[key] != rb.get(key):
                bad += 1
                print(f"{ra['name']}: {key} differs")
    print(f"{len(na)} notes compared, {bad} differences")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--corpus")
    ap.add_argument("--diff", nargs=2, metavar=("A", "B"))
    ap.add_argument("--no-samples", action="store_true", help="only the --corpus notes, not sample_notes/")
    a = ap.parse_args()
    if a.diff:
        return diff(*a.diff)
    if not a.out:
        ap.error("give an output file or --diff A B")
    dump(a.out, a.corpus, not a.no_samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
