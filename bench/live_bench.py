"""Live sessions and ``opnote serve``: latency of an update, memory per session, service load.

    .venv/bin/python bench/live_bench.py            # about 6 minutes on 2 cores
    .venv/bin/python bench/live_bench.py --quick    # about 2 minutes: fewer steps and clients

Everything is measured in one run, beside its baseline, on notes built from ``sample_notes/dev``
only (never the held-out notes):

* **update after one sentence** on a 2,000-word note: the dev notes cut into sentences (at
  ``. ! ?`` before white space, and at line ends), shuffled with a fixed seed, joined by a space,
  with a blank line after one sentence in five, until the note has 2,000 words. Each step appends
  one more dev sentence to that note: ``session.update(note + " " + sentence)`` is timed, then
  the session goes back to ``note`` (not timed), so every timed update is the same edit on a
  2,000-word note; ``checker.check`` of the same text is timed beside it, alternating. Also: a
  word corrected in the middle of the note, the pipeline alone (the session's, reusing, against
  ``nlp(text)``), and the CPU time of each step of a full check.
* **memory per open session**: Python allocations a session keeps (tracemalloc) after it has
  seen the 2,000-word note and 20 updates, alone and 20 at once.
* **service load**: ``opnote serve`` in its own process (access log off); C clients (threads,
  one keep-alive connection each) replay dev notes as a scribe tool would: open a session, send
  the note so far after every sentence, close it; and, separately, ``POST /v1/check`` of whole
  dev notes. Requests per second and p50/p95 latency for each C, beside the same work done
  in-process (``Session.update`` / ``Checker.check`` in a loop) in this run.

The pipeline's objects are frozen out of Python's garbage collection after the Checker is built
(``gc.freeze()``, as ``opnote serve`` does); without it a full collection walks them all (about
0.2 s here) during whichever call happens to trigger one, check or update alike.

Results: bench/results/live.json and live.md (also printed). Wall times are noisy on a shared
machine: every latency row also gives CPU time, and medians are what the docs quote.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import platform
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEV = sorted((ROOT / "sample_notes" / "dev").glob("*.txt"))
SEED = 20240607


# ------------------------------------------------------------------------------------ notes
def dev_notes() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in DEV]


def dev_sentences(notes: list[str]) -> list[str]:
    out = []
    for text in notes:
        for piece in re.split(r"(?<=[.!?])\s+|\n+", text):
            piece = " ".join(piece.split())
            if len(piece.split()) >= 3:
                out.append(piece)
    return out


def long_note(sentences: list[str], words: int, rng: random.Random) -> str:
    order = sentences[:]
    rng.shuffle(order)
    parts, count, i = [], 0, 0
    while count < words:
        s = order[i % len(order)]
        parts.append(s + ("\n\n" if i % 5 == 4 else " "))
        count += len(s.split())
        i += 1
    return "".join(parts).rstrip() + "\n"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, int(round(p * len(xs))) - 1))]


def stats_ms(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(xs) * 1000, 2), "p95_ms": round(pct(xs, 0.95) * 1000, 2), "n": len(xs)}


# --------------------------------------------------------------------------- in-process latency
def timed(fn, *args):  # noqa: ANN001, ANN201 - a tiny helper
    c, w = time.process_time(), time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def latency(checker, steps: int) -> dict:  # noqa: ANN001
    from opnote.incremental import IncrementalPipeline
    from opnote.normalize import canonical

    rng = random.Random(SEED)
    sentences = dev_sentences(dev_notes())
    note = long_note(sentences, 2000, rng)
    extra = [rng.choice(sentences) for _ in range(steps)]
    session = checker.session()
    session.update(note)
    pipe = IncrementalPipeline(checker.nlp)
    ctext_base = canonical(note).text
    for s in extra[:5]:  # warm up both paths
        checker.check(note + " " + s)
        session.update(note + " " + s)
        session.update(note)
    rows: dict[str, list[float]] = {k: [] for k in ("update", "update_cpu", "check", "check_cpu", "mid", "mid_cpu", "mid_check")}
    words = re.compile(r"\b[a-z]{5,}\b")
    middle = [m for m in words.finditer(note) if len(note) * 0.3 < m.start() < len(note) * 0.7]
    for i, s in enumerate(extra):
        text = note + " " + s
        order = (("update", session.update), ("check", checker.check)) if i % 2 else (("check", checker.check), ("update", session.update))
        for name, fn in order:
            out, wall, cpu = timed(fn, text)
            rows[name].append(wall)
            rows[name + "_cpu"].append(cpu)
            if name == "update":
                assert out.model_dump_json() == checker.check(text).model_dump_json()
        session.update(note)
        m = middle[i % len(middle)]
        fixed = note[:m.start()] + m.group(0).upper() + note[m.end():]
        _, wall, cpu = timed(session.update, fixed)
        rows["mid"].append(wall)
        rows["mid_cpu"].append(cpu)
        rows["mid_check"].append(timed(checker.check, fixed)[1])
        session.update(note)
        for stage, cpu in stages(checker, text).items():
            rows.setdefault(stage, []).append(cpu)
        # the pipeline alone: the Doc of the session's pipeline (reusing) and of nlp (whole), CPU time
        ctext = canonical(text).text
        pipe.process(ctext_base)
        rows.setdefault("pipeline_session_cpu", []).append(timed(pipe.process, ctext)[2])
        rows.setdefault("pipeline_whole_cpu", []).append(timed(checker.nlp, ctext)[2])
    out = {k: stats_ms(v) for k, v in rows.items()}
    out["words"] = len(note.split())
    out["ratio_update_to_check_p50"] = round(out["update"]["p50_ms"] / out["check"]["p50_ms"], 3)
    out["ratio_update_to_check_p95"] = round(out["update"]["p95_ms"] / out["check"]["p95_ms"], 3)
    out["ratio_mid_to_check_p50"] = round(out["mid"]["p50_ms"] / out["mid_check"]["p50_ms"], 3)
    out["ratio_update_to_check_cpu_p50"] = round(out["update_cpu"]["p50_ms"] / out["check_cpu"]["p50_ms"], 3)
    session.close()
    return out


def stages(checker, text: str) -> dict[str, float]:  # noqa: ANN001
    """CPU seconds of each step of a full check of ``text`` (as Checker.check runs them)."""
    from opnote.api import _claim_codes
    from opnote.normalize import canonical

    out = {}
    canon, _, out["stage canonical text"] = timed(canonical, text)
    doc, _, out["stage tokenizer"] = timed(checker.nlp.make_doc, canon.text)
    for name, proc in checker.nlp.pipeline:
        doc, _, out[f"stage {name}"] = timed(proc, doc)
    _, _, out["stage case model, assessors, report"] = timed(checker._report, doc, canon, _claim_codes(None), None, None, None)
    return out


def memory(checker, sessions: int = 20) -> dict:  # noqa: ANN001
    rng = random.Random(SEED + 1)
    sentences = dev_sentences(dev_notes())
    note = long_note(sentences, 2000, rng)
    extra = [rng.choice(sentences) for _ in range(20)]

    def fill(session) -> None:  # noqa: ANN001
        text = note
        session.update(text)
        for s in extra:
            text += " " + s
            session.update(text)

    warm = checker.session()
    fill(warm)  # vocabulary and caches of the pipeline grow here, not in the measured sessions
    warm.close()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    one = checker.session()
    fill(one)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - base
    one.close()
    gc.collect()
    after_close = tracemalloc.get_traced_memory()[0] - base
    many = [checker.session() for _ in range(sessions)]
    base = tracemalloc.get_traced_memory()[0]
    for s in many:
        fill(s)
    gc.collect()
    kept_many = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    for s in many:
        s.close()
    return {
        "note_words": len(note.split()) + sum(len(s.split()) for s in extra),
        "session_kb_tracemalloc": round(kept / 1024, 1),
        "after_close_kb": round(after_close / 1024, 1),
        "mb_for_sessions": round(kept_many / 2**20, 1),
        "sessions": sessions,
    }


# ------------------------------------------------------------------------------- service load
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = self.conn.getresponse()
        return r.status, r.read()


def dictations(notes: list[str]) -> list[list[str]]:
    """Each note as the texts a scribe tool sends: the note so far after every sentence or line."""
    out = []
    for text in notes:
        cuts = [m.end() for m in re.finditer(r"[.!?](?=\s)|\n", text)] + [len(text)]
        out.append([text[:c] for c in cuts if text[:c].strip()])
    return out


def _client_sessions(port: int, jobs: list[list[str]], lat: list[float], errors: list[int]) -> None:
    c = Client(port)
    for texts in jobs:
        status, body = c.call("POST", "/v1/sessions", {})
        sid = json.loads(body)["id"]
        for text in texts:
            a = time.perf_counter()
            status, _ = c.call("PATCH", f"/v1/sessions/{sid}", {"text": text})
            lat.append(time.perf_counter() - a)
            if status != 200:
                errors.append(status)
        c.call("DELETE", f"/v1/sessions/{sid}")


def _client_checks(port: int, jobs: list[str], lat: list[float], errors: list[int]) -> None:
    c = Client(port)
    for text in jobs:
        a = time.perf_counter()
        status, _ = c.call("POST", "/v1/check", {"text": text})
        lat.append(time.perf_counter() - a)
        if status != 200:
            errors.append(status)


def load(clients: list[int], per_client: int, checker) -> dict:  # noqa: ANN001
    notes = dev_notes()
    rng = random.Random(SEED + 2)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opnote", "serve", "--port", str(port), "--no-access-log", "--timeout", "120", "--max-sessions", "256"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(600):
            try:
                if Client(port).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        results: dict = {"sessions": {}, "check": {}}
        for kind, target in (("sessions", _client_sessions), ("check", _client_checks)):
            first = None
            for n in clients:
                jobs = []
                for _ in range(n):
                    picked = [rng.choice(notes) for _ in range(per_client if kind == "sessions" else 15 * per_client)]
                    jobs.append(dictations(picked) if kind == "sessions" else picked)
                first = first or jobs
                lat: list[float] = []
                errors: list[int] = []
                threads = [threading.Thread(target=target, args=(port, job, lat, errors)) for job in jobs]
                w0 = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.perf_counter() - w0
                results[kind][str(n)] = {"requests": len(lat), "errors": len(errors), "requests_per_s": round(len(lat) / wall, 1), **stats_ms(lat)}
            # the work of one client, in this process, one request after the other
            job = first[0]
            lat = []
            w0 = time.perf_counter()
            if kind == "sessions":
                for texts in job:
                    with checker.session() as s:
                        for text in texts:
                            a = time.perf_counter()
                            s.update(text)
                            lat.append(time.perf_counter() - a)
            else:
                for text in job:
                    a = time.perf_counter()
                    checker.check(text)
                    lat.append(time.perf_counter() - a)
            results[kind]["in_process"] = {"requests": len(lat), "requests_per_s": round(len(lat) / (time.perf_counter() - w0), 1), **stats_ms(lat)}
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------------------------------------ report
def markdown(res: dict) -> str:
    lat, mem, ld = res["latency"], res["memory"], res["load"]
    lines = [
        f"# Live sessions and opnote serve ({res['when']}, {res['machine']})",
        "",
        f"## Update after one sentence, {lat['words']}-word note ({lat['update']['n']} steps)",
        "",
        "| | p50 ms | p95 ms |",
        "| --- | --- | --- |",
    ]
    for key, label in (("update", "session.update (wall)"), ("check", "checker.check, same text (wall)"), ("update_cpu", "session.update (CPU)"),
                       ("check_cpu", "checker.check (CPU)"), ("mid", "session.update, a word corrected mid-note (wall)"), ("mid_check", "checker.check, same (wall)"),
                       ("pipeline_session_cpu", "the session's pipeline alone, reusing (CPU)"), ("pipeline_whole_cpu", "nlp(text), the pipeline alone, whole (CPU)")):
        lines.append(f"| {label} | {lat[key]['p50_ms']} | {lat[key]['p95_ms']} |")
    lines += [
        "",
        f"update / check: {lat['ratio_update_to_check_p50']} at p50, {lat['ratio_update_to_check_p95']} at p95 (wall); "
        f"{lat['ratio_update_to_check_cpu_p50']} at p50 in CPU time; mid-note: {lat['ratio_mid_to_check_p50']}.",
        "",
        "Where a full check of the same text spends its time (CPU, p50 ms): "
        + ", ".join(f"{k[6:]} {v['p50_ms']}" for k, v in lat.items() if k.startswith("stage ")) + ".",
        "",
        "## Memory per open session",
        "",
        f"{mem['session_kb_tracemalloc']} KB of Python allocations kept by one session after a {mem['note_words']}-word note and 20 updates "
        f"({mem['after_close_kb']} KB after close: the pipeline's vocabulary, as after any check); {mem['mb_for_sessions']} MB for {mem['sessions']} such sessions.",
        "",
        "## Service load (opnote serve in its own process; clients in this one)",
        "",
        "| workload | clients | requests | req/s | p50 ms | p95 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind in ("sessions", "check"):
        for n, row in ld[kind].items():
            lines.append(f"| {'PATCH per sentence' if kind == 'sessions' else 'POST /v1/check'} | {n if n != 'in_process' else 'in-process'} | "
                         f"{row['requests']} | {row['requests_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row.get('errors', '')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from opnote import Checker

    checker = Checker()
    # As opnote serve does: the pipeline's objects out of the garbage collector's full passes,
    # which otherwise take about 0.2 s each and land on whichever call triggers them.
    gc.collect()
    gc.freeze()
    res = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}",
        "latency": latency(checker, 40 if args.quick else 150),
        "memory": memory(checker, 10 if args.quick else 20),
        "load": load([1, 2] if args.quick else [1, 2, 4, 8], 1 if args.quick else 2, checker),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    res["machine"] += f", load after {os.getloadavg()[0]:.1f}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    md = markdown(res)
    (RESULTS / "live.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
