"""Batch runs: many notes, in input order, serially or with a pool of worker processes.

Each worker builds its own pipeline once (medspaCy's rule objects do not pickle, so spaCy's
``n_process`` cannot ship them) and returns finished reports, which do.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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
        return NoteResult(job=job, error=f"[E900] {job.source}: internal error ({type(e).__name__}); rerun with --debug", error_type="InternalError")


_WORKER: Any = None


def _init_worker(model: str | None, code: str, max_bytes: int) -> None:
    global _WORKER
    from .api import Checker

    _WORKER = Checker(model, code=code, max_bytes=max_bytes)


def _work(args: tuple[NoteJob, bool]) -> NoteResult:
    job, keep = args
    return check_job(_WORKER, job, keep)


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

    ``n_jobs > 1`` uses that many worker processes, each with its own pipeline.
    """
    from .io import DEFAULT_MAX_BYTES

    mb = max_bytes or (checker.max_bytes if checker is not None else DEFAULT_MAX_BYTES)
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
    n_jobs = min(n_jobs, os.cpu_count() or n_jobs)
    with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker, initargs=(str(model) if model else None, code, mb)) as pool:
        for res in pool.map(_work, ((j, keep_text) for j in jobs), chunksize=16):
            if on_result:
                on_result(res)
            yield res


def jobs_from_paths(paths: list[str], icd10: list[str] | None = None) -> list[NoteJob]:
    return [NoteJob(source=p, path=p, icd10=list(icd10 or [])) for p in paths]


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
    """Write a file through a temporary file and a rename, so no half-written report is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
