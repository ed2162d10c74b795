"""`opnote check` with bad input: one error line per bad note on standard error, naming the note,
a documented exit status (docs/errors.md), no traceback unless --debug, and in a batch every
readable note still gets its report.

Most tests run the command in this process with the session's pipeline; the ones that need the
real entry point (exit statuses of uncaught errors, worker processes, a closed pipe, file
permissions) run it as a subprocess. Permissions: the suite runs as root here, so the batch
subprocess is started without root's CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (dropped from the
bounding set before exec) so that a mode-000 file is really unreadable; as another user the
mode alone does it.
"""

from __future__ import annotations

import csv
import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opnote.io import DEFAULT_MAX_BYTES

from notes import DEV, ROOT, SECRET, SECRET_NOTE  # noqa: F401
from notes import READY_NOTE as GOOD

NOTE = GOOD.read_text(encoding="utf-8")


def written(out: Path) -> list[str]:
    """The files in an output folder besides its manifest, checked to be exactly those the manifest lists."""
    from opnote.outdir import MANIFEST, read_manifest

    names = sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    assert sorted(read_manifest(out)) == names
    return names


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "Zebulon" not in stderr
    for line in NOTE.splitlines():
        if len(line) > 30:
            assert line not in stderr


@pytest.fixture
def bad(tmp_path) -> dict[str, Path]:
    """One file (or folder) per kind of bad input; every note file holds the secret line."""
    d = tmp_path / "in"
    d.mkdir()
    data = SECRET_NOTE.encode("utf-8")
    files = {
        "empty": (b"", "E101", "the note is empty"),
        "blank": (b"  \n\t \r\n", "E101", "the note is empty"),
        "nul": (data[:400] + b"\x00" + data[400:], "E102", "binary data (NUL byte at offset 400"),
        "utf16_no_bom": (SECRET_NOTE.encode("utf-16-le"), "E102", "UTF-16 without a byte-order mark"),
        "undecodable": (data[:300] + b"\x81\x8d\x8f" + data[300:], "E103", "not UTF-8 (invalid byte at offset 300) nor Windows-1252"),
        "truncated_utf16": (b"\xff\xfe" + SECRET_NOTE.encode("utf-16-le") + b"A", "E103", "not valid UTF-16"),
        "big": (data * 2000, "E104", f"bytes is over the limit of {DEFAULT_MAX_BYTES} bytes (--max-bytes)"),
    }
    out = {}
    for name, (content, code, why) in files.items():
        p = d / f"{name}.txt"
        p.write_bytes(content)
        out[name] = (p, code, why)
    (d / "loop_a.txt").symlink_to(d / "loop_b.txt")
    (d / "loop_b.txt").symlink_to(d / "loop_a.txt")
    out["loop"] = (d / "loop_a.txt", "E105", "symbolic link loop")
    (d / "broken.txt").symlink_to(d / "gone.txt")
    out["broken"] = (d / "broken.txt", "E105", "no such file (broken symbolic link)")
    out["missing"] = (d / "missing.txt", "E105", "no such file")
    (tmp_path / "no_notes").mkdir()
    (tmp_path / "no_notes" / "scan.pdf").write_bytes(b"%PDF-1.4")
    out["no_notes"] = (tmp_path / "no_notes", "E106", "folder holds no notes")
    out["no_match"] = (tmp_path / "nothing-*.txt", "E106", "pattern matched no files")
    return out


KINDS = ["empty", "blank", "nul", "utf16_no_bom", "undecodable", "truncated_utf16", "big", "loop", "broken", "missing", "no_notes", "no_match"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_bad_input_alone_is_one_line_and_exit_2(run, bad, kind):
    path, code, why = bad[kind]
    res = run(path, "--format", "json")
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"opnote: error: [{code}] {path}: ") and why in lines[0]
    assert res.stdout == ""
    assert_clean(res.stderr)


def test_max_bytes_option(run, bad):
    path = GOOD
    res = run(path, "--max-bytes", "1000")
    assert res.exit_code == 2
    assert res.stderr == f"opnote: error: [E104] {path}: {GOOD.stat().st_size} bytes is over the limit of 1000 bytes (--max-bytes)\n"
    assert run(path, "--max-bytes", str(GOOD.stat().st_size)).exit_code in (0, 1)
    bad_value = run(path, "--max-bytes", "0")
    assert bad_value.exit_code == 2 and "Traceback" not in bad_value.output


@pytest.mark.parametrize(
    "value, shown",
    [("XYZ", "'XYZ' is not an ICD-10-CM code"), ("C99.99", "'C99.99' is not in the ICD-10-CM"),
     ("C40.21,C40.2Q", "'C40.2Q' is not"), ("C40.21\nrm -rf /", "'C40.21\\nrm -rf /' is not an ICD-10-CM code")],
    ids=["letters", "unknown", "second-of-two", "newline"],
)
def test_bad_icd10_is_a_usage_error(run, value, shown):
    res = run(GOOD, "--icd10", value)
    assert res.exit_code == 2
    assert res.stderr.startswith("opnote: error: --icd10: [E200] ") and shown in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_standard_input_errors(run):
    empty = run("-", input=b"")
    assert empty.exit_code == 2 and empty.stderr == "opnote: error: [E101] <stdin>: the note is empty\n"
    binary = run("-", input=b"PK\x03\x04\x00\x00" + SECRET.encode())
    assert binary.exit_code == 2 and binary.stderr.startswith("opnote: error: [E102] <stdin>: binary data")
    assert_clean(binary.stderr)


@pytest.mark.parametrize("codec, name", [("utf-16", "utf-16"), ("cp1252", "windows-1252"), ("utf-8-sig", "utf-8-sig"), ("utf-32", "utf-32")])
def test_encodings_are_reported(run, tmp_path, codec, name):
    p = tmp_path / "n.txt"
    p.write_bytes(NOTE.replace("Same.", "Same \u2013 caf\u00e9.").encode(codec))
    res = run(p, "--format", "json")
    assert res.exit_code in (0, 1), res.stderr
    assert json.loads(res.stdout)["encoding"] == name


def test_batch_keeps_going_and_lists_every_failure(run, bad, tmp_path):
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    for name in ("a.txt", "b.txt"):
        (good_dir / name).write_text(NOTE, encoding="utf-8")
    out = tmp_path / "out"
    args = [good_dir / "a.txt"] + [bad[k][0] for k in KINDS] + [good_dir / "b.txt"]
    res = run(*args, "--out", out, "--format", "json")
    assert res.exit_code == 2
    assert_clean(res.stderr)
    # every readable note has its whole report, and the manifest lists what the run wrote
    assert written(out) == ["a.json", "b.json", "summary.csv"]
    for name in ("a.json", "b.json"):
        assert json.loads((out / name).read_text(encoding="utf-8"))["checklist"]
    # every failure: once as it happens, once in the list at the end, and a row in summary.csv
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    err = res.stderr
    assert f"opnote: {len(KINDS)} of {len(KINDS) + 2} note(s) could not be checked:" in err
    for kind in KINDS:
        path, code, why = bad[kind]
        line = next(ln for ln in err.splitlines() if ln.startswith(f"opnote: error: [{code}] {path}: "))
        assert why in line
        assert f"  [{code}] {path}: " in err
        assert rows[str(path)]["error"].startswith(f"[{code}] {path}: ")
        assert rows[str(path)]["verdict"] == ""
    assert rows[str(good_dir / "a.txt")]["report"] == "a.json" and rows[str(good_dir / "a.txt")]["error"] == ""


def test_internal_error_in_one_note_exits_3_and_debug_shows_the_traceback(run, tmp_path, monkeypatch):
    import opnote.api

    real = opnote.api.evaluate

    def flaky(text, *a, **kw):
        if "Zebulon" in text:
            raise RuntimeError("bug")
        return real(text, *a, **kw)

    monkeypatch.setattr(opnote.api, "evaluate", flaky)
    (tmp_path / "a.txt").write_text(NOTE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(SECRET_NOTE, encoding="utf-8")
    res = run(tmp_path / "a.txt", tmp_path / "b.txt", "--format", "jsonl")
    assert res.exit_code == 3
    assert f"opnote: error: [E900] {tmp_path / 'b.txt'}: internal error (RuntimeError); rerun with --debug" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stdout.splitlines()) == 1  # a.txt was still reported
    dbg = run(tmp_path / "a.txt", tmp_path / "b.txt", "--format", "jsonl", "--debug")
    assert dbg.exit_code == 3 and "Traceback (most recent call last)" in dbg.stderr and "RuntimeError: bug" in dbg.stderr


# ----------------------------------------------------------------------------- the real entry point
def opnote_cmd() -> list[str]:
    exe = shutil.which("opnote", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "opnote"]


CRASH = textwrap.dedent("""
    import sys
    import opnote.inputs
    def boom(paths, **kwargs):
        raise RuntimeError("unexpected")
    opnote.inputs.expand = boom
    from opnote.cli import main
    sys.argv = ["opnote"] + sys.argv[1:]
    main()
""")


@pytest.mark.slow
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_uncaught_bug_exits_3_with_one_line(debug):
    args = [sys.executable, "-c", CRASH, "check", str(GOOD)] + (["--debug"] if debug else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3
    if debug:
        assert "Traceback (most recent call last)" in proc.stderr and "RuntimeError: unexpected" in proc.stderr
    else:
        assert proc.stderr == "opnote: error: [E900] internal error (RuntimeError); rerun with --debug for the traceback\n"


def _drop_dac_capabilities() -> None:  # runs in the child, before exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(77)


@pytest.mark.slow
def test_batch_through_the_installed_command_with_workers(bad, tmp_path):
    """The real `opnote` with 2 worker processes: a locked file, every bad kind and two good notes."""
    good = tmp_path / "good.txt"
    good.write_text(NOTE, encoding="utf-8")
    locked = tmp_path / "locked.txt"
    locked.write_text(SECRET_NOTE, encoding="utf-8")
    locked.chmod(0)
    out = tmp_path / "out"
    args = opnote_cmd() + ["check", str(good)] + [str(bad[k][0]) for k in KINDS] + [str(locked), str(tmp_path / "good.txt"), "-j", "2", "--out", str(out)]
    kw = {}
    if os.geteuid() == 0:
        if not sys.platform.startswith("linux"):
            pytest.skip("dropping root's file-access capabilities needs Linux")
        kw["preexec_fn"] = _drop_dac_capabilities
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)
    finally:
        locked.chmod(0o644)
    if proc.returncode == 77:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert_clean(proc.stderr)
    assert f"opnote: error: [E105] {locked}: permission denied" in proc.stderr.splitlines()
    assert written(out) == ["good.txt", "good_2.txt", "summary.csv"]
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(KINDS) + 3
    assert sum(1 for r in rows if r["error"]) == len(KINDS) + 1
    assert all(r["error"].startswith("[E1") for r in rows if r["error"])


@pytest.mark.slow
def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    vague = (DEV / "right_femur_chondrosarcoma_narrative_vague.txt").read_text(encoding="utf-8")  # has gaps: exit 1
    for i in range(20):
        (notes / f"n{i:02d}.txt").write_text(vague, encoding="utf-8")
    proc = subprocess.Popen(opnote_cmd() + ["check", str(notes)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.read(200)
    proc.stdout.close()  # like `| head -c 200`
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=600)
    assert first
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err
