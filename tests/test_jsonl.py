"""`opnote check - --format jsonl` in a pipe: one JSON record per line in, one report per line out.

These run the installed command line as a subprocess and feed it lines, as another program would.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opnote import Report

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "sample_notes" / "dev"
NOTE_A = (DEV / "right_distal_femur_osteosarcoma_dfr_templated.txt").read_bytes().decode("utf-8")
NOTE_B = (DEV / "left_distal_femur_osteosarcoma_laterality_conflict.txt").read_bytes().decode("utf-8")
NOTE_C = (DEV / "right_femur_chondrosarcoma_narrative_vague.txt").read_bytes().decode("utf-8")
# Long enough that it can only come from a note, never from a message about one.
SECRET = "Zebulon Quartermaine-Vasquez"


def opnote_cmd() -> list[str]:
    exe = shutil.which("opnote", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "opnote"]


def run_cli(args: list[str], stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        opnote_cmd() + args, input=stdin.encode("utf-8"), capture_output=True, timeout=900,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def records(stdout: bytes) -> list[dict]:
    # Lines end in "\n" (a report may hold a raw U+2028 from the note: not a line break).
    return [json.loads(line) for line in stdout.decode("utf-8").split("\n") if line]


LINES = [
    "",  # a leading blank line is skipped (and still counted for line numbers)
    json.dumps({"id": "case-1", "text": NOTE_A}),
    "this is not JSON " + SECRET,
    json.dumps({"id": 7, "text": "   "}),
    json.dumps({"id": "case-3", "text": NOTE_B, "icd10": ["C40.22"]}),
    json.dumps({"id": "bad-code", "text": NOTE_A, "icd10": ["NOT-A-CODE"]}),
    json.dumps({"id": "bad-type", "text": NOTE_A, "icd10": 40}),
    json.dumps(["a", "list", SECRET]),
    "",
    json.dumps({"text": NOTE_C + "\nDictated for " + SECRET + "."}),
]


@pytest.fixture(scope="module")
def batch_run() -> subprocess.CompletedProcess:
    return run_cli(["check", "-", "--format", "jsonl"], "\n".join(LINES) + "\n")


@pytest.mark.slow
def test_one_output_line_per_record_in_order(batch_run, checker):
    out = records(batch_run.stdout)
    assert len(out) == sum(1 for ln in LINES if ln.strip())
    good = {"case-1": (NOTE_A, []), "case-3": (NOTE_B, ["C40.22"]), "10": (NOTE_C + "\nDictated for " + SECRET + ".", [])}
    kinds = ["report" if "error" not in r else "error" for r in out]
    assert kinds == ["report", "error", "error", "report", "error", "error", "error", "report"]
    for rec in out:
        if "error" in rec:
            continue
        rec = dict(rec)
        echoed = (rec.pop("id"), rec.pop("line"))  # the record's id as given and its line, beside the report
        report = Report.model_validate(rec)
        text, codes = good[report.source]
        assert rec == checker.check(text, codes, source=report.source).model_dump(mode="json")
        assert echoed in {("case-1", 2), ("case-3", 5), (None, 10)}


def test_each_report_carries_its_id(batch_run):
    out = [r for r in records(batch_run.stdout) if "error" not in r]
    # A record without an "id" is named by its line number.
    assert [r["source"] for r in out] == ["case-1", "case-3", "10"]
    assert [(r["id"], r["line"]) for r in out] == [("case-1", 2), ("case-3", 5), (None, 10)]


def test_bad_lines_become_error_records_without_losing_the_others(batch_run):
    errors = [r for r in records(batch_run.stdout) if "error" in r]
    assert [(e["id"], e["line"], e["error"]["code"]) for e in errors] == [
        (None, 3, "E100"),         # not JSON
        (7, 4, "E101"),            # empty note
        ("bad-code", 6, "E200"),   # not an ICD-10-CM code
        ("bad-type", 7, "E100"),   # icd10 is not a list of codes
        (None, 8, "E100"),         # not an object with a text
    ]
    assert all(e["error"]["message"] and e["error"]["type"] for e in errors)
    assert batch_run.returncode == 2  # some records could not be checked


def test_no_note_text_reaches_stderr_or_error_records(batch_run):
    err = batch_run.stderr.decode("utf-8")
    assert "<stdin>:3" in err and "E101" in err
    assert SECRET not in err
    assert all(SECRET not in json.dumps(r) for r in records(batch_run.stdout) if "error" in r)


@pytest.mark.slow
def test_exit_status_without_bad_lines():
    # Raw (unescaped) U+2028 and form feed are valid inside JSON strings: not line breaks here.
    second = json.dumps({"id": 2, "text": NOTE_B + "\u2028\x0c"}, ensure_ascii=False)
    assert "\u2028" in second
    proc = run_cli(["check", "-", "--format", "jsonl", "--input-format", "jsonl"],
                   json.dumps({"id": 1, "text": NOTE_A}) + "\n" + second + "\n")
    assert proc.returncode == 1, proc.stderr  # both checked; NOTE_B has gaps
    assert [r["source"] for r in records(proc.stdout)] == ["1", "2"]


def _reader(stream, q: "queue.Queue[bytes]") -> None:
    for line in iter(stream.readline, b""):
        q.put(line)
    q.put(b"")


@pytest.mark.slow
def test_a_program_can_feed_notes_one_at_a_time():
    """Each report is written (and flushed) before the next record is sent: no deadlock in a pipe."""
    proc = subprocess.Popen(opnote_cmd() + ["check", "-", "--format", "jsonl"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    q: "queue.Queue[bytes]" = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
    try:
        got = []
        for i, text in enumerate([NOTE_A, "", NOTE_B], 1):
            proc.stdin.write((json.dumps({"id": f"n{i}", "text": text}) + "\n").encode("utf-8"))
            proc.stdin.flush()
            # The answer to this record arrives while stdin is still open.
            line = q.get(timeout=600)  # a hang guard, not a speed check
            got.append(json.loads(line))
        proc.stdin.close()
        assert q.get(timeout=600) == b""
        assert proc.wait(timeout=600) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [r["source"] for r in got] == ["n1", "n2", "n3"]
    assert "error" in got[1] and "verdict" in got[0] and "verdict" in got[2]


@pytest.mark.slow
def test_a_plain_text_note_on_stdin_still_works():
    proc = run_cli(["check", "-", "--format", "jsonl"], NOTE_A)
    (rec,) = records(proc.stdout)
    assert Report.model_validate(rec).source == "<stdin>"


@pytest.mark.slow
def test_worker_processes_keep_the_order_and_the_error_lines():
    lines = [json.dumps({"id": "a", "text": NOTE_A}), "{broken", json.dumps({"id": "b", "text": NOTE_B}),
             json.dumps({"id": "c", "text": ""}), json.dumps({"id": "d", "text": NOTE_C})]
    proc = run_cli(["check", "-", "--format", "jsonl", "--jobs", "2"], "\n".join(lines) + "\n")
    out = records(proc.stdout)
    assert [r.get("source") for r in out] == ["a", "<stdin>:2", "b", "c", "d"]
    assert ["error" in r for r in out] == [False, True, False, True, False]
    assert proc.returncode == 2
