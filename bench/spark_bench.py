"""Notes per second on Spark (local mode) beside single-process and process-pool runs.

Usage::

    .venv/bin/python bench/spark_bench.py                       # sample notes repeated to >= 2,000
    .venv/bin/python bench/spark_bench.py --corpus notes.jsonl  # one {"text": ...} object per line
    .venv/bin/python bench/spark_bench.py --master 'local[2]' --min-notes 2000 --skip-single --json out.json

Rows (every row checks the same notes with the same pipeline and counts reports, not errors):

* single process: ``run_jobs(n_jobs=1)`` with a Checker built before the clock starts;
* process pool: ``run_jobs(n_jobs=N)``, clock includes the workers building their pipelines;
* spark cold: ``check_notes`` on a fresh session, clock includes each Python worker building its
  pipeline (the session's own start is timed separately);
* spark warm: the same job again, workers already hold their pipelines (the steady state of a
  long job, per core).

Each row also gives CPU seconds (this process and its children: pool workers, the JVM, Spark's
Python workers) and notes per CPU-second, which neighbours on a shared machine disturb much less
than wall time; size cores with that. Needs the spark extra and Java, and Linux for the CPU
columns. Run it on a quiet machine. Note text never reaches the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_texts(corpus: str | None, min_notes: int) -> tuple[list[str], str]:
    texts: list[str] = []
    if corpus:
        with open(corpus, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj.get("text"), str) and obj["text"].strip():
                        texts.append(obj["text"])
        label = f"{corpus} ({len(texts)} notes)"
    else:
        texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "sample_notes").glob("**/*.txt"))]
        label = f"sample_notes/**/*.txt ({len(texts)} notes)"
    if not texts:
        raise SystemExit("no notes in the corpus")
    base = list(texts)
    while len(texts) < min_notes:
        texts.extend(base[: min_notes - len(texts)])
    return texts, f"{label}, repeated to {len(texts)}"


def tree_cpu() -> float:
    """CPU seconds used so far by this process and all its descendants (Linux /proc).

    On a shared machine wall time depends on the neighbours; CPU time much less, so notes per
    CPU-second is the number to size cores with. Counts live descendants (the JVM, Spark's Python
    daemon and workers) plus children already reaped.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        cpu[int(d)] = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    me = os.getpid()
    total, todo = 0.0, [me]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def _row(name: str, n: int, ok: int, seconds: float, cores: int, extra: str = "", cpu_s: float | None = None) -> dict:
    row = {"run": name, "notes": n, "reports": ok, "seconds": round(seconds, 2), "notes_per_s": round(n / seconds, 2),
           "cores": cores, "notes_per_s_per_core": round(n / seconds / cores, 2), "note": extra}
    if cpu_s:
        row["cpu_seconds"] = round(cpu_s, 2)
        row["notes_per_cpu_s"] = round(n / cpu_s, 2)
    return row


def bench_single(texts: list[str]) -> dict:
    from opnote.api import Checker
    from opnote.batch import NoteJob, run_jobs

    checker = Checker()
    jobs = [NoteJob(source=f"n{i}", text=t) for i, t in enumerate(texts)]
    t0, c0 = time.perf_counter(), tree_cpu()
    ok = sum(1 for r in run_jobs(jobs, checker=checker) if r.ok)
    return _row("single process", len(texts), ok, time.perf_counter() - t0, 1, "pipeline built before the clock", tree_cpu() - c0)


def bench_pool(texts: list[str], n_jobs: int) -> dict:
    from opnote.batch import NoteJob, run_jobs

    jobs = [NoteJob(source=f"n{i}", text=t) for i, t in enumerate(texts)]
    t0, c0 = time.perf_counter(), tree_cpu()
    ok = sum(1 for r in run_jobs(jobs, n_jobs=n_jobs) if r.ok)
    return _row(f"process pool (-j {n_jobs})", len(texts), ok, time.perf_counter() - t0, n_jobs, "includes workers building pipelines", tree_cpu() - c0)


def bench_spark(texts: list[str], master: str, partitions: int | None) -> list[dict]:
    from pyspark.sql import functions as F

    from opnote.spark import check_notes, session

    t0 = time.perf_counter()
    spark = session(master, app_name="opnote-bench", conf={"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.log.level": "ERROR"})
    start_s = time.perf_counter() - t0
    cores = spark.sparkContext.defaultParallelism
    parts = partitions or cores
    df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "id long, text string").repartition(parts).cache()
    df.count()  # materialize the input so the clock measures checking only

    rows = []
    for name in ("spark cold", "spark warm"):
        out = check_notes(df)
        t0, c0 = time.perf_counter(), tree_cpu()
        stats = out.agg(F.count("*").alias("n"), F.count("report").alias("ok")).collect()[0]
        sec, cpu_s = time.perf_counter() - t0, tree_cpu() - c0
        extra = f"{master}, {parts} partitions; " + ("includes Python workers building pipelines" if name == "spark cold" else "workers reuse their pipelines")
        rows.append(_row(f"{name} ({master})", stats["n"], stats["ok"], sec, cores, extra + "; CPU includes the JVM", cpu_s))
    rows.append({"run": "spark session start", "seconds": round(start_s, 2), "note": "JVM and SparkSession, once per application"})

    def peak_rss(batches):  # the Python workers' peak memory, pipeline included
        import os
        import resource

        import pandas as pd

        for _ in batches:
            pass
        yield pd.DataFrame({"pid": [os.getpid()], "mb": [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]})

    mem = {r["pid"]: r["mb"] for r in df.select("id").mapInPandas(peak_rss, "pid long, mb double").collect()}
    rows.append({"run": "spark python worker peak RSS", "mb": round(max(mem.values()), 1), "workers": len(mem), "note": "per Python worker"})
    spark.stop()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", help="JSON lines, one object with a 'text' field per line (default: sample_notes/)")
    ap.add_argument("--min-notes", type=int, default=2000, help="repeat the corpus until it has this many notes")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=None, help="default: one per core")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the process-pool row")
    ap.add_argument("--skip-single", action="store_true")
    ap.add_argument("--skip-pool", action="store_true")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args()

    texts, label = load_texts(a.corpus, a.min_notes)
    chars = sum(map(len, texts)) / len(texts)
    print(f"corpus: {label}, mean {chars:.0f} characters", flush=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    rows: list[dict] = []
    if not a.skip_single:
        rows.append(bench_single(texts))
        print(rows[-1], flush=True)
    if not a.skip_pool:
        rows.append(bench_pool(texts, a.jobs))
        print(rows[-1], flush=True)
    if not a.skip_spark:
        for r in bench_spark(texts, a.master, a.partitions):
            rows.append(r)
            print(r, flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end\n")
    print("| run | notes | seconds | notes/s | cores | notes/s/core | CPU s | notes/CPU-s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "notes" in r:
            print(f"| {r['run']} | {r['notes']} | {r['seconds']} | {r['notes_per_s']} | {r['cores']} | {r['notes_per_s_per_core']} | {r.get('cpu_seconds', '')} | {r.get('notes_per_cpu_s', '')} |")
        elif "mb" in r:
            print(f"| {r['run']}: {r['mb']} MB ({r['workers']} workers) | | | | | | | |")
        else:
            print(f"| {r['run']} | | {r['seconds']} | | | | | |")
    if a.json:
        Path(a.json).write_text(json.dumps({"corpus": label, "rows": rows}, indent=2), encoding="utf-8")
    bad = [r for r in rows if "notes" in r and r["reports"] != r["notes"]]
    if bad:
        print(f"warning: some notes gave no report: {bad}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
