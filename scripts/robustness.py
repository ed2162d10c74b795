"""Robustness and specificity of opnote on a corpus of real transcribed reports.

Usage: python scripts/robustness.py CORPUS.jsonl [--jobs 2] [--limit N] [--json OUT.json]

CORPUS.jsonl has one report a line with at least ``text`` (and, for the specificity figure,
``specialties`` and ``sample_name``, as in MTSamples). It reports:

* exceptions: notes for which the checker raised anything but a typed input error (must be 0);
* offset failures: findings or evidence whose offsets do not index the text (must be 0);
* for orthopedic operative reports that are not tumor resections (arthroplasty, fracture
  fixation, arthroscopy, amputation, ...): the share judged ``not_supported`` (target >= 98%).

Nothing here is read by the tests: the corpus is test data outside the project.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ORTHO_OPERATIVE = ("Orthopedic", "Surgery")
TUMOR_WORDS = ("sarcoma", "tumor resection", "radical resection of tumor", "giant cell tumor", "enchondroma")


def _offsets_ok(text: str, report) -> bool:
    spans = [(f.start, f.end, f.text) for f in report.findings]
    for it in report.checklist:
        spans += [(e.start, e.end, e.text) for e in it.evidence]
    for a in report.advisories:
        spans += [(e.start, e.end, e.text) for e in a.evidence]
    return all(text[s:e] == t for s, e, t in spans)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the full result here")
    args = ap.parse_args(argv)

    from opnote.batch import NoteJob, run_jobs
    from opnote.errors import InputError  # noqa: F401

    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    jobs = [NoteJob(source=str(r.get("id", i)), text=r["text"], id=r.get("id", i)) for i, r in enumerate(rows)]
    t0 = time.perf_counter()
    results = list(run_jobs(jobs, n_jobs=args.jobs, keep_text=True))
    elapsed = time.perf_counter() - t0

    exceptions, input_errors, offset_fail = [], [], []
    verdicts: Counter[str] = Counter()
    ortho_total = 0
    ortho_not_supported = 0
    ortho_flagged = []
    for row, res in zip(rows, results):
        if not res.ok:
            (exceptions if res.error_type == "InternalError" else input_errors).append((row.get("id"), res.error))
            continue
        rep = res.report
        verdicts[rep.verdict] += 1
        if not _offsets_ok(res.text, rep):
            offset_fail.append(row.get("id"))
        specs = set(row.get("specialties") or [])
        if all(s in specs for s in ORTHO_OPERATIVE) and not any(w in res.text.lower() for w in TUMOR_WORDS):
            ortho_total += 1
            if rep.verdict == "not_supported":
                ortho_not_supported += 1
            else:
                ortho_flagged.append({"id": row.get("id"), "sample_name": row.get("sample_name"), "verdict": rep.verdict, "score": rep.score})
    share = ortho_not_supported / ortho_total if ortho_total else None
    out = {
        "notes": len(rows),
        "seconds": round(elapsed, 1),
        "notes_per_second": round(len(rows) / elapsed, 1) if elapsed else None,
        "exceptions": len(exceptions),
        "input_errors": len(input_errors),
        "offset_failures": len(offset_fail),
        "verdicts": dict(verdicts),
        "orthopedic_operative_non_tumor": ortho_total,
        "orthopedic_not_supported": ortho_not_supported,
        "orthopedic_not_supported_share": round(share, 4) if share is not None else None,
        "orthopedic_flagged": ortho_flagged,
        "exception_ids": [e[0] for e in exceptions],
    }
    print(f"notes {out['notes']} in {out['seconds']} s ({out['notes_per_second']} notes/s, {args.jobs} jobs)")
    print(f"exceptions {out['exceptions']}  input errors {out['input_errors']}  offset failures {out['offset_failures']}")
    print(f"verdicts {dict(verdicts)}")
    if share is not None:
        print(f"orthopedic operative non-tumor reports: {ortho_total}; judged not_supported: {ortho_not_supported} ({share:.1%})")
        for f in ortho_flagged:
            print(f"  flagged: {f['id']} {f['sample_name']!r} -> {f['verdict']} ({f['score']})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0 if not exceptions and not offset_fail else 1


if __name__ == "__main__":
    sys.exit(main())
