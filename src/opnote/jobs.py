"""One note of a batch: the job, its result, and checking it with a time limit.

A job is a file path, bytes or text, with the claim's codes; or an input that could not become a
note (a folder that cannot be listed, a line that is not a note record), which carries its error
so that it still gets its place and its row in the results.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .errors import NoteTimeoutError, OpnoteError

if TYPE_CHECKING:  # pragma: no cover
    from .schema import Report


class SupportsCheck(Protocol):
    """What :func:`check_job` needs of a :class:`~opnote.api.Checker`."""

    max_bytes: int

    def _check_note_text(
        self, text: str, icd10: list[str] | None, source: str | None, encoding: str | None, code: str | None = None
    ) -> Report: ...


@dataclass
class NoteJob:
    """One note to check: a file path, bytes or text, with its claim codes.

    ``error`` (a full message, ``[E105] notes/x.txt: ...``) and ``error_type`` mark an input that
    could not become a note; ``line`` is its line number in JSON-lines input; ``id`` is the
    record's id exactly as given.
    """

    source: str
    text: str | None = None
    path: str | None = None
    data: bytes | None = None
    icd10: list[str] = field(default_factory=list)
    id: Any = None
    error: str | None = None
    error_type: str | None = None
    line: int | None = None


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


class _Expired(BaseException):
    """Raised by the alarm in the middle of a check; a BaseException so no ``except Exception`` stops it."""


def _read(checker: SupportsCheck, job: NoteJob) -> tuple[str, str | None]:
    """The job's text and the encoding it was decoded from (None for text given as a str)."""
    if job.path is not None:
        from .io import read_note

        note = read_note(job.path, checker.max_bytes)
        return note.text, note.encoding
    if job.data is not None:
        from .io import decode

        note = decode(job.data, job.source, checker.max_bytes)
        return note.text, note.encoding
    from .io import check_text

    return check_text(job.text or "", job.source).text, None


def _check(checker: SupportsCheck, job: NoteJob, keep_text: bool) -> NoteResult:
    text, enc = _read(checker, job)
    report = checker._check_note_text(text, job.icd10, job.source, enc)
    return NoteResult(job=job, report=report, text=text if keep_text else None)


def timeout_error(job: NoteJob, seconds: float) -> NoteResult:
    err = NoteTimeoutError(f"{job.source}: not checked within {seconds:g} s (--timeout); the note may be pathological")
    return NoteResult(job=job, error=str(err), error_type=type(err).__name__)


def internal_error(job: NoteJob, what: str, detail: str | None = None) -> NoteResult:
    from .errors import InternalError

    err = InternalError(f"{job.source}: internal error ({what}); rerun with --debug for the traceback")
    return NoteResult(job=job, error=str(err), error_type="InternalError", detail=detail)


def check_job(checker: SupportsCheck | None, job: NoteJob, keep_text: bool = False) -> NoteResult:
    """Check one job with ``checker``; typed errors become a result with ``error`` set."""
    if job.error is not None or checker is None:
        return NoteResult(job=job, error=job.error or f"{job.source}: not checked", error_type=job.error_type or "InputError")
    try:
        return _check(checker, job, keep_text)
    except OpnoteError as e:
        return NoteResult(job=job, error=str(e), error_type=type(e).__name__)
    except Exception as e:  # noqa: BLE001 - one bad note must not cost the batch
        import traceback

        return internal_error(job, type(e).__name__, traceback.format_exc())


def _on_alarm(signum: int, frame: object) -> None:
    raise _Expired()


class Deadline:
    """A per-note time limit for checks run in this process, with ``SIGALRM``.

    Only the main thread of a POSIX process can receive the alarm; elsewhere (``usable`` is
    False) notes are checked without a limit. The alarm interrupts Python code, and C code (a
    regular expression, spaCy's tokenizer) as soon as it returns to Python.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds or None
        self.usable = bool(
            self.seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        )
        self._old: Any = None

    def __enter__(self) -> Deadline:
        if self.usable:
            self._old = signal.signal(signal.SIGALRM, _on_alarm)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.usable:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)

    def check(self, checker: SupportsCheck | None, job: NoteJob, keep_text: bool) -> NoteResult:
        if not self.usable or self.seconds is None:
            return check_job(checker, job, keep_text)
        try:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            try:
                return check_job(checker, job, keep_text)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Expired:
            return timeout_error(job, self.seconds)
