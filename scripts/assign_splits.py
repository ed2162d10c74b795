"""Assign new gold notes to dev or held-out by a seeded draw, before anyone reads them.

    python scripts/assign_splits.py sample_notes/incoming ROUND [--heldout 0.4] [--seed N]

Each author's folder ``incoming/AUTHOR`` is split separately, stratified by verdict, so both
splits get true cases and near misses from every author. Held-out notes move to
``heldout/ROUND_AUTHOR``, the rest to ``dev/ROUND_AUTHOR``; each gold file's ``"split"`` is set.
Nothing of a note is printed: only counts.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("incoming", type=Path)
    ap.add_argument("round")
    ap.add_argument("--heldout", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=27365)
    args = ap.parse_args()
    root = args.incoming.parent
    rng = random.Random(args.seed)
    totals: dict[str, int] = defaultdict(int)
    for author_dir in sorted(p for p in args.incoming.iterdir() if p.is_dir()):
        author = author_dir.name
        by_verdict: dict[str, list[Path]] = defaultdict(list)
        for g in sorted(author_dir.glob("*.expected.json")):
            by_verdict[json.loads(g.read_text(encoding="utf-8"))["verdict"]].append(g)
        for verdict, golds in sorted(by_verdict.items()):
            rng.shuffle(golds)
            k = round(len(golds) * args.heldout)
            for i, g in enumerate(golds):
                split = "heldout" if i < k else "dev"
                dest = root / split / f"{args.round}_{author}"
                dest.mkdir(parents=True, exist_ok=True)
                data = json.loads(g.read_text(encoding="utf-8"))
                data["split"] = split
                note = g.with_name(g.name[: -len(".expected.json")] + ".txt")
                shutil.move(str(note), dest / note.name)
                (dest / g.name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
                g.unlink()
                totals[split] += 1
        manifest = author_dir / "MANIFEST.md"
        if manifest.exists():
            manifest.unlink()
        if not any(author_dir.iterdir()):
            author_dir.rmdir()
    print(dict(totals))


if __name__ == "__main__":
    main()
