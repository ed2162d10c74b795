"""Batch runs: many notes, in input order, in this process or with worker processes.

``run_jobs`` is the one loop every batch goes through (``opnote check`` with files, standard
input or JSON lines; :mod:`opnote.spark` uses :func:`check_job` per row). Each note gets exactly
one :class:`NoteResult`, a report or an error, whatever happens to it: unreadable, too slow
(``timeout``), or its worker process killed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from .jobs import Deadline, NoteJob, NoteResult, check_job
from .pool import CHUNK, WorkerPool, WorkerSetup

__all__ = ["NoteJob", "NoteResult", "check_job", "run_jobs", "CHUNK", "WorkerPool"]


def run_jobs(
    jobs: Iterable[NoteJob],
    *,
    checker: Any = None,
    n_jobs: int = 1,
    model: str | None = None,
    code: str = "27365",
    max_bytes: int | None = None,
    keep_text: bool = False,
    on_result: Callable[[NoteResult], None] | None = None,
    timeout: float | None = None,
) -> Generator[NoteResult, None, None]:
    """Yield one :class:`NoteResult` per job, in input order (``on_result`` is called with each first).

    ``n_jobs > 1`` uses that many worker processes (at most one per CPU), each with its own
    pipeline. Where processes fork (Linux), the pipeline is built once here, or ``checker`` is
    used, and the workers inherit it; elsewhere each worker builds its own from ``model`` and
    ``code``. Jobs are read lazily, so a long stream of notes is never held in memory at once.

    ``timeout`` (seconds) limits the time one note may take: the note becomes a
    ``NoteTimeoutError`` result and the batch goes on. With worker processes the stuck worker is
    killed and replaced; in this process the limit is an alarm signal, so it applies only when
    this is the main thread.
    """
    from .io import DEFAULT_MAX_BYTES

    mb = max_bytes or (checker.max_bytes if checker is not None else DEFAULT_MAX_BYTES)
    n_jobs = min(n_jobs, os.cpu_count() or n_jobs)
    if n_jobs > 1 or checker is None:
        import multiprocessing

        forks = multiprocessing.get_context().get_start_method() == "fork"
        if checker is None and (n_jobs <= 1 or forks):
            from .api import Checker

            checker = Checker(model, code=code, max_bytes=mb)
    results = _serial(jobs, checker, keep_text, timeout) if n_jobs <= 1 else _pooled(jobs, checker, n_jobs, model, code, mb, keep_text, timeout)
    for res in results:
        if on_result:
            on_result(res)
        yield res


def _serial(jobs: Iterable[NoteJob], checker: Any, keep_text: bool, timeout: float | None) -> Iterator[NoteResult]:
    with Deadline(timeout) as deadline:
        for job in jobs:
            yield deadline.check(checker, job, keep_text)


def _pooled(
    jobs: Iterable[NoteJob], checker: Any, n_jobs: int, model: str | None, code: str, mb: int, keep_text: bool, timeout: float | None
) -> Iterator[NoteResult]:
    import multiprocessing

    forks = multiprocessing.get_context().get_start_method() == "fork"
    setup = WorkerSetup(checker=checker if forks else None, model=str(model) if model else None, code=code, max_bytes=mb)
    yield from WorkerPool(n_jobs, setup, keep_text=keep_text, timeout=timeout).run(jobs)
