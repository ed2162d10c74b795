"""The batch index (index.html) at 10,000 notes: page size, render time, and load time in headless Chromium.

    .venv/bin/python bench/index_bench.py                     # 10,000 rows, 3 loads
    .venv/bin/python bench/index_bench.py --rows 50000 --repeats 5
    .venv/bin/python bench/index_bench.py --screenshot docs/index-screenshot.png   # the README's picture

The rows are made, not checked: the development notes (sample_notes/dev) are checked once, and
their summary rows (what ``opnote check --out`` writes to summary.csv and index.html) are
repeated with new file names and dates of service spread over twelve months; one row in a hundred
is a note that could not be checked. ``render_index`` then writes the page (with ``--group-by
month``), and Chromium opens it from disk (``--headless --dump-dom``) with a probe script that
reads the page's own timings: ``performance.now()`` when the page's script has run (parsed,
filters ready), at the load event and once the page is laid out, the first contentful paint,
then the time one filter change (with its layout) and one CSV download of all rows take. The wall time of the whole Chromium run, less
that of an empty page, is given too. Results: bench/results/index_latest.json and .md.

``--screenshot PATH`` instead checks sample_notes/dev with ``opnote check --format html
--group-by month`` and saves the top of its index.html (the summary) as a PNG.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "sample_notes" / "dev"
RESULTS = ROOT / "bench" / "results"
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')

PROBE = """<script>
var T={script_done_ms:performance.now()};
(function(){
 var f=document.getElementById('filters'),s=f.elements.namedItem('verdict'),t0=performance.now();
 s.value='not_supported';s.dispatchEvent(new Event('change',{bubbles:true}));void document.body.offsetHeight;
 T.filter_ms=performance.now()-t0;T.shown=document.getElementById('shown').getAttribute('data-shown');
 var a=document.getElementById('download'),made=URL.createObjectURL;a.addEventListener('click',function(e){e.preventDefault();});
 URL.createObjectURL=function(b){T.download_bytes=b.size;return made.call(URL,b);};
 f.reset();s.dispatchEvent(new Event('change',{bubbles:true}));t0=performance.now();a.click();
 T.download_all_ms=performance.now()-t0;
})();
addEventListener('load',function(){
 T.load_ms=performance.now();void document.body.offsetHeight;T.laid_out_ms=performance.now();
 var p=performance.getEntriesByName('first-contentful-paint')[0];T.fcp_ms=p?p.startTime:null;
 T.rows=document.querySelectorAll('#notes tbody tr').length;
 var pre=document.createElement('pre');pre.id='bench';pre.textContent=JSON.stringify(T);document.body.appendChild(pre);
});
</script>"""


def chromium_cmd() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        sys.exit("index_bench: headless Chromium is needed (Debian package 'chromium')")
    return path


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [
        chromium_cmd(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--proxy-server=http://127.0.0.1:9", f"--user-data-dir={profile}",
        "--force-color-profile=srgb", "--hide-scrollbars", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(proc.stderr.decode("utf-8", "replace")[-2000:])
    return proc


# ------------------------------------------------------------------------------------- rows
def dev_rows() -> list[dict[str, Any]]:
    """The summary rows of the development notes, as ``opnote check --out`` builds them."""
    from opnote import Checker
    from opnote.jobs import NoteJob, NoteResult
    from opnote.sinks import summary_row

    checker = Checker()
    rows = []
    for path in sorted(DEV.rglob("*.txt")):
        text = path.read_text(encoding="utf-8")
        res = NoteResult(job=NoteJob(source=str(path.relative_to(ROOT))), report=checker.check(text, source=path.name), text=text)
        row = summary_row(res)
        row["report"] = path.stem + ".html"
        rows.append(row)
    return rows


def synthetic_rows(base: list[dict[str, Any]], n: int, seed: int = 17) -> list[dict[str, Any]]:
    """``n`` rows repeated from ``base`` with their own file names and dates (twelve months); 1 % errors."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if i % 100 == 99:
            name = f"notes/2025/batch_{i // 1000:02d}/note_{i:06d}.txt"
            rows.append({"file": name, "id": "", "error": f"[E101] {name}: the note is empty"})
            continue
        row = dict(base[i % len(base)])
        row["file"] = f"notes/2025/batch_{i // 1000:02d}/note_{i:06d}_{Path(str(base[i % len(base)]['file'])).name}"
        row["report"] = f"note_{i:06d}.html"
        if rng.random() < 0.85:
            row["date_of_service"] = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ measure
def measure(rows: list[dict[str, Any]], repeats: int, work: Path) -> dict[str, Any]:
    from opnote.render.html import render_index

    renders = []
    for _ in range(repeats):
        t = time.perf_counter()
        page = render_index(rows, group_by="month")
        renders.append(time.perf_counter() - t)
    raw = page.encode("utf-8")
    (work / "index.html").write_bytes(raw)
    probe = work / "probe.html"
    probe.write_text(CSP.sub("", page).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    empty = work / "empty.html"
    empty.write_text("<!DOCTYPE html><title>empty</title><p>empty</p>", encoding="utf-8")
    loads, walls, baselines = [], [], []
    for n in range(repeats):
        t = time.perf_counter()
        chromium(work / f"p{n}", "--dump-dom", empty.as_uri())
        baselines.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = chromium(work / f"q{n}", "--dump-dom", probe.as_uri()).stdout.decode("utf-8")
        walls.append(time.perf_counter() - t)
        m = re.search(r'<pre id="bench">(.*?)</pre>', out, re.S)
        if not m:
            sys.exit("index_bench: the probe did not report (the page's script failed?)")
        loads.append(json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")))
    med = {k: statistics.median(x[k] for x in loads) for k in loads[0] if isinstance(loads[0][k], (int, float))}
    return {
        "rows": len(rows),
        "page_bytes": len(raw),
        "page_gzip_bytes": len(gzip.compress(raw, 6)),
        "render_s": round(statistics.median(renders), 3),
        "script_done_ms": round(med["script_done_ms"]),
        "load_ms": round(med["load_ms"]),
        "laid_out_ms": round(med["laid_out_ms"]),
        "fcp_ms": round(med["fcp_ms"]) if med.get("fcp_ms") else None,
        "filter_ms": round(med["filter_ms"], 1),
        "download_all_ms": round(med["download_all_ms"], 1),
        "download_bytes": int(med["download_bytes"]),
        "rows_in_table": int(med["rows"]),
        "chromium_wall_s": round(statistics.median(walls), 2),
        "chromium_empty_page_wall_s": round(statistics.median(baselines), 2),
        "repeats": repeats,
    }


def markdown(r: dict[str, Any]) -> str:
    mb = 1024 * 1024
    return "\n".join([
        "# index.html at scale",
        "",
        f"- when: {r['when']}; machine: {r['machine']}; {r['chromium']}",
        f"- {r['rows']:,} rows (the {r['base_rows']} development notes' summary rows repeated, 1 % errors, dates over twelve months), `--group-by month`; medians of {r['repeats']}",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| page size | {r['page_bytes'] / mb:.1f} MB ({r['page_bytes'] / r['rows']:.0f} bytes per row) |",
        f"| page size, gzip | {r['page_gzip_bytes'] / mb:.2f} MB |",
        f"| render_index (Python) | {r['render_s']:.2f} s |",
        f"| whole page parsed, filters ready (a probe at the end of the body) | {r['script_done_ms']:,} ms |",
        f"| load event | {r['load_ms']:,} ms |",
        f"| page laid out (layout forced at the load event) | {r['laid_out_ms']:,} ms |",
        f"| first contentful paint | {r['fcp_ms'] if r['fcp_ms'] is not None else 'n/a'} ms |",
        f"| one filter change over all rows (layout included) | {r['filter_ms']} ms |",
        f"| CSV download of all rows | {r['download_all_ms']} ms ({r['download_bytes'] / mb:.1f} MB) |",
        f"| headless Chromium run, whole (an empty page: {r['chromium_empty_page_wall_s']} s) | {r['chromium_wall_s']} s |",
        "",
    ])


def screenshot(path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="opnote-index-") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "opnote", "check", "sample_notes/dev", "--out", str(out), "--format", "html", "--group-by", "month"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
        if proc.returncode not in (0, 1):
            sys.exit(proc.stderr[-2000:])
        chromium(Path(tmp) / "profile", "--window-size=1280,1000", "--virtual-time-budget=3000", f"--screenshot={path.resolve()}",
                 (out / "index.html").as_uri())
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--screenshot", type=Path, help="save the summary of sample_notes/dev's index.html as this PNG, and stop")
    args = ap.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return
    base = dev_rows()
    rows = synthetic_rows(base, args.rows)
    version = chromium_cmd() and subprocess.run([chromium_cmd(), "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="opnote-index-bench-") as tmp:
        result = measure(rows, args.repeats, Path(tmp))
    import os

    result.update(
        when=time.strftime("%Y-%m-%d %H:%M:%S"),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        chromium=version,
        base_rows=len(base),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "index_latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = markdown(result)
    (RESULTS / "index_latest.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
