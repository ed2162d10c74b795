"""The ``opnote`` command line.

Exit status: 0 every note is ready; 1 the notes were checked and some have gaps (at risk or not
supported); 2 a usage or input error (a bad option or code, a note that cannot be read; in a
batch, the other notes are still checked and reported); 3 an internal error (rule files, model).
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
import sys
from enum import Enum, IntEnum
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__

app = typer.Typer(
    name="opnote",
    help="Check operative notes against the CPT 27365 documentation checklist and report what is missing.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ExitCode(IntEnum):
    READY = 0
    GAPS = 1
    USAGE = 2
    INTERNAL = 3


class Fmt(str, Enum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    html = "html"
    fhir = "fhir"


class InFmt(str, Enum):
    auto = "auto"
    text = "text"
    jsonl = "jsonl"


class EvalFmt(str, Enum):
    text = "text"
    json = "json"


def _err(msg: str) -> None:
    sys.stderr.write(f"opnote: error: {msg}\n")


def _fail(msg: str, code: ExitCode = ExitCode.USAGE) -> "typer.Exit":
    _err(msg)
    return typer.Exit(int(code))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opnote {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """opnote: does this operative note support CPT 27365, and what is missing?"""


def _split_codes(values: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x for x in v.replace(";", ",").split(",") if x.strip())
    return [x.strip() for x in out]


def _jsonl_job(n: int, line: str, icd10: list[str]):
    """One JSON-lines record ``{"id": ..., "text": ..., "icd10": [...]}`` as a NoteJob (ValueError if bad)."""
    from .batch import NoteJob

    obj = json.loads(line)
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise ValueError("needs an object with a string field 'text'")
    codes = obj.get("icd10") or icd10
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ValueError("'icd10' must be a code or a list of codes")
    nid = obj.get("id", n)
    return NoteJob(source=str(nid), text=obj["text"], icd10=list(codes), id=nid)


def _jsonl_id(line: str):
    """The "id" of a JSON-lines record that could not be used, when it has one."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj.get("id") if isinstance(obj, dict) else None


def _stdin_head() -> bytes:
    """Read standard input up to and including its first non-blank line (to tell JSON lines from a note)."""
    head = b""
    while True:
        line = sys.stdin.buffer.readline()
        head += line
        if not line or line.strip():
            return head


def _is_jsonl(in_fmt: InFmt, head: bytes) -> bool:
    return in_fmt == InFmt.jsonl or (in_fmt == InFmt.auto and head.lstrip().startswith(b"{"))


def _stdin_jobs(in_fmt: InFmt, icd10: list[str], head: bytes = b""):
    from .batch import NoteJob

    data = head + sys.stdin.buffer.read()
    if not _is_jsonl(in_fmt, data):
        return [NoteJob(source="<stdin>", data=data, icd10=icd10)], []
    jobs, problems = [], []
    # Split on "\n" only: JSON text may hold a raw U+2028 or form feed, which str.splitlines would cut.
    for n, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            continue
        src = f"<stdin>:{n}"
        try:
            jobs.append(_jsonl_job(n, line, icd10))
        except ValueError as e:
            jobs.append(NoteJob(source=src, text=None, id=n, icd10=[]))
            problems.append((len(jobs) - 1, f"{src}: not a JSON note record ({e})"))
    return jobs, problems


def _error_record(source: str, nid, line: int | None, error: str, error_type: str | None) -> str:
    import re

    m = re.match(r"\[(E\d+)\]\s*", error)
    rec = {"schema_version": "1", "source": source, "id": nid, "line": line,
           "error": {"code": m.group(1) if m else "E100", "type": error_type or "InputError", "message": error[m.end():] if m else error}}
    return json.dumps(rec, ensure_ascii=False) + "\n"


def _stream_jsonl(head: bytes, codes: list[str], *, model, code: str, max_bytes: int, jobs: int) -> int:
    """``check - --format jsonl`` on JSON lines: one output line per input record, in input order.

    A record that cannot be read or checked gives an error line ``{"source", "id", "line",
    "error": {"code", "type", "message"}}`` in its place; the other records are still checked.
    With one job each line is checked and written (and flushed) as soon as it is read, so a
    program can feed notes one at a time through a pipe.
    """
    from itertools import chain

    from .batch import check_job, run_jobs
    from .errors import OpnoteError
    from .render import render

    def records():
        for n, raw in enumerate(chain(_io.BytesIO(head), sys.stdin.buffer), 1):  # lines end at b"\n" only
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                continue
            try:
                yield n, _jsonl_job(n, line, codes), None
            except ValueError as e:
                yield n, _jsonl_id(line), f"<stdin>:{n}: not a JSON note record ({e})"

    def emit(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    try:
        checker = None
        if jobs <= 1:
            from .api import Checker

            checker = Checker(model, code=code, max_bytes=max_bytes)
    except OpnoteError as e:
        raise _fail(str(e), ExitCode.INTERNAL)

    def results():
        # A record that could not be read carries its "id" (or None) in place of a job.
        if checker is not None:
            for n, job, problem in records():
                yield n, job, problem, (check_job(checker, job) if problem is None else None)
            return
        recs = list(records())
        done = iter(run_jobs([j for _, j, p in recs if p is None], n_jobs=jobs, model=str(model) if model else None, code=code, max_bytes=max_bytes))
        for n, job, problem in recs:
            yield n, job, problem, (next(done) if problem is None else None)

    n_records = n_failed = 0
    all_ready = True
    internal = False  # a record failed on a bug, not on its input: exit 3
    try:
        for n, job, problem, res in results():
            n_records += 1
            if problem is not None:
                n_failed += 1
                _err(problem)
                emit(_error_record(f"<stdin>:{n}" if job is None else str(job), job, n, problem, "InputError"))
            elif not res.ok:
                n_failed += 1
                internal = internal or res.error_type == "InternalError"
                _err(res.error or "failed")
                emit(_error_record(job.source, job.id, n, res.error or "failed", res.error_type))
            else:
                all_ready = all_ready and res.report.verdict == "ready"
                emit(render(res.report, "jsonl"))
    except BrokenPipeError:
        # The reader went away (e.g. `| head -1`): stop quietly, as other pipe tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.GAPS)
    if n_records == 0:
        _err("no notes on standard input")
        return int(ExitCode.USAGE)
    if n_failed:
        sys.stderr.write(f"opnote: {n_failed} of {n_records} record(s) could not be checked\n")
        return int(ExitCode.INTERNAL if internal else ExitCode.USAGE)
    return int(ExitCode.READY if all_ready else ExitCode.GAPS)


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.n, self.enabled = total, 0, enabled and total > 1

    def step(self, _res=None) -> None:
        self.n += 1
        if self.enabled:
            width = 30
            done = int(width * self.n / self.total)
            sys.stderr.write(f"\r  checking notes [{'#' * done}{'.' * (width - done)}] {self.n}/{self.total}")
            sys.stderr.flush()

    def clear(self) -> None:
        # wipe the bar's line so a message printed mid-batch starts at column 0
        if self.enabled:
            sys.stderr.write("\r\x1b[K")

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


@app.command("check")
def check_cmd(
    paths: List[str] = typer.Argument(..., help="Note files, folders of notes, globs, or - for standard input."),
    icd10: Optional[List[str]] = typer.Option(None, "--icd10", help="ICD-10-CM code(s) on the claim; repeat or separate with commas."),
    fmt: Fmt = typer.Option(Fmt.text, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write one report per note (plus summary.csv, and index.html for html) into this folder."),
    code: str = typer.Option("27365", "--code", help="CPT code whose checklist to apply (27365, 27645)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes for a batch."),
    max_bytes: int = typer.Option(2 * 1024 * 1024, "--max-bytes", min=1, help="Largest note accepted, in bytes."),
    model: Optional[Path] = typer.Option(None, "--model", help="A saved pipeline folder (default: built from the package's rules)."),
    input_format: InFmt = typer.Option(InFmt.auto, "--input-format", help="For '-': one note (text) or JSON lines {id, text, icd10} (jsonl); auto looks for a leading '{'."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Colour the text report (default: when writing to a terminal)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
) -> None:
    """Check notes and report the documentation gaps.

    Exit status: 0 all ready, 1 gaps found, 2 usage or input error, 3 internal error.
    """
    from . import rules as rule_files
    from .batch import NoteJob, jobs_from_paths, run_jobs, safe_name, write_atomic
    from .coding import validate_claim_codes
    from .errors import CodeError, OpnoteError, RuleFileError
    from .io import expand_paths
    from .render import SUFFIX, render

    try:
        rule_files.checklist(code)
    except RuleFileError as e:
        raise _fail(str(e))
    codes = _split_codes(icd10)
    try:
        codes = validate_claim_codes(codes) if codes else []
    except CodeError as e:
        raise _fail(f"--icd10: {e}")

    problems: list[tuple[str, str]] = []
    if paths == ["-"]:
        head = _stdin_head()
        if fmt == Fmt.jsonl and out is None and _is_jsonl(input_format, head):
            raise typer.Exit(_stream_jsonl(head, codes, model=model, code=code, max_bytes=max_bytes, jobs=jobs))
        job_list, stdin_problems = _stdin_jobs(input_format, codes, head)
    else:
        if "-" in paths:
            raise _fail("'-' (standard input) cannot be mixed with paths")
        expanded, problems = expand_paths(paths)
        job_list, stdin_problems = jobs_from_paths(expanded, codes), []
    bad_records = {i: msg for i, msg in stdin_problems}
    for path, msg in problems:
        _err(msg)  # the message names the folder or pattern
    if not job_list:
        raise typer.Exit(int(ExitCode.USAGE))
    if len(job_list) > 1 and out is None and fmt in (Fmt.html, Fmt.markdown, Fmt.fhir):
        raise _fail(f"--format {fmt.value} with several notes needs --out DIR")

    if color is None:
        color = sys.stdout.isatty() and out is None
    keep_text = fmt in (Fmt.html, Fmt.markdown, Fmt.fhir)
    progress = _Progress(len(job_list), sys.stderr.isatty())
    try:
        from .api import Checker

        checker = Checker(model, code=code, max_bytes=max_bytes) if jobs <= 1 else None
    except OpnoteError as e:
        raise _fail(str(e), ExitCode.INTERNAL)

    ordered = [j for i, j in enumerate(job_list) if i not in bad_records]
    results_iter = run_jobs(ordered, checker=checker, n_jobs=jobs, model=str(model) if model else None, code=code, max_bytes=max_bytes, keep_text=keep_text, on_result=progress.step)

    failures: list[tuple[str, str]] = [(job_list[i].source, msg) for i, msg in bad_records.items()]
    for _, msg in failures:
        _err(msg)
    failures += problems  # folders and patterns without notes: also listed at the end and in summary.csv
    internal = False  # a note failed on a bug, not on its input: exit 3
    rows: list[dict] = [{"file": src, "error": msg} for src, msg in failures]
    used: set[str] = set()
    verdicts: list[str] = []
    many = len(job_list) > 1
    first_json = True
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == Fmt.json and many and out is None:
            sys.stdout.write("[\n")
        for res in results_iter:
            if not res.ok:
                progress.clear()
                _err(res.error or "failed")
                if debug and res.detail:
                    sys.stderr.write(res.detail)
                internal = internal or res.error_type == "InternalError"
                failures.append((res.job.source, res.error or ""))
                rows.append({"file": res.job.source, "error": res.error})
                continue
            rep = res.report
            verdicts.append(rep.verdict)
            row = {"file": res.job.source, "id": res.job.id, "score": rep.score, "verdict": rep.verdict, "error": ""}
            for it in rep.checklist:
                row[it.id] = it.status
            if out is not None:
                name = safe_name(res.job.source, used) + SUFFIX[fmt.value]
                write_atomic(out / name, render(rep, fmt.value, text=res.text))
                row["report"] = name
            elif fmt == Fmt.json and many:
                sys.stdout.write(("" if first_json else ",\n") + render(rep, "json").rstrip("\n"))
                first_json = False
            else:
                sys.stdout.write(render(rep, fmt.value, text=res.text, color=bool(color)))
                if fmt == Fmt.text and many:
                    sys.stdout.write("\n")
            rows.append(row)
        if fmt == Fmt.json and many and out is None:
            sys.stdout.write("\n]\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as the JSON-lines stream does.
        progress.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(int(ExitCode.GAPS))
    except OpnoteError as e:
        progress.close()
        raise _fail(str(e), ExitCode.INTERNAL)
    except Exception as e:  # noqa: BLE001
        progress.close()
        if debug:
            raise
        raise _fail(f"internal error ({type(e).__name__}); rerun with --debug for details", ExitCode.INTERNAL)
    progress.close()
    sys.stdout.flush()

    if out is not None:
        _write_summary(out, rows, code)
        if fmt == Fmt.html:
            from .render.html import render_index

            write_atomic(out / "index.html", render_index(rows, code=code))
        sys.stderr.write(f"opnote: wrote {len(rows) - len(failures)} report(s) to {out}" + (f"; {len(failures)} note(s) failed" if failures else "") + "\n")
    if failures:
        if many:
            sys.stderr.write(f"opnote: {len(failures)} of {len(job_list) + len(problems)} note(s) could not be checked:\n")
            for src, msg in failures:
                sys.stderr.write(f"  {msg}\n" if src in msg else f"  {src}: {msg}\n")  # messages name their file
        raise typer.Exit(int(ExitCode.INTERNAL if internal else ExitCode.USAGE))
    if problems:
        raise typer.Exit(int(ExitCode.USAGE))
    raise typer.Exit(int(ExitCode.READY if all(v == "ready" for v in verdicts) else ExitCode.GAPS))


ITEM_IDS = ["tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging", "pathology", "diagnosis_code", "reconstruction", "informed_consent"]


def _write_summary(out: Path, rows: list[dict], code: str) -> None:
    from .batch import write_atomic

    buf = _io.StringIO()
    fields = ["file", "id", "score", "verdict"] + ITEM_IDS + ["report", "error"]
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    write_atomic(out / "summary.csv", buf.getvalue())


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the report."""
    from .schema import report_json_schema

    typer.echo(json.dumps(report_json_schema(), indent=2))


@app.command("checklist")
def checklist_cmd(
    code: str = typer.Argument("27365", help="CPT code."),
    fmt: EvalFmt = typer.Option(EvalFmt.text, "--format", "-f"),
) -> None:
    """Print a CPT code's documentation checklist (items, why each matters, sources)."""
    from . import rules as rule_files
    from .errors import RuleFileError

    try:
        cl = rule_files.checklist(code)
    except RuleFileError as e:
        raise _fail(str(e))
    if fmt == EvalFmt.json:
        typer.echo(json.dumps(cl.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"CPT {cl.code} (checklist v{cl.version}): {cl.title}")
    typer.echo(f"  {cl.descriptor_note}")
    for i, it in enumerate(cl.items, 1):
        typer.echo(f"\n{i}. {it.title} [{it.id}, {it.severity}, weight {it.weight}]")
        typer.echo(f"   met when: {it.satisfied_by}")
        typer.echo(f"   why: {it.why}")
        typer.echo(f"   dictate: {it.suggestion}")
        typer.echo(f"   source: {it.source}")


@app.command("evaluate")
def evaluate_cmd(
    directory: Path = typer.Argument(..., help="Folder of notes with NAME.expected.json gold files (searched recursively)."),
    fmt: EvalFmt = typer.Option(EvalFmt.text, "--format", "-f"),
    min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy", min=0.0, max=1.0, help="Exit 1 when overall checklist-item accuracy is below this."),
    model: Optional[Path] = typer.Option(None, "--model", help="A saved pipeline folder."),
    perturb: bool = typer.Option(False, "--perturb", help="Also rewrite every gold note (layout, spelling, dictation; side, procedure, consent, ...) and report, per rewrite, how many notes behave as they must."),
    show_heldout_misses: bool = typer.Option(False, "--show-heldout-misses", help="List held-out misses too (for a final audit; never tune rules on them)."),
) -> None:
    """Measure accuracy against gold labels: held-out first, per item, verdict, attributes, dev misses."""
    from .evaluate import evaluate_dir, format_text, public_result

    if not directory.is_dir():
        raise _fail(f"{directory}: not a directory")
    result = evaluate_dir(directory, model=model)
    if result["n_notes"] == 0:
        raise _fail(f"{directory}: no notes with .expected.json gold files")
    pert = None
    if perturb:
        from .perturb import format_perturbation, run_perturbations

        pert = run_perturbations(directory, model=model)
    if fmt == EvalFmt.json:
        out = public_result(result, show_heldout_misses=show_heldout_misses)
        if pert is not None:
            out["perturbation"] = pert
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(format_text(result, show_heldout_misses=show_heldout_misses))
        if pert is not None:
            typer.echo("")
            typer.echo(format_perturbation(pert))
    if min_accuracy is not None and result["overall"]["item_accuracy"] < min_accuracy:
        _err(f"item accuracy {result['overall']['item_accuracy']:.3f} is below --min-accuracy {min_accuracy}")
        raise typer.Exit(1)


@app.command("build")
def build_cmd(
    out: Path = typer.Option(Path("models") / "opnote_27365", "--out", "-o", help="Folder to write the pipeline to."),
) -> None:
    """Assemble the pipeline from the rule files and save it with nlp.to_disk."""
    from .pipeline import build_nlp

    nlp = build_nlp()
    nlp.to_disk(out)
    typer.echo(f"wrote {out} ({', '.join(nlp.pipe_names)})")


@app.command("spark")
def spark_cmd(
    input_path: str = typer.Argument(..., metavar="INPUT", help="Notes: a Parquet file or folder, JSON lines (.jsonl), or CSV with a header row."),
    output_path: str = typer.Argument(..., metavar="OUTPUT", help="Folder to write the results to, as Parquet."),
    master: Optional[str] = typer.Option(None, "--master", help="Spark master URL, passed unchanged (local[*], spark://host:7077, yarn, k8s://...); default: what spark-submit set, else local[*]."),
    text_col: str = typer.Option("text", "--text-col", help="Column with the note text (string or binary)."),
    id_col: str = typer.Option("id", "--id-col", help="Column with the note id, copied to the output ('' to number the rows)."),
    icd10_col: Optional[str] = typer.Option(None, "--icd10-col", help="Column with the claim's ICD-10-CM codes (array, or comma-separated string)."),
    code: str = typer.Option("27365", "--code", help="CPT code whose checklist to apply (27365, 27645)."),
    input_format: str = typer.Option("auto", "--input-format", help="auto (by extension), parquet, jsonl or csv."),
    partitions: Optional[int] = typer.Option(None, "--partitions", min=1, help="Repartition the notes into this many tasks (default: at least one per core)."),
    max_bytes: int = typer.Option(2 * 1024 * 1024, "--max-bytes", min=1, help="Largest note accepted (bytes, or characters for a text column)."),
    model: Optional[str] = typer.Option(None, "--model", help="A saved pipeline folder every worker can read (default: built from the package's rules)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
) -> None:
    """Check a table of notes on Apache Spark and write one result row per note (needs the spark extra)."""
    from .errors import OpnoteError

    try:
        from . import spark as _spark

        status = _spark.run(input_path, output_path, master=master, text_col=text_col, id_col=id_col, icd10_col=icd10_col, code=code, input_format=input_format, model=model, max_bytes=max_bytes, partitions=partitions, overwrite=overwrite)
    except ImportError as e:
        raise _fail(str(e), ExitCode.INTERNAL)
    except (ValueError, OpnoteError) as e:
        raise _fail(str(e))
    raise typer.Exit(status)


def main() -> None:
    """Console-script entry point."""
    from . import _compat

    _compat.COMMAND_LINE = True  # this process is opnote's own (see _compat)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("opnote: interrupted\n")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - an uncaught bug exits 3 with one line, not a traceback (and not 1, "gaps")
        if "--debug" in sys.argv[1:]:
            import traceback

            traceback.print_exc()
        else:
            sys.stderr.write(f"opnote: error: [E900] internal error ({type(e).__name__}); rerun with --debug for the traceback\n")
        sys.exit(int(ExitCode.INTERNAL))
