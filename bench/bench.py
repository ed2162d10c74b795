"""opnote speed benchmark: one command, the same notes for every configuration.

    .venv/bin/python bench/bench.py                 # sample notes repeated to 2,000, 3 repeats
    .venv/bin/python bench/bench.py --quick         # 200 notes, 1 repeat: a smoke run
    .venv/bin/python bench/bench.py --corpus FILE.jsonl [--notes N] [--repeats R]
    .venv/bin/python bench/bench.py --cold-against /path/to/other/checkout/src   # cold start, A/B

Configurations (each measured in its own child process, so peak memory is its own):

  tokenizer        spacy.blank("en").make_doc: the floor
  medspacy         medspacy.load() (default components: medspaCy tokenizer, PyRuSH sentences,
                   target matcher, ConText) plus the Sectionizer, with opnote's targets.json
                   phrases and patterns as TargetRules: the pipeline a user would build first
  opnote_check     Checker().check(text) per note: pipeline + scoring + Report
  opnote_many      Checker().check_many(texts) (nlp.pipe)
  batch_1          opnote.batch.run_jobs(jobs, n_jobs=1, checker=...)
  batch_2          opnote.batch.run_jobs(jobs, n_jobs=2, checker=...): two forked workers,
                   started within each run; results checked to come back complete, in input
                   order. Each batch row also has one end-to-end run (run_jobs builds the
                   pipeline itself, as `opnote check --jobs N` does)

plus the cold start of ``opnote check one_note.txt --format json`` (fresh processes) and
pathological inputs (a 1 MB line without spaces, a 200,000-token note, a size series to show
whether time grows linearly). Results: bench/results/latest.json and latest.md. See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CONFIGS = ["tokenizer", "medspacy", "opnote_check", "opnote_many", "batch_1", "batch_2"]
WARMUP = 20


# ------------------------------------------------------------------------------------ corpus
def load_corpus(corpus: str | None, n_notes: int | None) -> tuple[list[str], str]:
    """The notes, and a description of where they came from."""
    if corpus:
        texts = []
        with open(corpus, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                text = json.loads(line).get("text")
                if isinstance(text, str) and text.strip() and "\x00" not in text:
                    texts.append(text)
        source = f"{Path(corpus).name} ({len(texts)} notes with a 'text' field)"
        target = n_notes or len(texts)
    else:
        paths = sorted((ROOT / "sample_notes").glob("**/*.txt"))
        texts = [p.read_text(encoding="utf-8") for p in paths]
        texts = [t for t in texts if t.strip()]
        source = f"sample_notes/**/*.txt ({len(texts)} notes, repeated)"
        target = n_notes or 2000
    if not texts:
        sys.exit("bench: the corpus has no notes")
    out = [texts[i % len(texts)] for i in range(target)]
    return out, source


# ------------------------------------------------------------------------------ child side
def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux: kilobytes


def _summary(walls: list[float], cpus: list[float], n: int, latencies: list[list[float]] | None) -> dict:
    out = {
        "notes": n,
        "repeats": len(walls),
        "wall_s": [round(w, 3) for w in walls],
        "notes_per_s": round(statistics.median(n / w for w in walls), 1),
        "notes_per_s_cpu": round(statistics.median(n / c for c in cpus if c > 0), 1) if any(c > 0 for c in cpus) else None,
        "ms_per_note": round(statistics.median(w / n * 1000 for w in walls), 3),
        "cpu_ms_per_note": round(statistics.median(c / n * 1000 for c in cpus), 3),
    }
    if latencies:
        meds = [statistics.median(l) * 1000 for l in latencies]
        p95s = [sorted(l)[max(0, int(round(0.95 * len(l))) - 1)] * 1000 for l in latencies]
        out["latency_median_ms"] = round(statistics.median(meds), 3)
        out["latency_p95_ms"] = round(statistics.median(p95s), 3)
    return out


def _per_note(fn, texts: list[str], repeats: int) -> dict:
    for t in texts[:WARMUP]:
        fn(t)
    walls, cpus, lats = [], [], []
    for _ in range(repeats):
        lat = []
        c0, w0 = time.process_time(), time.perf_counter()
        for t in texts:
            a = time.perf_counter()
            fn(t)
            lat.append(time.perf_counter() - a)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        lats.append(lat)
    return _summary(walls, cpus, len(texts), lats)


def _medspacy_nlp():
    # PyRuSH logs every sentence it splits through loguru, to stderr, unless disabled.
    from loguru import logger

    logger.disable("PyRuSH")
    import medspacy
    from medspacy import util
    from medspacy.ner import TargetRule

    nlp = medspacy.load(medspacy_enable=sorted(set(util.DEFAULT_PIPE_NAMES) | {"medspacy_sectionizer"}))
    data = json.loads((ROOT / "src" / "opnote" / "rules" / "targets.json").read_text(encoding="utf-8"))
    rules = []
    for group in data["groups"]:
        for phrase in group.get("phrases", []):
            rules.append(TargetRule(phrase, group["label"]))
        for i, pattern in enumerate(group.get("patterns", [])):
            rules.append(TargetRule(f"{group['id']} pattern {i}", group["label"], pattern=pattern))
    nlp.get_pipe("medspacy_target_matcher").add(rules)
    return nlp, {"pipe_names": nlp.pipe_names, "target_rules": len(rules)}


def child(config: str, notes_file: str, repeats: int, out_file: str) -> None:
    texts = [json.loads(line)["text"] for line in open(notes_file, encoding="utf-8")]
    t0 = time.perf_counter()
    info: dict = {}
    if config == "tokenizer":
        import spacy

        nlp = spacy.blank("en")
        setup = time.perf_counter() - t0
        res = _per_note(nlp.make_doc, texts, repeats)
    elif config == "medspacy":
        nlp, info = _medspacy_nlp()
        setup = time.perf_counter() - t0
        res = _per_note(nlp, texts, repeats)
    elif config == "opnote_check":
        import spacy

        from opnote import Checker

        checker = Checker()
        setup = time.perf_counter() - t0
        res = _per_note(checker.check, texts, repeats)
        # The tokenizer again, in this process, each repeat right after opnote's: a ratio that
        # other processes' load (which changes between configurations) disturbs less.
        blank = spacy.blank("en")
        pairs = []
        for _ in range(repeats):
            tok = _per_note(blank.make_doc, texts, 1)
            chk = _per_note(checker.check, texts, 1)
            pairs.append((chk["ms_per_note"] / tok["ms_per_note"], chk["cpu_ms_per_note"] / tok["cpu_ms_per_note"], tok["ms_per_note"], chk["ms_per_note"]))
        res["paired_tokenizer_ms_per_note"] = round(statistics.median(p[2] for p in pairs), 3)
        res["paired_check_ms_per_note"] = round(statistics.median(p[3] for p in pairs), 3)
        res["paired_ratio_wall"] = round(statistics.median(p[0] for p in pairs), 2)
        res["paired_ratio_cpu"] = round(statistics.median(p[1] for p in pairs), 2)
    elif config == "opnote_many":
        from opnote import Checker

        checker = Checker()
        setup = time.perf_counter() - t0
        for _ in checker.check_many(texts[:WARMUP]):
            pass
        walls, cpus = [], []
        for _ in range(repeats):
            c0, w0 = time.process_time(), time.perf_counter()
            n = sum(1 for _ in checker.check_many(texts))
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            assert n == len(texts)
        res = _summary(walls, cpus, len(texts), None)
    elif config in ("batch_1", "batch_2"):
        from opnote import Checker
        from opnote.batch import NoteJob, run_jobs

        checker = Checker()
        setup = time.perf_counter() - t0
        n_jobs = 1 if config == "batch_1" else 2
        jobs = [NoteJob(source=f"note{i}", text=t, id=i) for i, t in enumerate(texts)]

        def one_run(with_checker: bool) -> tuple[float, float, float]:
            ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            c0, w0 = time.process_time(), time.perf_counter()
            results = list(run_jobs(jobs, n_jobs=n_jobs, checker=checker if with_checker else None))
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if [r.job.id for r in results] != list(range(len(jobs))) or not all(r.ok for r in results):
                raise SystemExit(f"{config}: results not complete and in input order")
            return wall, cpu, (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)

        for job in jobs[:WARMUP]:
            checker.check(job.text)
        runs = [one_run(True) for _ in range(repeats)]
        res = _summary([r[0] for r in runs], [r[1] for r in runs], len(texts), None)
        res["mode"] = "run_jobs(..., checker=a built Checker): pool start and fork included, pipeline build not"
        if n_jobs > 1:
            res["workers_cpu_ms_per_note"] = round(statistics.median(r[2] for r in runs) / len(texts) * 1000, 3)
        # End to end, as `opnote check --jobs N` runs: run_jobs builds the pipeline itself.
        e2e = one_run(False)
        res["e2e_wall_s"] = round(e2e[0], 3)
        res["e2e_notes_per_s"] = round(len(texts) / e2e[0], 1)
        info["n_jobs"] = n_jobs
        info["cpu_count"] = os.cpu_count()
        if n_jobs > 1:
            info["worker_peak_rss_mb"] = _peak_mb(resource.RUSAGE_CHILDREN)
    else:
        raise SystemExit(f"unknown config {config}")
    res["setup_s"] = round(setup, 3)
    res["peak_rss_mb"] = _peak_mb()
    res.update(info)
    Path(out_file).write_text(json.dumps(res), encoding="utf-8")


def child_patho(out_file: str, quick: bool) -> None:
    """Time normal and pathological notes in one process (each note checked 3 times, median)."""
    from opnote import Checker

    checker = Checker()
    nlp = checker.nlp
    samples = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "sample_notes").glob("**/*.txt"))]
    normal = max(samples, key=len)  # a long ordinary note
    for t in samples[:WARMUP]:
        checker.check(t)

    def timed(text: str, runs: int = 3) -> dict:
        # spaCy's tokenizer caches each whitespace-delimited chunk: every run gets a text of its
        # own (one character changed at the end), so no run reuses an earlier run's work.
        times = []
        for k in range(runs):
            variant = text[:-1] + "xyzw"[k % 4] if k else text
            c0 = time.perf_counter()
            rep = checker.check(variant)
            times.append(time.perf_counter() - c0)
        n_tok = len(nlp.make_doc(text))
        t = statistics.median(times)
        return {"chars": len(text), "tokens": n_tok, "seconds": round(t, 4), "us_per_token": round(t / n_tok * 1e6, 2),
                "us_per_char": round(t / len(text) * 1e6, 3), "verdict": rep.verdict}

    out: dict = {"normal_note": timed(normal, 5)}
    size = 250_000 if quick else 1_000_000
    out["long_line_no_spaces"] = timed("abcdefghij" * (size // 10), 1 if quick else 3)
    out["long_line_no_spaces"]["what"] = f"{size:,} letters, no space or newline"
    out["long_line_punct_no_spaces"] = timed(("ab.cd,ef-gh/ij(kl)" * (size // 18 + 1))[:size], 1 if quick else 3)
    out["long_line_punct_no_spaces"]["what"] = f"{size:,} characters of letters and punctuation, no space"
    # A note of ~200,000 tokens: ordinary notes joined, so the rules fire as often as usual.
    joined = "\n\n".join(samples)
    per = len(nlp.make_doc(joined))
    target = 50_000 if quick else 200_000
    series = []
    for frac in ((0.25, 0.5, 1.0) if not quick else (0.5, 1.0)):
        want = int(target * frac)
        text = "\n\n".join([joined] * (want // per + 1))
        doc = nlp.make_doc(text)
        text = text[: doc[min(want, len(doc)) - 1].idx + 1] if len(doc) > want else text
        series.append(timed(text, 1))
    out["big_note_series"] = series
    out["big_note"] = series[-1]
    base = out["normal_note"]["us_per_token"]
    for row in series:
        row["x_normal_per_token"] = round(row["us_per_token"] / base, 2)
    out["peak_rss_mb"] = _peak_mb()
    Path(out_file).write_text(json.dumps(out), encoding="utf-8")


# ----------------------------------------------------------------------------- parent side
def run_child(args: list[str], timeout: float) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out = fh.name
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args, "--result-file", out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            return {"error": f"exit {proc.returncode}: {tail}"}
        return json.loads(Path(out).read_text(encoding="utf-8"))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        Path(out).unlink(missing_ok=True)


def _opnote_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("opnote")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "opnote"]


def _cold_run(note: Path, env: dict[str, str] | None = None) -> tuple[float, float] | str:
    """(wall, CPU) seconds of one `opnote check NOTE --format json` in a fresh process, or an error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*_opnote_cmd(), "check", str(note), "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        return f"exit {proc.returncode}"
    json.loads(proc.stdout)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def cold_start(note_text: str, runs: int) -> dict:
    cmd = _opnote_cmd()
    with tempfile.TemporaryDirectory() as d:
        note = Path(d) / "one_note.txt"
        note.write_text(note_text, encoding="utf-8")
        walls, users = [], []
        for _ in range(runs):
            res = _cold_run(note)
            if isinstance(res, str):
                return {"error": res}
            walls.append(res[0])
            users.append(res[1])
        help_walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([*cmd, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
            help_walls.append(time.perf_counter() - t0)
    return {"command": "opnote check one_note.txt --format json", "runs": runs, "wall_s": [round(w, 3) for w in walls],
            "median_s": round(statistics.median(walls), 3), "cpu_s_median": round(statistics.median(users), 3),
            "help_median_s": round(statistics.median(help_walls), 3)}


def cold_start_against(note_text: str, runs: int, other_src: str) -> int:
    """Cold start of this checkout and of the opnote in ``other_src``, run by run in turn.

    Alternating the two keeps a change in the machine's load from favouring either; each line
    gives the median and the fastest of ``runs`` fresh processes, wall and CPU.
    """
    trees = {"this checkout": None, other_src: dict(os.environ, PYTHONPATH=other_src)}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as d:
        note = Path(d) / "one_note.txt"
        note.write_text(note_text, encoding="utf-8")
        for _ in range(runs):
            for name, env in trees.items():
                res = _cold_run(note, env)
                if isinstance(res, str):
                    print(f"{name}: {res}", file=sys.stderr)
                    return 1
                times[name].append(res)
    print(f"opnote check one_note.txt --format json, {runs} fresh processes each, alternating (load {os.getloadavg()[0]:.1f}):")
    for name, ts in times.items():
        walls, cpus = [w for w, _ in ts], [c for _, c in ts]
        print(f"  {name}: wall median {statistics.median(walls):.2f} s (fastest {min(walls):.2f}), CPU median {statistics.median(cpus):.2f} s")
    return 0


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    from importlib.metadata import PackageNotFoundError, version

    pkgs = {}
    for name in ("opnote", "spacy", "medspacy", "scispacy", "PyRuSH", "pydantic", "numpy", "typer", "simple-icd-10-cm"):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pkgs[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "packages": pkgs}


def _ratio(a: dict, b: dict, key: str = "notes_per_s") -> float | None:
    if "error" in a or "error" in b or not b.get(key):
        return None
    return round(a[key] / b[key], 2)


TARGETS = [
    ("c/b throughput (opnote_check vs medspacy)", ">= 10x"),
    ("c time per note / a (opnote_check vs tokenizer)", "<= 5x"),
    ("batch_2 / batch_1 throughput", ">= 1.7x"),
    ("cold start (median wall)", "<= 2.0 s"),
    ("peak memory, opnote single process", "<= 400 MB"),
]


def derive(results: dict) -> dict:
    c = results["configs"]
    r: dict = {}
    r["c_over_b_throughput"] = _ratio(c["opnote_check"], c["medspacy"])
    r["c_over_b_throughput_cpu"] = _ratio(c["opnote_check"], c["medspacy"], "notes_per_s_cpu")
    r["many_over_b_throughput"] = _ratio(c["opnote_many"], c["medspacy"])
    if "error" not in c["opnote_check"] and "error" not in c["tokenizer"]:
        r["c_over_a_time_per_note"] = round(c["opnote_check"]["ms_per_note"] / c["tokenizer"]["ms_per_note"], 2)
        r["c_over_a_cpu_per_note"] = round(c["opnote_check"]["cpu_ms_per_note"] / c["tokenizer"]["cpu_ms_per_note"], 2)
    r["batch2_over_batch1"] = _ratio(c["batch_2"], c["batch_1"])
    r["batch2_over_batch1_e2e"] = _ratio(c["batch_2"], c["batch_1"], "e2e_notes_per_s")
    r["batch2_over_check_loop"] = _ratio(c["batch_2"], c["opnote_check"])
    return r


def verdicts(results: dict) -> list[tuple[str, str, str, bool | None]]:
    d, c = results["derived"], results["configs"]
    cold = results.get("cold_start", {})
    peak = c["opnote_check"].get("peak_rss_mb")
    rows = [
        (TARGETS[0][0], TARGETS[0][1], f"{d.get('c_over_b_throughput')}x", (d.get("c_over_b_throughput") or 0) >= 10),
        (TARGETS[1][0], TARGETS[1][1], f"{d.get('c_over_a_time_per_note')}x", d.get("c_over_a_time_per_note") is not None and d["c_over_a_time_per_note"] <= 5),
        (TARGETS[2][0], TARGETS[2][1], f"{d.get('batch2_over_batch1')}x", (d.get("batch2_over_batch1") or 0) >= 1.7),
        (TARGETS[3][0], TARGETS[3][1], f"{cold.get('median_s')} s", cold.get("median_s") is not None and cold["median_s"] <= 2.0),
        (TARGETS[4][0], TARGETS[4][1], f"{peak} MB", peak is not None and peak <= 400),
    ]
    return rows


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# opnote benchmark",
        "",
        f"- when: {results['started']} ({results['wall_s']:.0f} s); load average before/after: {results['load_before']} / {results['load_after']}",
        f"- machine: {m['cpu']}, {m['cores']} cores, Python {m['python']} ({m['platform']})",
        "- packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- corpus: {results['corpus']}; {results['notes']} notes, {results['repeats']} repeats per configuration (medians)",
        "",
        "| configuration | notes/s | notes/s (CPU) | ms/note | median latency ms | p95 latency ms | peak RSS MB | setup s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in CONFIGS:
        r = results["configs"][name]
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} | | | | | | |")
            continue
        peak = f"{r['peak_rss_mb']}"
        if "worker_peak_rss_mb" in r:
            peak += f" (+ {r['worker_peak_rss_mb']} per worker)"
        lines.append(
            f"| {name} | {r['notes_per_s']} | {r.get('notes_per_s_cpu') or ''} | {r['ms_per_note']} | {r.get('latency_median_ms', 'n/a')} | "
            f"{r.get('latency_p95_ms', 'n/a')} | {peak} | {r['setup_s']} |"
        )
    d = results["derived"]
    lines += [
        "",
        "notes/s (CPU) divides by the process's own CPU time (for batch_2, the parent's only, so it is left out of comparisons).",
        "batch_1 and batch_2 time whole `run_jobs(..., checker=built)` calls (worker start included, pipeline build not); "
        "e2e below is one run that also builds the pipeline, as `opnote check --jobs N` does.",
        "",
        "| ratio | value |",
        "| --- | ---: |",
        f"| c/a: opnote_check time per note / tokenizer's (wall) | {d.get('c_over_a_time_per_note')}x |",
        f"| c/a: same, CPU time | {d.get('c_over_a_cpu_per_note')}x |",
        f"| c/a paired: tokenizer and opnote_check alternated in one process (wall; CPU) | "
        f"{results['configs']['opnote_check'].get('paired_ratio_wall')}x; {results['configs']['opnote_check'].get('paired_ratio_cpu')}x "
        f"({results['configs']['opnote_check'].get('paired_check_ms_per_note')} / {results['configs']['opnote_check'].get('paired_tokenizer_ms_per_note')} ms) |",
        f"| c/b: opnote_check throughput / medspacy's (wall) | {d.get('c_over_b_throughput')}x |",
        f"| c/b: same, CPU time | {d.get('c_over_b_throughput_cpu')}x |",
        f"| opnote_many throughput / medspacy's | {d.get('many_over_b_throughput')}x |",
        f"| batch_2 / batch_1 throughput | {d.get('batch2_over_batch1')}x |",
        f"| batch_2 / batch_1 throughput, end to end (pipeline build included, {results['configs']['batch_2'].get('e2e_wall_s')} s vs {results['configs']['batch_1'].get('e2e_wall_s')} s) | {d.get('batch2_over_batch1_e2e')}x |",
        f"| batch_2 / opnote_check loop | {d.get('batch2_over_check_loop')}x |",
        "",
        "| target | wanted | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    for name, want, got, ok in verdicts(results):
        lines.append(f"| {name} | {want} | {got} | {'yes' if ok else 'NO'} |")
    cold = results.get("cold_start")
    if cold and "error" not in cold:
        lines += ["", f"Cold start: `{cold['command']}`, {cold['runs']} fresh processes: median {cold['median_s']} s wall "
                  f"({cold['wall_s']}), {cold['cpu_s_median']} s CPU; `opnote --help`: {cold['help_median_s']} s."]
    p = results.get("pathological")
    if p and "error" not in p:
        lines += ["", "| input | chars | tokens | seconds | µs/token | × normal µs/token |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        base = p["normal_note"]["us_per_token"]
        rows = [("normal note (longest sample)", p["normal_note"]), (p["long_line_no_spaces"]["what"], p["long_line_no_spaces"]),
                (p["long_line_punct_no_spaces"]["what"], p["long_line_punct_no_spaces"])]
        rows += [(f"joined sample notes, {r['tokens']:,} tokens", r) for r in p["big_note_series"]]
        for name, r in rows:
            lines.append(f"| {name} | {r['chars']:,} | {r['tokens']:,} | {r['seconds']} | {r['us_per_token']} | {round(r['us_per_token'] / base, 2)} |")
        lines.append(f"\nPeak RSS of the pathological run: {p['peak_rss_mb']} MB.")
    elif p:
        lines += ["", f"Pathological inputs: {p['error']}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="a JSON-lines file with a 'text' field per line (default: sample_notes/)")
    ap.add_argument("--notes", type=int, help="number of notes (default 2,000 sample notes, or every note of --corpus)")
    ap.add_argument("--repeats", type=int, help="runs per configuration (default 3)")
    ap.add_argument("--quick", action="store_true", help="200 notes, 1 repeat, smaller pathological inputs")
    ap.add_argument("--only", help="comma-separated configurations to run (default: all)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold-start runs")
    ap.add_argument("--skip-patho", action="store_true", help="skip the pathological inputs")
    ap.add_argument("--cold-against", metavar="SRC", help="only the cold start, of this checkout and of the opnote in SRC (another checkout's src/), alternating")
    ap.add_argument("--cold-runs", type=int, default=9, help="fresh processes per tree with --cold-against (default 9)")
    ap.add_argument("--out-dir", default=str(RESULTS), help="where latest.json and latest.md go")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--notes-file", help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child == "patho":
        child_patho(a.result_file, a.quick)
        return 0
    if a.child:
        child(a.child, a.notes_file, a.repeats or 3, a.result_file)
        return 0

    repeats = a.repeats or (1 if a.quick else 3)
    n_notes = a.notes or (200 if a.quick else None)
    texts, source = load_corpus(a.corpus, n_notes)
    if a.cold_against:
        return cold_start_against(texts[0], a.cold_runs, a.cold_against)
    configs = [c.strip() for c in a.only.split(",")] if a.only else CONFIGS
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    t_start = time.perf_counter()
    results: dict = {
        "started": started, "corpus": source, "notes": len(texts), "repeats": repeats,
        "load_before": [round(x, 2) for x in os.getloadavg()], "machine": machine(), "configs": {},
    }
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for t in texts:
            fh.write(json.dumps({"text": t}) + "\n")
        notes_file = fh.name
    try:
        for name in CONFIGS:
            if name not in configs:
                results["configs"][name] = {"error": "not run (--only)"}
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            res = run_child(["--child", name, "--notes-file", notes_file, "--repeats", str(repeats)], timeout=7200)
            results["configs"][name] = res
            summary = res.get("error") or f"{res['notes_per_s']} notes/s, peak {res['peak_rss_mb']} MB"
            print(f"bench: {name}: {summary}", file=sys.stderr, flush=True)
    finally:
        Path(notes_file).unlink(missing_ok=True)
    if not a.skip_cold:
        print("bench: cold start ...", file=sys.stderr, flush=True)
        results["cold_start"] = cold_start(texts[0], 3 if a.quick else 5)
    if not a.skip_patho:
        print("bench: pathological inputs ...", file=sys.stderr, flush=True)
        results["pathological"] = run_child(["--child", "patho"] + (["--quick"] if a.quick else []), timeout=3600)
    results["derived"] = derive(results)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results["wall_s"] = round(time.perf_counter() - t_start, 1)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    md = markdown(results)
    (out / "latest.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
