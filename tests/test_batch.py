"""Batch runs with worker processes give the single-process reports, in input order.

``run_jobs(..., n_jobs=2)`` must be a drop-in for checking the notes one by one: the same
reports (``model_dump``), in the order the jobs came in, and a note that cannot be checked
becomes an error result in its place while every other note is still checked.
"""

from __future__ import annotations

import pytest

import opnote.batch as batch
from opnote.batch import NoteJob, run_jobs


@pytest.fixture
def pool_used(monkeypatch):
    """Force the worker-pool path even on a one-CPU machine, and record that a pool was made."""
    made = []

    class RecordingPool(batch.WorkerPool):
        def __init__(self, n, *args, **kwargs):
            made.append(n)
            super().__init__(n, *args, **kwargs)

    monkeypatch.setattr(batch, "WorkerPool", RecordingPool)
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 2)
    return made


def _notes(sample_dir, n=6):
    paths = sorted((sample_dir / "dev").glob("*.txt"))[:n]
    assert len(paths) == n
    return paths


@pytest.mark.slow
def test_two_workers_match_single_process_in_order(checker, sample_dir, pool_used):
    paths = _notes(sample_dir)
    texts = [p.read_text(encoding="utf-8") for p in paths]
    # More jobs than one chunk per worker, so results come back from both workers.
    jobs = [NoteJob(source=f"note{i}", text=texts[i % len(texts)], id=i) for i in range(3 * batch.CHUNK + 3)]

    results = list(run_jobs(jobs, checker=checker, n_jobs=2))

    assert pool_used == [2]
    assert [r.job.id for r in results] == list(range(len(jobs)))
    assert all(r.ok for r in results)
    for job, res in zip(jobs, results):
        expected = checker.check(job.text, source=job.source)
        assert res.report.model_dump() == expected.model_dump()


def test_bad_notes_in_the_middle_become_errors_and_the_rest_are_checked(checker, sample_dir, pool_used):
    paths = _notes(sample_dir, 4)
    texts = [p.read_text(encoding="utf-8") for p in paths]
    jobs = [
        NoteJob(source="a", text=texts[0]),
        NoteJob(source="b", text=texts[1]),
        NoteJob(source="empty", text="   \n"),
        NoteJob(source="binary", data=b"%PDF-1.4\x00\x01\x02binary"),
        NoteJob(source="c", text=texts[2]),
        NoteJob(source="file", path=str(paths[3])),
        NoteJob(source="missing", path=str(sample_dir / "no_such_note.txt")),
        NoteJob(source="d", text=texts[0]),
    ]

    results = list(run_jobs(jobs, checker=checker, n_jobs=2))

    assert pool_used == [2]
    assert [r.job.source for r in results] == [j.source for j in jobs]
    by_source = {r.job.source: r for r in results}
    assert by_source["empty"].ok is False and by_source["empty"].error_type == "EmptyNoteError"
    assert by_source["binary"].ok is False and by_source["binary"].error_type == "BinaryInputError"
    assert by_source["missing"].ok is False and by_source["missing"].error_type == "UnreadableError"
    for src, text in (("a", texts[0]), ("b", texts[1]), ("c", texts[2]), ("d", texts[0])):
        assert by_source[src].ok
        assert by_source[src].report.model_dump() == checker.check(text, source=src).model_dump()
    assert by_source["file"].report.model_dump() == checker.check_file(paths[3]).model_dump() | {"source": "file"}


def test_workers_build_their_own_pipeline_when_not_given_one(checker, sample_dir, pool_used):
    text = _notes(sample_dir, 1)[0].read_text(encoding="utf-8")
    jobs = [NoteJob(source=f"n{i}", text=text) for i in range(3)]

    results = list(run_jobs(jobs, n_jobs=2))

    assert pool_used == [2]
    assert [r.job.source for r in results] == ["n0", "n1", "n2"]
    expected = checker.check(text, source="n0").model_dump()
    assert results[0].report.model_dump() == expected
    assert all(r.report.model_dump() | {"source": "n0"} == expected for r in results)


def _flaky_evaluate(monkeypatch, action):
    """Make checking a note whose text holds a trigger word do ``action`` (in the workers too: they fork)."""
    import opnote.api

    real = opnote.api.evaluate

    def flaky(text, *a, **kw):
        if "TRIGGER" in text:
            action()
        return real(text, *a, **kw)

    monkeypatch.setattr(opnote.api, "evaluate", flaky)


def _live_children() -> list[int]:
    import os
    from pathlib import Path

    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == me and state != "Z":
            out.append(int(entry.name))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_note_over_the_time_limit_becomes_an_error_and_the_rest_are_checked(checker, sample_dir, pool_used, monkeypatch, n_jobs):
    import time

    _flaky_evaluate(monkeypatch, lambda: time.sleep(60))
    text = _notes(sample_dir, 1)[0].read_text(encoding="utf-8")
    jobs = [NoteJob(source=f"n{i}", text=text + ("\nTRIGGER" if i == 3 else "")) for i in range(12)]
    start = time.monotonic()
    results = list(run_jobs(jobs, checker=checker, n_jobs=n_jobs, timeout=1))
    assert time.monotonic() - start < 30
    assert [r.job.source for r in results] == [j.source for j in jobs]
    assert [r.error_type for r in results] == [None] * 3 + ["NoteTimeoutError"] + [None] * 8
    assert results[3].error == "[E108] n3: not checked within 1 s (--timeout); the note may be pathological"
    assert pool_used == ([2] if n_jobs == 2 else [])


def test_a_worker_that_dies_costs_only_its_note(checker, sample_dir, pool_used, monkeypatch):
    import os

    _flaky_evaluate(monkeypatch, lambda: os._exit(5))
    text = _notes(sample_dir, 1)[0].read_text(encoding="utf-8")
    jobs = [NoteJob(source=f"n{i}", text=text + ("\nTRIGGER" if i in (2, 9) else "")) for i in range(12)]
    results = list(run_jobs(jobs, checker=checker, n_jobs=2))
    assert [r.job.source for r in results] == [j.source for j in jobs]
    failed = {r.job.source: r.error for r in results if not r.ok}
    assert failed == {s: f"[E900] {s}: internal error (worker process exited with status 5); rerun with --debug for the traceback" for s in ("n2", "n9")}


def test_stopping_early_stops_the_workers(checker, sample_dir, pool_used):
    text = _notes(sample_dir, 1)[0].read_text(encoding="utf-8")
    results = run_jobs((NoteJob(source=f"n{i}", text=text) for i in range(10_000)), checker=checker, n_jobs=2)
    before = set(_live_children())
    next(results)
    workers = set(_live_children()) - before
    assert len(workers) == 2
    results.close()  # what a consumer's break, exception or Ctrl-C does
    assert not workers & set(_live_children())


@pytest.mark.slow
def test_spawned_workers_build_their_own_pipeline_and_report_why_they_cannot(checker, sample_dir, tmp_path):
    """Where processes do not fork (macOS, Windows) each worker builds its pipeline; a bad one stops the batch."""
    import multiprocessing

    from opnote.errors import ModelLoadError
    from opnote.pool import WorkerSetup

    spawn = multiprocessing.get_context("spawn")
    text = _notes(sample_dir, 1)[0].read_text(encoding="utf-8")
    results = list(batch.WorkerPool(2, WorkerSetup(), context=spawn, timeout=300).run(NoteJob(source=f"n{i}", text=text) for i in range(3)))
    assert [r.report.model_dump() for r in results] == [checker.check(text, source=f"n{i}").model_dump() for i in range(3)]
    bad = batch.WorkerPool(2, WorkerSetup(model=str(tmp_path / "no-model")), context=spawn)
    with pytest.raises(ModelLoadError, match="no-model is not a saved opnote pipeline"):
        list(bad.run([NoteJob(source="a", text=text)]))


@pytest.mark.slow
def test_workers_are_renewed_and_the_results_do_not_change(checker, sample_dir, pool_used, monkeypatch):
    import opnote.pool

    started = []
    real_start = opnote.pool.WorkerPool._start

    def start(self):
        started.append(1)
        return real_start(self)

    monkeypatch.setattr(opnote.pool, "RENEW_AFTER", 10)
    monkeypatch.setattr(opnote.pool.WorkerPool, "_start", start)
    texts = [p.read_text(encoding="utf-8") for p in _notes(sample_dir, 4)]
    # A worker takes chunks only while it has checked fewer than RENEW_AFTER notes: two at the start
    # and one more when the first is done, so no worker checks more than 3 chunks (24 notes) in its
    # life, whichever way the two share the work. 96 notes (12 chunks) need at least 4 workers.
    jobs = [NoteJob(source=f"n{i}", text=texts[i % 4]) for i in range(96)]
    results = list(run_jobs(jobs, checker=checker, n_jobs=2))
    assert [r.job.source for r in results] == [j.source for j in jobs]
    assert [r.report.model_dump() for r in results] == [checker.check(j.text, source=j.source).model_dump() for j in jobs]
    assert len(started) >= 4
