"""The ``opnote`` command line.

Exit status: 0 every note is ready; 1 the notes were checked and some have gaps (at risk or not
supported); 2 a usage or input error (a bad option, code or output folder, a note that cannot be
read; in a batch, the other notes are still checked and reported); 3 an internal error (rule
files, model); 130 Ctrl-C, 143 SIGTERM.

Each command only parses its options: ``check`` hands a :class:`~opnote.plan.RunPlan` to
:func:`opnote.plan.execute`, ``spark`` calls :func:`opnote.spark.files.run`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from . import __version__
from .io import DEFAULT_MAX_BYTES
from .plan import DEFAULT_TIMEOUT, ExitCode

app = typer.Typer(
    name="opnote",
    help="Check operative notes against the CPT 27365 documentation checklist and report what is missing.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Fmt(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    markdown = "markdown"
    html = "html"
    fhir = "fhir"


class InFmt(StrEnum):
    auto = "auto"
    text = "text"
    jsonl = "jsonl"


class GroupBy(StrEnum):
    month = "month"
    week = "week"


class EvalFmt(StrEnum):
    text = "text"
    json = "json"


def _err(msg: str) -> None:
    from .console import error

    error(msg)


def _fail(msg: str, code: ExitCode = ExitCode.USAGE) -> typer.Exit:
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


@app.command("check")
def check_cmd(
    paths: list[str] = typer.Argument(..., help="Note files, folders of notes, globs, or - for standard input."),
    icd10: list[str] | None = typer.Option(None, "--icd10", help="ICD-10-CM code(s) on the claim; repeat or separate with commas."),
    fmt: Fmt = typer.Option(Fmt.text, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(
        None, "--out", "-o",
        help="Write one report per note (plus summary.csv, and index.html for html) into this folder: a new or empty one, or an earlier opnote output, which is replaced.",
    ),
    code: str = typer.Option("27365", "--code", help="CPT code whose checklist to apply (27365, 27645)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes for a batch."),
    max_bytes: int = typer.Option(DEFAULT_MAX_BYTES, "--max-bytes", min=1, help="Largest note accepted, in bytes."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", min=0, help="Seconds one note may take before it is given up as an error (0: no limit)."),
    model: Path | None = typer.Option(None, "--model", help="A saved pipeline folder (default: built from the package's rules)."),
    input_format: InFmt = typer.Option(InFmt.auto, "--input-format", help="For '-': one note (text) or JSON lines {id, text, icd10} (jsonl); auto looks for a leading '{'."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="In folders, follow symbolic links that lead outside the folder given."),
    color: bool | None = typer.Option(None, "--color/--no-color", help="Colour the text report (default: when writing to a terminal)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    group_by: GroupBy | None = typer.Option(
        None, "--group-by", help="With --format html --out: index.html also shows the gap rates by month or week of the notes' dates of service.",
    ),
) -> None:
    """Check notes and report the documentation gaps.

    Exit status: 0 all ready, 1 gaps found, 2 usage or input error, 3 internal error.
    """
    from .plan import RunPlan, execute

    plan = RunPlan(
        paths=tuple(paths), icd10=tuple(icd10 or ()), fmt=fmt.value, out=out, code=code, jobs=jobs,
        max_bytes=max_bytes, model=model, input_format=input_format.value, color=color, debug=debug,
        timeout=timeout or None, follow_symlinks=follow_symlinks, group_by=group_by.value if group_by else None,
    )
    raise typer.Exit(int(execute(plan)))


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
        raise _fail(str(e)) from None
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
    min_accuracy: float | None = typer.Option(None, "--min-accuracy", min=0.0, max=1.0, help="Exit 1 when overall checklist-item accuracy is below this."),
    model: Path | None = typer.Option(None, "--model", help="A saved pipeline folder."),
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
    master: str | None = typer.Option(None, "--master", help="Spark master URL, passed unchanged (local[*], spark://host:7077, yarn, k8s://...); default: what spark-submit set, else local[*]."),
    text_col: str = typer.Option("text", "--text-col", help="Column with the note text (string or binary)."),
    id_col: str = typer.Option("id", "--id-col", help="Column with the note id, copied to the output ('' to number the rows)."),
    icd10_col: str | None = typer.Option(None, "--icd10-col", help="Column with the claim's ICD-10-CM codes (array, or comma-separated string)."),
    code: str = typer.Option("27365", "--code", help="CPT code whose checklist to apply (27365, 27645)."),
    input_format: str = typer.Option("auto", "--input-format", help="auto (by extension), parquet, jsonl or csv."),
    partitions: int | None = typer.Option(None, "--partitions", min=1, help="Repartition the notes into this many tasks (default: at least one per core)."),
    max_bytes: int = typer.Option(2 * 1024 * 1024, "--max-bytes", min=1, help="Largest note accepted (bytes, or characters for a text column)."),
    model: str | None = typer.Option(None, "--model", help="A saved pipeline folder every worker can read (default: built from the package's rules)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
) -> None:
    """Check a table of notes on Apache Spark and write one result row per note (needs the spark extra)."""
    from .errors import OpnoteError

    try:
        from .spark.files import run

        status = run(
            input_path, output_path, master=master, text_col=text_col, id_col=id_col, icd10_col=icd10_col, code=code,
            input_format=input_format, model=model, max_bytes=max_bytes, partitions=partitions, overwrite=overwrite,
        )
    except ImportError as e:
        raise _fail(str(e), ExitCode.INTERNAL) from None
    except (ValueError, OpnoteError) as e:
        raise _fail(str(e)) from None
    raise typer.Exit(status)


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only; 0.0.0.0 for every interface, then use --token)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    token: str | None = typer.Option(None, "--token", envvar="OPNOTE_SERVE_TOKEN", show_envvar=True, help="Bearer token every /v1 request must carry (better set in the environment variable than on the command line)."),
    max_bytes: int = typer.Option(256 * 1024, "--max-bytes", min=1, help="Largest request body, and so largest note, in bytes."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.01, help="Seconds one request may take before it is answered with an error (503)."),
    session_ttl: float = typer.Option(900.0, "--session-ttl", min=1, help="Seconds a live session is kept after its last use; then its note is forgotten."),
    max_sessions: int = typer.Option(64, "--max-sessions", min=1, help="Most live sessions open at once."),
    code: str = typer.Option("27365", "--code", help="CPT code whose checklist to apply by default (27365, 27645)."),
    model: Path | None = typer.Option(None, "--model", help="A saved pipeline folder (default: built from the package's rules)."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log one line per request (method, path, status; never the note or a query string)."),
    debug: bool = typer.Option(False, "--debug", help="Print tracebacks of internal errors (they can quote note text)."),
) -> None:
    """Serve the checker over HTTP, with live sessions and a live page at / (needs the serve extra).

    See docs/live.md. Stops on Ctrl-C.
    """
    from .errors import OpnoteError
    from .serve import ServeNotInstalledError, Settings, require, run

    try:
        require()
    except ServeNotInstalledError as e:
        raise _fail(str(e), ExitCode.INTERNAL) from None
    settings = Settings(
        host=host, port=port, token=token or None, max_bytes=max_bytes, timeout=timeout, session_ttl=session_ttl,
        max_sessions=max_sessions, code=code, model=model, access_log=access_log, debug=debug,
    )
    try:
        run(settings)
    except OSError as e:
        raise _fail(f"cannot listen on {host}:{port} ({e.strerror or type(e).__name__})") from None
    except OpnoteError as e:
        raise _fail(str(e), ExitCode.INTERNAL if e.code in ("E300", "E301") else ExitCode.USAGE) from None


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
