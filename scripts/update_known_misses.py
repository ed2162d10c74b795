"""Rewrite tests/known_misses.json from `opnote evaluate sample_notes/dev` (run after a rule change).

Each entry names a dev note the checker still gets wrong (checklist status or verdict) and what
it gets wrong; tests/test_samples.py runs those as strict xfails. Held-out notes are never listed:
they are judged only by the summary thresholds in tests/test_samples.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from opnote.evaluate import evaluate_dir

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    result = evaluate_dir(ROOT / "sample_notes" / "dev")
    known: dict[str, list[str]] = {}
    for m in result["misses"]:
        if m["what"].startswith("attr:") or m["split"] != "dev":
            continue
        key = "dev/" + m["note"][: -len(".txt")]
        known.setdefault(key, []).append(f"{m['what']}: expected {m['expected']}, got {m['got']}")
    out = {k: "; ".join(v) for k, v in sorted(known.items())}
    (ROOT / "tests" / "known_misses.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(out)} known misses written")


if __name__ == "__main__":
    main()
