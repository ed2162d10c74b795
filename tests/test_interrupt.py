"""Interrupted, stuck and endless batches (issue 14), through the installed command.

* Killing the main process of ``--jobs 2`` (SIGINT, SIGTERM or SIGKILL) leaves no worker alive
  and no temporary file: every file in the output folder is a whole report the manifest lists,
  and a rerun replaces them all.
* A note that takes too long (``--timeout``) becomes an error row and the batch goes on, in this
  process and with workers (the stuck worker is replaced).
* Standard input is a stream: an endless note stops at ``--max-bytes``, and peak memory does not
  grow with the number of JSON lines.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opnote.outdir import MANIFEST, TEMP_PREFIX, read_manifest

from notes import READY_NOTE, SECRET, SECRET_NOTE

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

NOTE = READY_NOTE.read_text(encoding="utf-8")
# spaCy's tokenizer splits a long run of "=" one character at a time: about 50 s for 12,000.
SLOW_NOTE = NOTE + "\n" + "=" * 30_000 + "\n"


def opnote(*args: str) -> list[str]:
    return [sys.executable, "-m", "opnote", *args]


def children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_killing_a_batch_leaves_no_worker_and_no_temporary_file(tmp_path, sig):
    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(120):
        (notes / f"n{i:03d}.txt").write_text(SECRET_NOTE, encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen(opnote("check", str(notes), "--out", str(out), "--format", "html", "-j", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: out.is_dir() and len(list(out.glob("*.html"))) >= 4, 300, "the first reports")
        workers = children(proc.pid)
        assert len(workers) == 2, workers
        proc.send_signal(sig)
        err = proc.communicate(timeout=60)[1].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 128 + sig), err
    if sig != signal.SIGKILL:
        assert f"opnote: interrupted ({sig.name})" in err and "Traceback" not in err
    wait_for(lambda: not any(alive(w) for w in workers), 10, "the workers to end")

    # Only whole reports the manifest lists; no temporary file; no summary (the run did not finish).
    names = sorted(p.name for p in out.iterdir())
    assert MANIFEST in names and "summary.csv" not in names
    assert not [n for n in names if n.startswith(TEMP_PREFIX) or n.endswith(".tmp")]
    listed = read_manifest(out)
    for name in names:
        if name != MANIFEST:
            assert name in listed
            page = (out / name).read_text(encoding="utf-8")
            assert page.rstrip().endswith("</html>")
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.parent not in (notes, out)] == []

    # The next run owns the folder again and replaces everything: one row per note.
    again = subprocess.run(opnote("check", str(notes), "--out", str(out), "--format", "json", "-j", "2"), capture_output=True, timeout=900)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    rows = summary(out)
    assert len(rows) == 120 and all(r["verdict"] == "ready" for r in rows)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "summary.csv", *(f"n{i:03d}.json" for i in range(120))])


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_note_that_takes_too_long_is_an_error_and_the_batch_goes_on(tmp_path, jobs):
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("a.txt", "b.txt", "d.txt", "e.txt"):
        (notes / name).write_text(NOTE, encoding="utf-8")
    (notes / "c.txt").write_text(SLOW_NOTE, encoding="utf-8")
    out = tmp_path / "out"
    start = time.monotonic()
    proc = subprocess.run(opnote("check", str(notes), "--out", str(out), "--format", "json", "-j", jobs, "--timeout", "3"),
                          capture_output=True, text=True, timeout=600)
    took = time.monotonic() - start
    assert proc.returncode == 2, proc.stderr
    rows = {Path(r["file"]).name: r for r in summary(out)}
    assert rows["c.txt"]["error"] == f"[E108] {notes / 'c.txt'}: not checked within 3 s (--timeout); the note may be pathological"
    assert [rows[n]["verdict"] for n in ("a.txt", "b.txt", "d.txt", "e.txt")] == ["ready"] * 4
    assert took < 40  # not the minute or more the note itself would take


@pytest.mark.slow
def test_an_endless_note_on_standard_input_stops_at_the_limit():
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run(opnote("check", "-", "--max-bytes", "100000"), stdin=zero, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == "opnote: error: [E104] <stdin>: more than 100000 bytes, over the limit (--max-bytes)\n"


MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    n, jobs = int(sys.argv[1]), sys.argv[2]
    proc = subprocess.Popen([sys.executable, "-m", "opnote", "check", "-", "--format", "jsonl", "-j", jobs],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    line = b'{"id": %d, "text": "' + b" " * 1000 + b'"}\\n'
    for i in range(n):
        proc.stdin.write(line % i)
    proc.stdin.close()
    proc.wait()
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def peak_kib(n: int, jobs: str) -> int:
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(n), jobs], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.strip())


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_json_lines_are_streamed_in_bounded_memory(jobs):
    """50,000 records (50 MB) need no more memory than 500: nothing is held per record.

    The records are blank notes (each an error line), so the test measures the reading, the
    runner and the output, not the pipeline (whose vocabulary grows with new words).
    """
    small, large = peak_kib(500, jobs), peak_kib(50_000, jobs)
    assert large - small < 15_000, (small, large)  # KiB; holding every record would add 40 MB or more
