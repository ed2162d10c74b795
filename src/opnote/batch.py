"""Batch runs: many notes, in input order, serially or with a pool of worker processes.

Each worker builds its own pipeline once (medspaCy's rule objects do not pickle, so spaCy's
``n_process`` cannot ship them) and returns finished reports, which do.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import OpnoteError
from .schema import Report


@dataclass
class NoteJob:
    """One note to check: a file path or text, with its claim codes."""

    source: str
    text: str | None = None
    path: str | None = None
    data: bytes | None = None
    icd10: list[str] = field(default_factory=list)
    id: Any = None


@dataclass
class NoteResult:
    """A report, or the error that kept a note from being checked."""

    job: NoteJob
    report: Report | None = None
    error: str | None = None
    error_type: str | None = None
    text: str | None = None
    detail: str | None = None  # the traceback of an internal error (shown by the CLI with --debug)

    @property
    def ok(self) -> bool:
        return self.report is not None


def check_job(checker: Any, job: NoteJob, keep_text: bool = False) -> NoteResult:
    """Check one job with ``checker``; typed errors become a result with ``error`` set."""
    try:
        if job.path is not None:
            from .io import read_note

            note = read_note(job.path, checker.max_bytes)
            text, enc = note.text, note.encoding
        elif job.data is not None:
            from .io import decode

            note = decode(job.data, job.source, checker.max_bytes)
            text, enc = note.text, note.encoding
        else:
            from .io import check_text

            text, enc = check_text(job.text or "", job.source).text, None
        report = checker._check_note_text(text, job.icd10, job.source, enc)
        return NoteResult(job=job, report=report, text=text if keep_text else None)
    except OpnoteError as e:
        return NoteResult(job=job, error=str(e), error_type=type(e).__name__)
    except Exception as e:  # noqa: BLE001 - one bad note must not cost the batch
        import traceback

        from .errors import InternalError

        err = InternalError(f"{job.source}: internal error ({type(e).__name__}); rerun with --debug for the traceback")
        return NoteResult(job=job, error=str(err), error_type="InternalError", detail=traceback.format_exc())


_WORKER: Any = None
CHUNK = 8  # notes per task sent to a worker: few enough to keep the workers evenly busy


def _init_worker(model: str | None, code: str, max_bytes: int) -> None:
    global _WORKER
    import gc

    from .api import Checker

    _WORKER = Checker(model, code=code, max_bytes=max_bytes)
    gc.freeze()  # this process's pipeline lives as long as it does: keep it out of every collection


def _init_forked(checker: Any) -> None:
    """A forked worker keeps the parent's Checker (inherited, not pickled), with a lock of its own."""
    global _WORKER
    import gc
    import threading

    if hasattr(checker, "_lock"):
        checker._lock = threading.Lock()  # the parent's could have been held by another thread at fork time
    _WORKER = checker
    # Everything inherited lives as long as this worker: keep it out of every collection (and
    # so out of copy-on-write copies that the collector's bookkeeping would cause).
    gc.freeze()


def _work(args: tuple[NoteJob, bool]) -> NoteResult:
    job, keep = args
    return check_job(_WORKER, job, keep)


def _work_chunk(jobs: list[NoteJob], keep: bool) -> list[tuple[str | None, dict[str, Any]]]:
    """Check a chunk; each result goes back as (report JSON, the other fields but the job).

    The parent already holds the jobs, and a report travels as its JSON (pydantic's serializer
    and parser) at about half the cost of pickling the Report object, most of it saved in the
    parent, which has to keep up with every worker.
    """
    out = []
    for job in jobs:
        res = check_job(_WORKER, job, keep)
        rest = {f.name: getattr(res, f.name) for f in fields(res) if f.name not in ("job", "report")}
        out.append((res.report.model_dump_json() if res.report is not None else None, rest))
    return out


def _result(job: NoteJob, report_json: str | None, rest: dict[str, Any]) -> NoteResult:
    return NoteResult(job=job, report=Report.model_validate_json(report_json) if report_json is not None else None, **rest)


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
) -> Iterator[NoteResult]:
    """Yield one :class:`NoteResult` per job, in input order.

    ``n_jobs > 1`` uses that many worker processes (at most one per CPU), each with its own
    pipeline. Where processes fork (Linux), the pipeline is built once here, or ``checker`` is
    used, and the workers inherit it; elsewhere each worker builds its own from ``model`` and
    ``code``. Jobs are read lazily and sent in chunks of :data:`CHUNK`, a few chunks per worker
    ahead, so a long stream of notes is never held in memory at once.
    """
    from .io import DEFAULT_MAX_BYTES

    mb = max_bytes or (checker.max_bytes if checker is not None else DEFAULT_MAX_BYTES)
    n_jobs = min(n_jobs, os.cpu_count() or n_jobs)
    if n_jobs <= 1:
        if checker is None:
            from .api import Checker

            checker = Checker(model, code=code, max_bytes=mb)
        for job in jobs:
            res = check_job(checker, job, keep_text)
            if on_result:
                on_result(res)
            yield res
        return
    yield from _run_pool(jobs, checker, n_jobs, str(model) if model else None, code, mb, keep_text, on_result)


def _run_pool(
    jobs: Iterable[NoteJob],
    checker: Any,
    n_jobs: int,
    model: str | None,
    code: str,
    mb: int,
    keep_text: bool,
    on_result: Callable[[NoteResult], None] | None,
) -> Iterator[NoteResult]:
    import multiprocessing
    from collections import deque
    from itertools import islice

    ctx = multiprocessing.get_context()
    if ctx.get_start_method() == "fork":
        if checker is None:
            from .api import Checker

            checker = Checker(model, code=code, max_bytes=mb)
        initializer, initargs = _init_forked, (checker,)
    else:
        initializer, initargs = _init_worker, (model, code, mb)
    pending: deque = deque()
    it = iter(jobs)
    pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx, initializer=initializer, initargs=initargs)
    try:

        def submit() -> bool:
            chunk = list(islice(it, CHUNK))
            if chunk:
                pending.append((chunk, pool.submit(_work_chunk, chunk, keep_text)))
            return bool(chunk)

        for _ in range(4 * n_jobs):
            if not submit():
                break
        while pending:
            chunk, future = pending.popleft()
            results = future.result()
            submit()
            for job, (report_json, rest) in zip(chunk, results):
                res = _result(job, report_json, rest)
                if on_result:
                    on_result(res)
                yield res
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def jobs_from_paths(paths: list[str], icd10: list[str] | None = None) -> list[NoteJob]:
    from .io import display_name  # a file name with a line break or escape code is shown escaped

    return [NoteJob(source=display_name(p), path=p, icd10=list(icd10 or [])) for p in paths]


def safe_name(source: str, used: set[str]) -> str:
    """A file name for a note's report, unique within one output folder."""
    stem = Path(source).name
    for suf in (".txt", ".text", ".note", ".md"):
        if stem.lower().endswith(suf):
            stem = stem[: -len(suf)]
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem) or "note"
    name, k = stem, 2
    while name in used:
        name, k = f"{stem}_{k}", k + 1
    used.add(name)
    return name


def write_atomic(path: Path, content: str) -> None:
    """Write a file through a temporary file and a rename, so no half-written report is left.

    ``path`` holds either its old content or all of ``content``, whatever happens in between
    (an error, Ctrl-C, a full disk); the temporary file is removed when the write fails.
    """
    import threading

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
