"""Worker processes for a batch: results in input order, a time limit per note, no orphans.

Each worker checks notes with its own pipeline (inherited from the parent where processes fork,
built by the worker elsewhere: medspaCy's rule objects do not pickle) and sends each report back
as JSON as soon as it is done. The parent keeps :data:`AHEAD` chunks of :data:`CHUNK` notes with
each worker (a thread in the worker reads them, so neither side ever waits for the other to
read), and at most :data:`WINDOW` chunks per worker between the oldest unfinished note and the
newest, so a long stream of notes is never held in memory at once; a worker is renewed every
:data:`RENEW_AFTER` notes, so its memory does not grow with the stream either.

Why not ``concurrent.futures``: a worker stuck on one note (``--timeout``) or killed by the
system must be replaced without losing the batch, and every worker must die with the parent,
however the parent ends (on Linux the kernel kills it, ``PR_SET_PDEATHSIG``; elsewhere a thread
in the worker watches for the parent to go).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
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
#: Chunks a worker holds: the one it checks and the next, so it never waits for the parent.
AHEAD = 2
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


def _inbox(jobs_in: Connection) -> queue.SimpleQueue[list[NoteJob] | None]:
    """The parent's messages, read by a thread: the parent's sends never wait for a busy worker."""
    box: queue.SimpleQueue[list[NoteJob] | None] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                msg = jobs_in.recv()
            except (EOFError, OSError):
                msg = None
            box.put(msg)
            if msg is None:
                return

    threading.Thread(target=read, daemon=True).start()
    return box


def _worker_main(jobs_in: Connection, results_out: Connection, parent: int, setup: WorkerSetup, keep_text: bool) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # not a progress display's proxy
    from .errors import OpnoteError

    try:
        checker = setup.build()
    except OpnoteError as e:
        results_out.send(("fatal", (type(e).__name__, e.args[0] if e.args else "")))
        return
    import gc

    gc.freeze()  # the pipeline lives as long as this process: keep it out of every collection
    box = _inbox(jobs_in)
    while (jobs := box.get()) is not None:
        for job in jobs:
            results_out.send(("r", _pack(check_job(checker, job, keep_text))))


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
    jobs_out: Connection
    results_in: Connection
    chunks: deque[_Chunk] = field(default_factory=deque)  # sent and not finished; it checks the first
    pos: int = 0  # the index in ``chunks[0]`` of the note it is on
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
        jobs_in, jobs_out = self.ctx.Pipe(duplex=False)
        results_in, results_out = self.ctx.Pipe(duplex=False)
        args = (jobs_in, results_out, os.getpid(), self.setup, self.keep_text)
        proc = self.ctx.Process(target=_worker_main, args=args, daemon=True)
        proc.start()
        jobs_in.close()
        results_out.close()
        return _Worker(proc=proc, jobs_out=jobs_out, results_in=results_in)

    def _end(self, w: _Worker, grace: float) -> None:
        """Ask ``w`` to finish, wait up to ``grace`` seconds, then kill it."""
        if grace:
            try:
                w.jobs_out.send(None)
            except OSError:
                pass
        w.proc.join(grace)
        if w.proc.exitcode is None:
            w.proc.kill()
            w.proc.join()
        w.jobs_out.close()
        w.results_in.close()

    def _stop(self, graceful: bool) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            self._end(w, 5.0 if graceful else 0.0)

    def _restart(self, w: _Worker, grace: float) -> None:
        self._end(w, grace)
        fresh = self._start()
        w.proc, w.jobs_out, w.results_in, w.done = fresh.proc, fresh.jobs_out, fresh.results_in, 0

    def _replace(self, w: _Worker, result: Callable[[NoteJob], NoteResult]) -> None:
        """Kill ``w``, give its current note ``result`` and hand the rest of its chunks to a new worker."""
        self._restart(w, 0.0)
        if w.chunks:
            head = w.chunks[0]
            head.results[w.pos] = result(head.jobs[w.pos])
            self._advance(w)
        for i, chunk in enumerate(w.chunks):
            if not self._send(w, chunk.jobs[w.pos:] if i == 0 else chunk.jobs):
                return  # that worker died too, and its replacement has been given everything

    def _advance(self, w: _Worker) -> None:
        w.done += 1
        w.pos += 1
        w.since = time.monotonic()
        if w.pos >= len(w.chunks[0].jobs):
            w.chunks.popleft()
            w.pos = 0

    def _send(self, w: _Worker, jobs: list[NoteJob]) -> bool:
        try:
            w.jobs_out.send(jobs)
            return True
        except OSError:
            self._died(w)
            return False

    # -- the loop ---------------------------------------------------------------------
    def _loop(self, jobs: Iterator[NoteJob]) -> Iterator[NoteResult]:
        window: deque[_Chunk] = deque()
        more = True
        while True:
            more = self._feed(jobs, window, more)
            while window and window[0].results[window[0].yielded] is not None:
                head = window[0]
                res = head.results[head.yielded]
                head.results[head.yielded] = None  # the consumer has it now
                head.yielded += 1
                if head.yielded == len(head.jobs):
                    window.popleft()
                assert res is not None
                yield res
            if not window and not more:
                return
            self._wait()

    def _feed(self, jobs: Iterator[NoteJob], window: deque[_Chunk], more: bool) -> bool:
        """Keep :data:`AHEAD` chunks with each worker while the window has room; False once ``jobs`` is used up."""
        while more and len(window) < WINDOW * self.n:
            w = self._pick()
            if w is None:
                break
            batch = list(islice(jobs, CHUNK))
            if not batch:
                return False
            chunk = _Chunk(batch)
            window.append(chunk)
            if not w.chunks:
                w.pos, w.since = 0, time.monotonic()
            w.chunks.append(chunk)
            self._send(w, chunk.jobs)
        return more

    def _pick(self) -> _Worker | None:
        """The least busy worker that may take a chunk; one due for renewal gets none until it is idle, then is renewed."""
        for w in sorted(self._workers, key=lambda w: len(w.chunks)):
            if len(w.chunks) >= AHEAD:
                return None
            if w.done < RENEW_AFTER:
                return w
            if not w.chunks:
                self._restart(w, 5.0)
                return w
        return None

    def _wait(self) -> None:
        busy = [w for w in self._workers if w.chunks]
        if not busy:
            return
        limit = None
        if self.timeout:
            limit = max(0.0, min(w.since for w in busy) + self.timeout - time.monotonic())
        ready = set(wait([w.results_in for w in busy] + [w.proc.sentinel for w in busy], limit))
        for w in busy:
            if w.results_in in ready or w.proc.sentinel in ready:
                self._receive(w)
        if self.timeout:
            now = time.monotonic()
            seconds = self.timeout
            for w in busy:
                if w.chunks and now - w.since >= seconds:
                    self._replace(w, lambda job: timeout_error(job, seconds))

    def _receive(self, w: _Worker) -> None:
        """Take every result ``w`` has sent; replace it if it died."""
        try:
            while w.chunks and w.results_in.poll():
                kind, payload = w.results_in.recv()
                if kind == "fatal":
                    _raise_fatal(payload)
                head = w.chunks[0]
                head.results[w.pos] = _unpack(head.jobs[w.pos], payload)
                self._advance(w)
        except (EOFError, OSError):
            self._died(w)
            return
        if w.chunks and not w.proc.is_alive() and not w.results_in.poll():
            self._died(w)

    def _died(self, w: _Worker) -> None:
        """``w`` is gone: raise the error it could not start with, or give its note an internal error."""
        try:
            while w.results_in.poll():
                kind, payload = w.results_in.recv()
                if kind == "fatal":
                    _raise_fatal(payload)
        except (EOFError, OSError):
            pass
        w.proc.join()
        code = w.proc.exitcode
        what = f"worker process killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"worker process exited with status {code}"
        self._replace(w, lambda job: internal_error(job, what))


def _raise_fatal(payload: tuple[str, str]) -> None:
    from . import errors

    name, message = payload
    cls = getattr(errors, name, errors.InternalError)
    raise cls(message)
