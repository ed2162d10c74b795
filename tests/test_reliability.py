"""Reliability through the Python API: typed errors for bad input, encodings, atomic writes,
threads, byte-identical reports across processes, no network, and no note text in any log or
error message.

Permission tests: the suite runs as root here, and root reads a file whatever its mode. When
the tests run as root, the reading is done in a child process started without the two
capabilities that let root ignore file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, dropped
from its bounding set before exec); as any other user the file's mode is simply set to 000.
"""

from __future__ import annotations

import copy
import ctypes
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opnote.batch import NoteJob, run_jobs
from opnote.errors import (
    BinaryInputError,
    CodeError,
    DecodeError,
    EmptyNoteError,
    InputError,
    NotTextError,
    NoteTooLargeError,
    OpnoteError,
    UnreadableError,
)
from opnote.inputs import expand
from opnote.io import read_note
from opnote.outdir import MANIFEST, read_manifest, write_atomic
from opnote.render import render

from notes import DEV, ROOT, SECRET, SECRET_NOTE  # noqa: F401
from notes import READY_NOTE as NOTE_PATH

NOTE = NOTE_PATH.read_text(encoding="utf-8")


def sentences(text: str, min_len: int = 25) -> list[str]:
    """The note's sentences (and lines) long enough that no message would contain one by chance."""
    parts = re.split(r"(?<=[.;:])\s+|\n+", text)
    return [p.strip() for p in parts if len(p.strip()) >= min_len]


def assert_no_note_text(message: str, text: str = SECRET_NOTE) -> None:
    assert "Zebulon" not in message and "Quartermaine" not in message
    for s in sentences(text):
        assert s not in message, f"note text leaked into a message: {s[:40]!r}"


def small(checker, max_bytes: int):
    """The session Checker with another size limit (the pipeline is shared)."""
    c = copy.copy(checker)
    c.max_bytes = max_bytes
    return c


# ----------------------------------------------------------------------------- typed errors
@pytest.mark.parametrize(
    "call, error, code",
    [
        (lambda c: c.check(""), EmptyNoteError, "E101"),
        (lambda c: c.check(" \n\t \r\n\u00a0 "), EmptyNoteError, "E101"),
        (lambda c: c.check(SECRET_NOTE[:300] + "\x00" + SECRET_NOTE[300:]), BinaryInputError, "E102"),
        (lambda c: c.check_bytes(SECRET_NOTE.encode()[:500] + b"\x00\x01\x02" + SECRET_NOTE.encode()[500:]), BinaryInputError, "E102"),
        (lambda c: c.check_bytes(SECRET_NOTE.encode("cp1252")[:400] + b"\x81\x8d" + SECRET_NOTE.encode("cp1252")[400:]), DecodeError, "E103"),
        (lambda c: c.check(SECRET_NOTE[:200] + "\ud83d" + SECRET_NOTE[200:]), DecodeError, "E103"),
        (lambda c: c.check_bytes(b"\xff\xfe" + SECRET_NOTE.encode("utf-16-le") + b"\x00"), DecodeError, "E103"),
        (lambda c: small(c, 1000).check_bytes(SECRET_NOTE.encode()), NoteTooLargeError, "E104"),
        (lambda c: small(c, 1000).check(SECRET_NOTE), NoteTooLargeError, "E104"),
        (lambda c: c.check(SECRET_NOTE.encode()), NotTextError, "E107"),
        (lambda c: c.check(None), NotTextError, "E107"),
        (lambda c: c.check(SECRET_NOTE, ["XYZ"]), CodeError, "E200"),
        (lambda c: c.check(SECRET_NOTE, ["C99.99"]), CodeError, "E200"),
        (lambda c: c.check(SECRET_NOTE, [None]), CodeError, "E200"),
        (lambda c: c.check(SECRET_NOTE, 5), CodeError, "E200"),
        (lambda c: c.check(SECRET_NOTE, ["C40.21", ""]), CodeError, "E200"),
    ],
    ids=["empty", "white-space", "nul-char", "nul-byte", "undecodable", "lone-surrogate", "odd-utf16",
         "too-large-bytes", "too-large-text", "bytes-as-text", "none", "not-a-code", "unknown-code",
         "code-none", "codes-int", "empty-code"],
)
def test_bad_input_raises_a_typed_error_without_note_text(checker, call, error, code):
    with pytest.raises(error) as info:
        call(checker)
    e = info.value
    assert isinstance(e, OpnoteError) and e.code == code
    msg = str(e)
    assert msg.startswith(f"[{code}] ") and "\n" not in msg
    assert_no_note_text(msg)


def test_not_text_is_also_a_type_error(checker):
    with pytest.raises(TypeError):
        checker.check(b"bytes are not text")


def test_errors_name_the_source_and_offset(checker):
    data = b"Right distal femur osteosarcoma.\x00 More text."
    with pytest.raises(BinaryInputError, match=r"\[E102\] ward7/note 12\.txt: binary data \(NUL byte at offset 32"):
        checker.check_bytes(data, source="ward7/note 12.txt")
    with pytest.raises(DecodeError, match=r"offset 5"):
        checker.check_bytes(b"Femur\x81\x8d osteosarcoma", source="x.txt")
    with pytest.raises(CodeError, match=r"^\[E200\] claim-7: 'C99\.99' is not"):
        checker.check(NOTE, ["C99.99"], source="claim-7")


def test_a_file_name_with_a_line_break_stays_on_one_line(checker, tmp_path):
    p = tmp_path / "evil\nname\x1b[2J.txt"
    p.write_bytes(b"")
    with pytest.raises(EmptyNoteError) as info:
        checker.check_file(p)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)
    assert "evil\\nname\\x1b[2J.txt" in str(info.value)


def test_one_code_given_as_a_string_is_one_code(checker):
    assert checker.check(NOTE, "C40.21").diagnosis.claim_icd10 == ["C40.21"]


def test_check_many_names_the_bad_text_by_position(checker):
    with pytest.raises(EmptyNoteError, match=r"<text 1>"):
        list(checker.check_many([NOTE, "   ", NOTE]))


# ----------------------------------------------------------------------------- files
def test_file_errors(checker, tmp_path):
    (tmp_path / "loop_a.txt").symlink_to(tmp_path / "loop_b.txt")
    (tmp_path / "loop_b.txt").symlink_to(tmp_path / "loop_a.txt")
    (tmp_path / "broken.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "folder").mkdir()
    cases = {
        "missing.txt": "no such file",
        "loop_a.txt": "symbolic link loop",
        "broken.txt": "no such file (broken symbolic link)",
        "folder": "is a directory",
    }
    for name, why in cases.items():
        with pytest.raises(UnreadableError) as info:
            checker.check_file(tmp_path / name)
        assert str(info.value).startswith(f"[E105] {tmp_path / name}: {why}")
    with pytest.raises(UnreadableError, match="not a valid file path"):
        read_note("bad\x00name.txt")


def test_size_limit_is_checked_before_reading(checker, tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024 * 1024)  # sparse: 3 MB of NULs, over the 2 MB default
    with pytest.raises(NoteTooLargeError, match=r"3145728 bytes is over the limit of 2097152 bytes"):
        checker.check_file(big)


def test_a_folder_without_notes_and_a_pattern_without_files_are_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text(NOTE, encoding="utf-8")
    (tmp_path / "notes" / "README.txt").write_text("not a note", encoding="utf-8")
    (tmp_path / "notes" / ".hidden.txt").write_text(NOTE, encoding="utf-8")
    (tmp_path / "notes" / "scan.pdf").write_bytes(b"%PDF-1.4")
    os.mkfifo(tmp_path / "notes" / "pipe.txt")  # would block a batch for ever if it were read
    entries = expand([str(tmp_path / "empty"), str(tmp_path / "notes"), str(tmp_path / "none*.txt")])
    assert [(e.path, str(e.error) if e.error else None) for e in entries] == [
        (str(tmp_path / "empty"), f"[E106] {tmp_path / 'empty'}: folder holds no notes (*.dictation, *.md, *.note, *.rtf, *.text, *.txt)"),
        (str(tmp_path / "notes" / "a.txt"), None),
        # skipped, but listed and counted: a FIFO named like a note is not silently dropped
        (str(tmp_path / "notes" / "pipe.txt"), f"[E105] {tmp_path / 'notes' / 'pipe.txt'}: a FIFO, not a note file; skipped"),
        (str(tmp_path / "none*.txt"), f"[E106] {tmp_path / 'none*.txt'}: pattern matched no files"),
    ]


def _drop_dac_capabilities() -> None:  # runs in the child, before exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(77)


def run_without_root_file_access(args: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a command that cannot read files its mode forbids, also when the tests run as root."""
    if os.geteuid() != 0:
        return subprocess.run(args, capture_output=True, **kw)
    if not sys.platform.startswith("linux"):
        pytest.skip("dropping root's file-access capabilities needs Linux")
    proc = subprocess.run(args, capture_output=True, preexec_fn=_drop_dac_capabilities, **kw)
    if proc.returncode == 77:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no CAP_SETPCAP)")
    return proc


def test_a_file_without_read_permission(tmp_path):
    p = tmp_path / "locked.txt"
    p.write_text(SECRET_NOTE, encoding="utf-8")
    p.chmod(0)
    d = tmp_path / "locked_dir"
    d.mkdir()
    (d / "n.txt").write_text(NOTE, encoding="utf-8")
    d.chmod(0)
    code = textwrap.dedent(f"""
        import sys
        from opnote.errors import UnreadableError
        from opnote.inputs import expand
        from opnote.io import read_note
        try:
            open({str(p)!r}, "rb")
        except PermissionError:
            pass
        else:
            sys.exit(78)  # still readable: the test cannot run here
        try:
            read_note({str(p)!r})
        except UnreadableError as e:
            print(e)
        print(expand([{str(d)!r}])[0].error)
    """)
    try:
        proc = run_without_root_file_access([sys.executable, "-c", code], timeout=120, text=True)
    finally:
        p.chmod(0o644)
        d.chmod(0o755)
    if proc.returncode == 78:
        pytest.skip("file modes are not enforced for this user")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"[E105] {p}: permission denied"
    assert lines[1] == f"[E105] {d}: cannot list the folder (permission denied)"


# ----------------------------------------------------------------------------- encodings
ACCENTED = NOTE.replace("MAP chemotherapy", "MAP chemotherapy (Dr. Müller, café-au-lait spot, 90° flexion)")
SMART = ACCENTED.replace("Same.", "Same \u2013 \u201cas above\u201d \u2026")


@pytest.mark.parametrize(
    "text, data, encoding",
    [
        (ACCENTED, ACCENTED.encode("utf-8"), "utf-8"),
        (ACCENTED, b"\xef\xbb\xbf" + ACCENTED.encode("utf-8"), "utf-8-sig"),
        (ACCENTED, ACCENTED.encode("utf-16"), "utf-16"),
        (ACCENTED, b"\xfe\xff" + ACCENTED.encode("utf-16-be"), "utf-16"),
        (ACCENTED, ACCENTED.encode("utf-32"), "utf-32"),
        (ACCENTED, ACCENTED.encode("latin-1"), "windows-1252"),
        (SMART, SMART.encode("cp1252"), "windows-1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "utf32-bom", "latin1", "windows-1252"],
)
def test_encodings_are_decoded_and_named(checker, tmp_path, text, data, encoding):
    base = checker.check(text)
    by_bytes = checker.check_bytes(data)
    f = tmp_path / "note.txt"
    f.write_bytes(data)
    by_file = checker.check_file(f)
    assert by_bytes.encoding == by_file.encoding == encoding
    assert base.encoding is None  # a str was given: no decoding happened
    strip = {"encoding", "source"}
    assert by_bytes.model_dump(exclude=strip) == base.model_dump(exclude=strip)
    assert by_file.model_dump(exclude=strip) == base.model_dump(exclude=strip)
    for item in by_file.checklist:  # offsets index the decoded text
        for ev in item.evidence:
            assert text[ev.start:ev.end] == ev.text


def test_utf16_without_a_bom_gets_a_hint(checker):
    with pytest.raises(BinaryInputError, match="UTF-16 without a byte-order mark"):
        checker.check_bytes(NOTE.encode("utf-16-le"))


# ----------------------------------------------------------------------------- batch
def test_batch_reports_every_readable_note_and_lists_the_rest(checker, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(NOTE, encoding="utf-8")
    jobs = [
        NoteJob(source="good.txt", path=str(good)),
        NoteJob(source="missing.txt", path=str(tmp_path / "missing.txt")),
        NoteJob(source="rec-1", text="  "),
        NoteJob(source="rec-2", data=b"\x00\x01"),
        NoteJob(source="rec-3", text=SECRET_NOTE, icd10=["XYZ"]),
        NoteJob(source="rec-4", text=SECRET_NOTE),
        NoteJob(source="rec-5", data=SMART.encode("cp1252")),
    ]
    results = list(run_jobs(jobs, checker=checker))
    assert [r.job.source for r in results] == [j.source for j in jobs]
    assert [r.ok for r in results] == [True, False, False, False, False, True, True]
    assert [r.error_type for r in results if not r.ok] == ["UnreadableError", "EmptyNoteError", "BinaryInputError", "CodeError"]
    for r in results:
        if not r.ok:
            assert re.match(r"\[E\d{3}\] ", r.error) and r.job.source in r.error
            assert_no_note_text(r.error)
    assert results[6].report.encoding == "windows-1252"


def test_an_internal_error_in_one_note_does_not_stop_the_batch(checker, monkeypatch):
    import opnote.api

    real = opnote.api.evaluate

    def flaky(text, *a, **kw):
        if "Zebulon" in text:
            raise RuntimeError("boom: " + text[:80])  # a bug whose message holds note text
        return real(text, *a, **kw)

    monkeypatch.setattr(opnote.api, "evaluate", flaky)
    results = list(run_jobs([NoteJob(source="a", text=NOTE), NoteJob(source="b", text=SECRET_NOTE), NoteJob(source="c", text=NOTE)], checker=checker))
    assert [r.ok for r in results] == [True, False, True]
    bad = results[1]
    assert bad.error_type == "InternalError" and bad.error.startswith("[E900] b: internal error (RuntimeError)")
    assert_no_note_text(bad.error)
    assert "Traceback" in bad.detail  # kept for --debug only


# ----------------------------------------------------------------------------- atomic writes
def test_write_atomic_replaces_the_whole_file(tmp_path):
    p = tmp_path / "r" / "a.json"
    write_atomic(p, "first")
    write_atomic(p, "second")
    assert p.read_text(encoding="utf-8") == "second"
    assert [f.name for f in p.parent.iterdir()] == ["a.json"]  # no temporary file left


@pytest.mark.parametrize("fail_with", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["disk-full", "ctrl-c"])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, fail_with):
    p = tmp_path / "a.json"
    write_atomic(p, '{"old": true}')

    def fail(fd):
        raise fail_with

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(type(fail_with)):
        write_atomic(p, '{"new": true, "long": "' + "x" * 100000 + '"}')
    assert p.read_text(encoding="utf-8") == '{"old": true}'
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]


def test_an_interrupted_batch_leaves_only_whole_reports(checker, tmp_path, monkeypatch):
    """Ctrl-C while the third report is written: two whole reports, no partial or temporary file."""
    import opnote.api
    from typer.testing import CliRunner

    from opnote.cli import app

    notes = tmp_path / "notes"
    notes.mkdir()
    for i in range(4):
        (notes / f"n{i}.txt").write_text(NOTE, encoding="utf-8")
    monkeypatch.setattr(opnote.api, "Checker", lambda *a, **k: checker)
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["check", str(notes), "--out", str(out), "--format", "json"])
    assert res.exit_code == 130 and "interrupted (SIGINT)" in res.stderr
    files = sorted(f.name for f in out.iterdir())
    assert files == [MANIFEST, "n0.json", "n1.json"]  # no summary: the run did not finish
    # the manifest lists the two reports and the note being written when Ctrl-C came, so that
    # the next run into this folder removes all three names; it is not marked complete
    assert read_manifest(out) == ["n0.json", "n1.json", "n2.json"]
    assert "complete" not in (out / MANIFEST).read_text(encoding="utf-8")
    for f in ("n0.json", "n1.json"):
        assert json.loads((out / f).read_text(encoding="utf-8"))["schema_version"] == "1"


# ----------------------------------------------------------------------------- threads
@pytest.mark.slow
def test_a_checker_shared_by_threads_gives_the_serial_reports(checker):
    notes = [p.read_text(encoding="utf-8") for p in sorted(DEV.glob("*.txt"))][:16] * 2
    serial = [render(checker.check(t, source=str(i)), "json") for i, t in enumerate(notes)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda it: render(checker.check(it[1], source=str(it[0])), "json"), enumerate(notes)))
    assert threaded == serial
    # and errors raised in threads stay typed and per call
    verdict = checker.check(NOTE).verdict
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(checker.check, t) for t in ["", NOTE, "\x00", NOTE]]
    outcomes = []
    for f in futures:
        try:
            outcomes.append(f.result().verdict)
        except InputError as e:
            outcomes.append(e.code)
    assert outcomes == ["E101", verdict, "E102", verdict]


# ----------------------------------------------------------------------------- offline
OFFLINE = textwrap.dedent("""
    import socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(args[1:2] or args[:1])
        raise OSError("network blocked by the test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    # the block works
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    except OSError:
        pass
    assert len(attempts) == 1
    attempts.clear()

    mods_before = set(sys.modules)
    assert "spacy" not in mods_before and "opnote" not in mods_before
    from opnote import Checker
    report = Checker().check(open(sys.argv[1], encoding="utf-8").read(), ["C40.21"])
    assert report.diagnosis.claim_icd10 == ["C40.21"]
    from opnote.cli import main
    sys.argv = ["opnote", "check", sys.argv[1], "--format", "json", "--icd10", "C40.21"]
    try:
        main()
    except SystemExit as e:
        code = e.code
    print("VERDICT", report.verdict, "EXIT", code, "ATTEMPTS", len(attempts), file=sys.stderr)
""")


@pytest.mark.slow
def test_works_with_every_network_connection_blocked():
    """Imports, the pipeline build, ICD-10 lookups and the CLI, in a fresh process with sockets blocked."""
    proc = subprocess.run([sys.executable, "-c", OFFLINE, str(NOTE_PATH)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"VERDICT \w+ EXIT [01] ATTEMPTS 0", last), proc.stderr[-2000:]
    assert json.loads(proc.stdout)["diagnosis"]["claim_icd10"] == ["C40.21"]


# ----------------------------------------------------------------------------- no note text in logs
LOGS = textwrap.dedent("""
    import io, json, logging, sys, warnings
    order, note_path = sys.argv[1], sys.argv[2]
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setLevel(logging.DEBUG)
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)
    logging.captureWarnings(True)
    warnings.simplefilter("always")
    from loguru import logger
    sink = io.StringIO()
    logger.add(sink, level="TRACE", format="{name}|{message}")
    if order == "medspacy-first":
        import medspacy  # imports PyRuSH, the sentence splitter that logs every sentence
    from opnote import Checker
    checker = Checker()
    for name in list(logging.root.manager.loggerDict):  # every logger at DEBUG, propagating
        lg = logging.getLogger(name)
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
        lg.propagate = True
    text = open(note_path, encoding="utf-8").read()
    report = checker.check(text)
    # a dependency that logs note text through loguru when it is not silenced
    import spacy
    import medspacy  # noqa: F401
    nlp = spacy.blank("en")
    nlp.add_pipe("medspacy_pyrush")
    n_sents = len(list(nlp(text).sents))
    errors = []
    for bad in (text[:500] + "\\x00" + text[500:], "   "):
        try:
            checker.check(bad)
        except Exception as e:
            errors.append(str(e))
    logger.info("control message from the test")
    logging.getLogger("probe").debug("control record from the test")
    print(json.dumps({"logging": log.getvalue(), "loguru": sink.getvalue(), "errors": errors, "n_sents": n_sents}))
""")


@pytest.mark.slow
@pytest.mark.parametrize("order", ["medspacy-first", "opnote-first"])
def test_no_note_text_reaches_logs_or_standard_error(tmp_path, order):
    note = tmp_path / "secret.txt"
    note.write_text(SECRET_NOTE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", LOGS, order, str(note)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the captures work: the test's own messages arrived, and PyRuSH did run
    assert "control message from the test" in out["loguru"]
    assert "control record from the test" in out["logging"]
    assert out["n_sents"] > 5
    for captured in (out["logging"], out["loguru"], proc.stderr, *out["errors"]):
        assert_no_note_text(captured)
    assert len(out["errors"]) == 2


# ----------------------------------------------------------------------------- determinism across processes
DUMP = textwrap.dedent("""
    import hashlib, json, pathlib, sys
    from opnote import Checker
    from opnote.render import render
    checker = Checker()
    out = {}
    for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.txt")):
        text = p.read_text(encoding="utf-8")
        for variant, t in (("as-is", text), ("twice", text + "\\n" + text), ("abbrev", text.replace("distal femoral replacement", "distal femoral replacement (DFR)") + "\\nDFR. FS negative. (DFR) DFR")):
            out[p.name + ":" + variant] = hashlib.sha256(render(checker.check(t, source=p.name), "json").encode()).hexdigest()
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_the_same_note_gives_byte_identical_json_in_another_process():
    """Set and dict order change with the hash seed: the reports must not."""
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", DUMP, str(ROOT / "sample_notes")], capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert len(runs[0]) >= 3 * 50
    differ = sorted(k for k in runs[0] if runs[0][k] != runs[1].get(k))
    assert differ == []
