"""Worker processes for a batch: results in input order, a time limit per note, no orphans.

Each worker checks notes with its own pipeline (inherited from the parent where processes fork,
built by the worker elsewhere: medspaCy's rule objects do not pickle) and sends each report back
as JSON as soon as it is done. The parent hands a worker a chunk of :data:`CHUNK` notes only when
it is idle, and keeps at most :data:`WINDOW` chunks per worker between the oldest unfinished
note and the newest, so a long stream of notes is never held in memory at once; a worker is
renewed every :data:`RENEW_AFTER` notes, so its memory does not grow with the stream either.

Why not ``concurrent.futures``: a worker stuck on one note (``--timeout``) or killed by the
system must be replaced without losing the batch, and every worker must die with the parent,
however the parent ends (on Linux the kernel kills it, ``PR_SET_PDEATHSIG``; elsewhere a thread
in the worker watches for the parent to go).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from .jobs import NoteJob, NoteResult, check_job, internal_error, timeout_error
from .schema import Report

#: Notes per message to a worker: few enough to keep the workers evenly busy.
CHUNK = 8
#: Chunks per worker between the oldest unfinished note and the newest one read.
WINDOW = 4
#: Notes a worker checks before it is replaced by a fresh one. spaCy's vocabulary keeps every new
#: word it sees (about 0.3 kB each: 30 MB over 100,000 notes with a new id or date each), so a
#: worker's memory would grow with the stream; a fresh fork starts from the parent's pipeline.
RENEW_AFTER = 5000
_PR_SET_PDEATHSIG = 1


@dataclass
class WorkerSetup:
    """How a worker gets its pipeline: the parent's (``checker``, forked) or its own, built from the rest."""

    checker: Any = None
    model: str | None = None
    code: str = "27365"
    max_bytes: int = 2 * 1024 * 1024

    def build(self) -> Any:
        if self.checker is not None:
            if hasattr(self.checker, "_lock"):
                self.checker._lock = threading.Lock()  # another thread may have held the parent's at fork time
            return self.checker
        from .api import Checker

        return Checker(self.model, code=self.code, max_bytes=self.max_bytes)


# ------------------------------------------------------------------------------------ worker
def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` does, however it ends (SIGKILL included)."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
        except (OSError, AttributeError):
            armed = False
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent was gone before the line above took effect
        os._exit(1)


def _pack(res: NoteResult) -> tuple[str | None, dict[str, Any]]:
    """A result for the pipe: the report as JSON (half the cost of pickling it), the rest as is."""
    rest = {f.name: getattr(res, f.name) for f in fields(res) if f.name not in ("job", "report")}
    return (res.report.model_dump_json() if res.report is not None else None), rest


def _unpack(job: NoteJob, packed: tuple[str | None, dict[str, Any]]) -> NoteResult:
    report_json, rest = packed
    return NoteResult(job=job, report=Report.model_validate_json(report_json) if report_json is not None else None, **rest)


def _worker_main(conn: Connection, parent: int, setup: WorkerSetup, keep_text: bool) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # not a progress display's proxy
    from .errors import OpnoteError

    try:
        checker = setup.build()
    except OpnoteError as e:
        conn.send(("fatal", (type(e).__name__, e.args[0] if e.args else "")))
        return
    import gc

    gc.freeze()  # the pipeline lives as long as this process: keep it out of every collection
    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            return
        if jobs is None:
            return
        for job in jobs:
            conn.send(("r", _pack(check_job(checker, job, keep_text))))


# ------------------------------------------------------------------------------------ parent
@dataclass
class _Chunk:
    jobs: list[NoteJob]
    results: list[NoteResult | None] = field(default_factory=list)
    yielded: int = 0

    def __post_init__(self) -> None:
        self.results = [None] * len(self.jobs)


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    chunk: _Chunk | None = None
    pos: int = 0  # the index in ``chunk`` of the note the worker is on
    since: float = 0.0  # when it started that note (time.monotonic)
    done: int = 0  # notes it has checked


class WorkerPool:
    """``n`` worker processes checking a stream of jobs; see the module docstring."""

    def __init__(self, n: int, setup: WorkerSetup, *, keep_text: bool = False, timeout: float | None = None, context: Any = None) -> None:
        self.n = n
        self.setup = setup
        self.keep_text = keep_text
        self.timeout = timeout or None
        self.ctx: Any = context or multiprocessing.get_context()
        self._workers: list[_Worker] = []

    def run(self, jobs: Iterable[NoteJob]) -> Iterator[NoteResult]:
        """One result per job, in input order."""
        try:
            self._workers = [self._start() for _ in range(self.n)]
            yield from self._loop(iter(jobs))
            self._stop(graceful=True)
        finally:
            self._stop(graceful=False)

    # -- processes ------------------------------------------------------------------
    def _start(self) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_worker_main, args=(child_end, os.getpid(), self.setup, self.keep_text), daemon=True)
        proc.start()
        child_end.close()
        return _Worker(proc=proc, conn=parent_end)

    def _stop(self, graceful: bool) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            if graceful:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + (5.0 if graceful else 0.0)
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.exitcode is None:
                w.proc.kill()
                w.proc.join()
            w.conn.close()

    def _replace(self, w: _Worker, result: Callable[[NoteJob], NoteResult]) -> None:
        """Kill ``w``, give its current note ``result`` and hand the rest of its chunk to a new worker."""
        if w.proc.exitcode is None:
            w.proc.kill()
        w.proc.join()
        w.conn.close()
        fresh = self._start()
        w.proc, w.conn = fresh.proc, fresh.conn
        chunk = w.chunk
        if chunk is None:
            return
        chunk.results[w.pos] = result(chunk.jobs[w.pos])
        self._advance(w)

    def _renew(self, w: _Worker) -> None:
        """Replace an idle worker that has checked :data:`RENEW_AFTER` notes by a fresh one."""
        try:
            w.conn.send(None)
        except OSError:
            pass
        w.proc.join(5.0)
        if w.proc.exitcode is None:
            w.proc.kill()
            w.proc.join()
        w.conn.close()
        fresh = self._start()
        w.proc, w.conn, w.done = fresh.proc, fresh.conn, 0

    def _advance(self, w: _Worker) -> None:
        w.done += 1
        w.pos += 1
        w.since = time.monotonic()
        if w.chunk is not None and w.pos >= len(w.chunk.jobs):
            w.chunk, w.pos = None, 0

    # -- the loop ---------------------------------------------------------------------
    def _loop(self, jobs: Iterator[NoteJob]) -> Iterator[NoteResult]:
        window: deque[_Chunk] = deque()
        more = True
        while True:
            more = self._feed(jobs, window, more)
            while window and window[0].yielded < len(window[0].jobs):
                head = window[0]
                res = head.results[head.yielded]
                if res is None:
                    break
                head.results[head.yielded] = None  # the consumer has it now
                head.yielded += 1
                yield res
                if head.yielded == len(head.jobs):
                    window.popleft()
            if not window and not more:
                return
            self._wait()

    def _feed(self, jobs: Iterator[NoteJob], window: deque[_Chunk], more: bool) -> bool:
        """Give each idle worker a new chunk while the window has room; False once ``jobs`` is used up."""
        for w in self._workers:
            if w.chunk is not None or not more or len(window) >= WINDOW * self.n:
                continue
            batch = list(islice(jobs, CHUNK))
            if not batch:
                return False
            chunk = _Chunk(batch)
            window.append(chunk)
            if w.done >= RENEW_AFTER:
                self._renew(w)
            self._assign(w, chunk, 0)
        return more

    def _assign(self, w: _Worker, chunk: _Chunk, pos: int) -> None:
        w.chunk, w.pos, w.since = chunk, pos, time.monotonic()
        try:
            w.conn.send(chunk.jobs[pos:])
        except OSError:
            self._died(w)

    def _wait(self) -> None:
        busy = [w for w in self._workers if w.chunk is not None]
        if not busy:
            return
        limit = None
        if self.timeout:
            limit = max(0.0, min(w.since for w in busy) + self.timeout - time.monotonic())
        ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], limit))
        for w in busy:
            if w.conn in ready or w.proc.sentinel in ready:
                self._receive(w)
        if self.timeout:
            now = time.monotonic()
            seconds = self.timeout
            for w in busy:
                if w.chunk is not None and now - w.since >= seconds:
                    self._replace(w, lambda job: timeout_error(job, seconds))
                    self._resend(w)

    def _receive(self, w: _Worker) -> None:
        """Take every message ``w`` has sent; replace it if it died."""
        try:
            while w.chunk is not None and w.conn.poll():
                kind, payload = w.conn.recv()
                if kind == "fatal":
                    _raise_fatal(payload)
                w.chunk.results[w.pos] = _unpack(w.chunk.jobs[w.pos], payload)
                self._advance(w)
        except (EOFError, OSError):
            self._died(w)
            return
        if w.chunk is not None and not w.proc.is_alive() and not w.conn.poll():
            self._died(w)

    def _died(self, w: _Worker) -> None:
        """``w`` is gone: raise the error it could not start with, or give its note an internal error."""
        try:
            while w.conn.poll():
                kind, payload = w.conn.recv()
                if kind == "fatal":
                    _raise_fatal(payload)
        except (EOFError, OSError):
            pass
        w.proc.join()
        code = w.proc.exitcode
        what = f"worker process killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"worker process exited with status {code}"
        self._replace(w, lambda job: internal_error(job, what))
        self._resend(w)

    def _resend(self, w: _Worker) -> None:
        if w.chunk is not None:
            self._assign(w, w.chunk, w.pos)


def _raise_fatal(payload: tuple[str, str]) -> None:
    from . import errors

    name, message = payload
    cls = getattr(errors, name, errors.InternalError)
    raise cls(message)
