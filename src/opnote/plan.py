"""``opnote check`` from its options to its exit status: a run plan, its inputs, the batch runner, a sink.

:func:`execute` is the whole command without the option parsing: the plan says what to read and
where to write; files, one note on standard input and a stream of JSON lines all become a
stream of jobs (:mod:`opnote.inputs`), go through :func:`opnote.batch.run_jobs`, and every result
goes to one sink (:mod:`opnote.sinks`) and one tally, which gives the exit status.

Exit status: 0 every note is ready; 1 the notes were checked and some have gaps; 2 a usage or
input error (a bad option, code or output folder, a note that cannot be read or timed out; in a
batch the other notes are still checked); 3 an internal error; 128 + N when signal N stopped it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import chain, islice
from pathlib import Path
from typing import Any

from .console import ProgressBar, error, listed, notice
from .errors import OpnoteError, OutputError
from .io import DEFAULT_MAX_BYTES, display_name
from .jobs import NoteJob, NoteResult, internal_error
from .outdir import OutputFolder
from .sinks import FolderSink, Sink, StdoutSink

#: Seconds one note may take by default (``--timeout``): real notes take well under a second.
DEFAULT_TIMEOUT = 60.0
#: Formats that need the note's text to render (the highlighted note, FHIR's offsets).
TEXT_FORMATS = ("html", "markdown", "fhir")


class ExitCode(IntEnum):
    READY = 0
    GAPS = 1
    USAGE = 2
    INTERNAL = 3


class Stop(Exception):
    """Ends a run before any note is checked: a message and an exit status."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop like Ctrl-C does (workers killed, no temporary file left)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True)
class RunPlan:
    """What ``opnote check`` was asked to do (its options, parsed)."""

    paths: tuple[str, ...]
    icd10: tuple[str, ...] = ()
    fmt: str = "text"
    out: Path | None = None
    code: str = "27365"
    jobs: int = 1
    max_bytes: int = DEFAULT_MAX_BYTES
    model: Path | None = None
    input_format: str = "auto"
    color: bool | None = None
    debug: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    follow_symlinks: bool = False
    group_by: str | None = None  # index.html: gap rates by "month" or "week" of the date of service


@dataclass
class Inputs:
    """The jobs of a run, read as they are needed."""

    jobs: Iterator[NoteJob]
    total: int | None  # None: a stream, counted as it goes
    many: bool
    jsonl: bool  # JSON lines on standard input


@dataclass
class Tally:
    """Every result, counted; failures printed as they come (and kept, to list them at the end)."""

    keep: bool
    debug: bool = False
    total: int = 0
    failed: int = 0
    internal: bool = False
    all_ready: bool = True
    failures: list[tuple[str, str]] = field(default_factory=list)

    def add(self, res: NoteResult) -> None:
        self.total += 1
        if res.report is not None:
            self.all_ready = self.all_ready and res.report.verdict == "ready"
            return
        self.failed += 1
        self.internal = self.internal or res.error_type == "InternalError"
        error(res.error or "failed")
        if self.debug and res.detail:
            sys.stderr.write(res.detail)
        if self.keep:
            self.failures.append((res.job.source, res.error or ""))

    def status(self) -> ExitCode:
        if self.failed:
            return ExitCode.INTERNAL if self.internal else ExitCode.USAGE
        return ExitCode.READY if self.all_ready else ExitCode.GAPS


# ----------------------------------------------------------------------------------- planning
def _claim_codes(plan: RunPlan) -> list[str]:
    from . import rules as rule_files
    from .coding import validate_claim_codes
    from .errors import CodeError, RuleFileError

    try:
        rule_files.checklist(plan.code)
    except RuleFileError as e:
        raise Stop(str(e)) from None
    codes = [x.strip() for v in plan.icd10 for x in v.replace(";", ",").split(",") if x.strip()]
    try:
        return validate_claim_codes(codes) if codes else []
    except CodeError as e:
        raise Stop(f"--icd10: {e}") from None


def _check_group_by(plan: RunPlan) -> None:
    if plan.group_by is not None and (plan.out is None or plan.fmt != "html"):
        raise Stop(f"--group-by {plan.group_by} groups the batch index: it needs --format html and --out DIR")


def path_inputs(plan: RunPlan, codes: list[str], folder: OutputFolder | None) -> Inputs:
    from .inputs import expand, path_jobs

    if "-" in plan.paths:
        raise Stop("'-' (standard input) cannot be mixed with paths")
    entries = expand(plan.paths, follow_symlinks=plan.follow_symlinks, skip=folder.holds if folder else lambda p: False)
    if folder is not None:
        for e in entries:
            if folder.holds(e.path):
                raise OutputError(f"--out {display_name(folder.path)}: holds an input ({display_name(e.path)}); write the reports to another folder")
    return Inputs(jobs=path_jobs(entries, codes), total=len(entries), many=len(entries) > 1, jsonl=False)


def _stdin_inputs(plan: RunPlan, codes: list[str]) -> Inputs:
    from .inputs import LineReader, jsonl_jobs, line_limit, looks_like_jsonl, stdin_note

    reader = LineReader(sys.stdin.buffer, line_limit(plan.max_bytes))
    head = reader.head()
    if not (plan.input_format == "jsonl" or (plan.input_format == "auto" and looks_like_jsonl(head))):
        return Inputs(jobs=iter([stdin_note(reader, head, codes, plan.max_bytes)]), total=1, many=False, jsonl=False)
    jobs = jsonl_jobs(reader, codes, plan.max_bytes)
    if plan.fmt == "jsonl" and plan.out is None:
        return Inputs(jobs=jobs, total=None, many=True, jsonl=True)  # no look-ahead: a program may feed one line at a time
    first = list(islice(jobs, 2))
    return Inputs(jobs=chain(first, jobs), total=None, many=len(first) > 1, jsonl=True)


def _checker(plan: RunPlan) -> Any:
    """The pipeline, built here unless worker processes build their own (where they cannot fork)."""
    import multiprocessing

    if plan.jobs > 1 and multiprocessing.get_context().get_start_method() != "fork":
        return None
    from .api import Checker

    try:
        return Checker(plan.model, code=plan.code, max_bytes=plan.max_bytes)
    except OpnoteError as e:
        raise Stop(str(e), ExitCode.INTERNAL) from None


def _prepare(plan: RunPlan, codes: list[str], folder: OutputFolder | None) -> tuple[Inputs, Any, Sink]:
    inputs = _stdin_inputs(plan, codes) if plan.paths == ("-",) else path_inputs(plan, codes, folder)
    if inputs.many and folder is None and plan.fmt in TEXT_FORMATS:
        raise Stop(f"--format {plan.fmt} with several notes needs --out DIR")
    checker = _checker(plan)
    if folder is not None:
        return inputs, checker, FolderSink(folder, plan.fmt, plan.code, group_by=plan.group_by)
    color = sys.stdout.isatty() if plan.color is None else plan.color
    records = inputs.jsonl and plan.fmt == "jsonl"
    return inputs, checker, StdoutSink(plan.fmt, many=inputs.many, color=color, records=records)


# ------------------------------------------------------------------------------------ running
@contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run as Ctrl-C does (in the main thread; a second one is ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]

    def stop(signum: int, frame: object) -> None:
        for s in handled:
            signal.signal(s, signal.SIG_IGN)
        raise Terminated(signum)

    old = {s: signal.signal(s, stop) for s in handled}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _deliver(sink: Sink, res: NoteResult) -> NoteResult:
    """Give ``res`` to the sink; a bug while rendering it makes it an internal error, and the batch goes on."""
    try:
        sink.add(res)
        return res
    except (OSError, OpnoteError):
        raise
    except Exception as e:  # noqa: BLE001
        import traceback

        failed = internal_error(res.job, type(e).__name__, traceback.format_exc())
        sink.add(failed)
        return failed


def _bar_wanted(plan: RunPlan) -> bool:
    return sys.stderr.isatty() and not (plan.out is None and sys.stdout.isatty())


def _run(plan: RunPlan, inputs: Inputs, checker: Any, sink: Sink, tally: Tally) -> None:
    from .batch import run_jobs

    results = run_jobs(
        inputs.jobs, checker=checker, n_jobs=plan.jobs, model=str(plan.model) if plan.model else None, code=plan.code,
        max_bytes=plan.max_bytes, keep_text=plan.fmt in TEXT_FORMATS or plan.out is not None, timeout=plan.timeout,
    )
    with ProgressBar(inputs.total, _bar_wanted(plan)) as bar, closing(results):
        sink.open()
        for res in results:
            bar.step()
            tally.add(_deliver(sink, res))
    sink.close(complete=True)


def _interrupted(sink: Sink, e: BaseException) -> int:
    _close_quietly(sink)
    signum = e.signum if isinstance(e, Terminated) else int(signal.SIGINT)
    notice(f"interrupted ({signal.Signals(signum).name})")
    return 128 + signum


def _close_quietly(sink: Sink) -> None:
    try:
        sink.close(complete=False)
    except (OSError, OpnoteError):
        pass


def _finish(plan: RunPlan, inputs: Inputs, sink: Sink, tally: Tally) -> int:
    if isinstance(sink, FolderSink):
        notice(f"wrote {sink.written} report(s) to {display_name(plan.out)}" + (f"; {tally.failed} note(s) failed" if tally.failed else ""))
    if tally.total == 0:
        error("no notes on standard input")
        return ExitCode.USAGE
    if isinstance(sink, StdoutSink) and sink.records:
        if tally.failed:
            notice(f"{tally.failed} of {tally.total} record(s) could not be checked")
    elif tally.failed and tally.total > 1:
        notice(f"{tally.failed} of {tally.total} note(s) could not be checked:")
        for src, msg in tally.failures:
            listed(msg if src in msg else f"{src}: {msg}")  # messages name their file
    return tally.status()


def execute(plan: RunPlan) -> int:
    """Run ``opnote check`` as planned; the exit status."""
    folder: OutputFolder | None = None
    try:
        _check_group_by(plan)
        codes = _claim_codes(plan)
        folder = OutputFolder.open(plan.out) if plan.out is not None else None
        inputs, checker, sink = _prepare(plan, codes, folder)
    except (Stop, OpnoteError) as e:
        if folder is not None:
            folder.close(complete=False)
        error(str(e))
        return e.code if isinstance(e, Stop) else ExitCode.USAGE
    tally = Tally(keep=not (isinstance(sink, StdoutSink) and sink.records), debug=plan.debug)
    try:
        with _stop_signals():
            _run(plan, inputs, checker, sink, tally)
    except (KeyboardInterrupt, Terminated) as e:
        return _interrupted(sink, e)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other pipe tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _close_quietly(sink)
        return ExitCode.GAPS
    except OutputError as e:
        _close_quietly(sink)
        error(str(e))
        return ExitCode.USAGE
    except OpnoteError as e:
        _close_quietly(sink)
        error(str(e))
        return ExitCode.INTERNAL
    except Exception as e:
        _close_quietly(sink)
        if plan.debug:
            raise
        error(f"internal error ({type(e).__name__}); rerun with --debug for details")
        return ExitCode.INTERNAL
    return _finish(plan, inputs, sink, tally)
