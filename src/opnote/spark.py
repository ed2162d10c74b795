"""Check operative notes held in a Spark DataFrame (``pip install 'opnote[spark]'``).

>>> from opnote.spark import check_notes, session      # doctest: +SKIP
>>> spark = session("local[2]")                         # doctest: +SKIP
>>> out = check_notes(spark.read.parquet("notes.parquet"), text_col="text", id_col="id")  # doctest: +SKIP

Every note goes through :func:`opnote.batch.check_job` with an :class:`opnote.Checker`, so a row's
``report`` column holds exactly what ``Checker().check(text, source=str(id))`` returns, as JSON.
Notes travel to the Python workers as Arrow batches (``mapInPandas``); each Python worker builds
its pipeline once, on its first batch, and keeps it for every later batch and task (Spark reuses
Python workers by default, ``spark.python.worker.reuse=true``).

A note that cannot be checked (null, empty, too large, undecodable bytes, a bad ICD-10 code)
gives a row with ``error`` set and no report; the job goes on. Error messages name the row's id,
never the note's text.

pyspark is imported only inside functions, so ``import opnote.spark`` works without the extra
and every entry point raises :class:`SparkNotInstalledError` with the install command. This file
also runs as a script, for ``spark-submit``: its arguments are those of ``opnote spark``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["check_notes", "session", "read_notes", "run", "SparkNotInstalledError", "ITEM_IDS", "RESULT_COLUMNS"]

#: The checklist item ids, one status column each (the same for 27365 and 27645).
ITEM_IDS = [
    "tumor_location",
    "margin_intent",
    "resection_dimensions",
    "frozen_section",
    "preop_imaging",
    "pathology",
    "diagnosis_code",
    "reconstruction",
    "informed_consent",
]
#: Output columns after the id column, in order.
RESULT_COLUMNS = ["score", "verdict", *ITEM_IDS, "advisories", "error", "error_type", "report"]
INSTALL_HINT = "pip install 'opnote[spark]'"
INPUT_FORMATS = ("auto", "parquet", "jsonl", "csv")
#: Rows checked between two output batches: bounds a worker's memory whatever the Arrow batch size.
CHUNK_ROWS = 256


class SparkNotInstalledError(ImportError):
    """pyspark (or pyarrow/pandas) is not installed, or there is no Java runtime."""


def _require_spark() -> None:
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as e:
        raise SparkNotInstalledError(
            f"opnote.spark needs the spark extra ({e.name or 'pyspark'} is not installed): {INSTALL_HINT}"
        ) from None


def _require_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return
    if shutil.which("java") is None:
        raise SparkNotInstalledError("Spark needs a Java runtime (17 or later): install one or set JAVA_HOME")


# --------------------------------------------------------------------------------------------
# Driver side
# --------------------------------------------------------------------------------------------
def session(master: str | None = None, app_name: str = "opnote", conf: dict[str, str] | None = None) -> "SparkSession":
    """Get (or create) a SparkSession whose Python workers run this interpreter.

    ``master`` is passed to Spark unchanged (``local[2]``, ``spark://host:7077``, ``yarn``,
    ``k8s://...``); ``None`` keeps what ``spark-submit`` set, or ``local[*]``. Unless
    ``PYSPARK_PYTHON`` is already set, it is set to ``sys.executable`` so the workers can import
    opnote (Spark would otherwise start ``python3`` from PATH). On a cluster, that path must exist
    on every node, or set ``PYSPARK_PYTHON`` / ``spark.pyspark.python`` yourself.
    """
    _require_spark()
    _require_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for k, v in (conf or {}).items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


@dataclass(frozen=True)
class _Params:
    """What a worker needs to check one partition (pickled once per task)."""

    text_col: str
    id_col: str
    icd10_col: str | None
    code: str
    model: str | None
    max_bytes: int
    binary: bool
    icd10_is_array: bool


def check_notes(
    df: "DataFrame",
    text_col: str = "text",
    id_col: str | None = "id",
    icd10_col: str | None = None,
    code: str = "27365",
    *,
    model: str | Path | None = None,
    max_bytes: int | None = None,
) -> "DataFrame":
    """Check every note in ``df``; return one row per input row.

    Columns: the id (``id_col``, same type; when ``id_col`` is None an ``id`` is made with
    ``monotonically_increasing_id``), ``score`` (int), ``verdict``, one status column per checklist
    item (:data:`ITEM_IDS`), ``advisories`` (array of ``"kind:code"``, or ``"kind"`` when the
    advisory has no code), ``error`` and ``error_type`` (null when the note was checked), and
    ``report``: ``json.dumps(report.model_dump(mode="json"))``, null when ``error`` is set.

    ``text_col`` may be a string or a binary column (bytes are decoded as ``opnote check`` does:
    UTF-8, UTF-16 with a BOM, else Windows-1252). ``icd10_col``, if given, holds the claim's
    ICD-10-CM codes: an array of strings, or one string separated by commas or semicolons.
    ``model`` is a saved pipeline folder that every worker can read (default: built from the
    package's rules on each worker). Rows keep their partitions; the result is lazy like any
    DataFrame.
    """
    _require_spark()
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from opnote import rules as rule_files
    from opnote.io import DEFAULT_MAX_BYTES

    rule_files.checklist(code)  # an unknown code fails here, on the driver
    cols = df.columns
    if text_col not in cols:
        raise ValueError(f"no text column {text_col!r}; the DataFrame has {cols}")
    if id_col is None:
        id_col = "id"
        if id_col in cols:
            raise ValueError("id_col=None but the DataFrame already has a column 'id': pass id_col='id'")
        df = df.withColumn(id_col, F.monotonically_increasing_id())
    elif id_col not in cols:
        raise ValueError(f"no id column {id_col!r}; the DataFrame has {cols}")
    if id_col in RESULT_COLUMNS:
        raise ValueError(f"the id column may not be called {id_col!r} (an output column has that name)")
    if icd10_col is not None and icd10_col not in cols:
        raise ValueError(f"no ICD-10 column {icd10_col!r}; the DataFrame has {cols}")

    fields = {f.name: f for f in df.schema.fields}
    text_type = fields[text_col].dataType
    if isinstance(text_type, T.BinaryType):
        binary = True
    elif isinstance(text_type, T.StringType):
        binary = False
    else:
        raise ValueError(f"text column {text_col!r} must be string or binary, not {text_type.simpleString()}")
    icd10_is_array = False
    if icd10_col is not None:
        it = fields[icd10_col].dataType
        if isinstance(it, T.ArrayType) and isinstance(it.elementType, T.StringType):
            icd10_is_array = True
        elif not isinstance(it, T.StringType):
            raise ValueError(f"ICD-10 column {icd10_col!r} must be a string or an array of strings, not {it.simpleString()}")

    params = _Params(
        text_col=text_col,
        id_col=id_col,
        icd10_col=icd10_col,
        code=code,
        model=str(model) if model is not None else None,
        max_bytes=int(max_bytes or DEFAULT_MAX_BYTES),
        binary=binary,
        icd10_is_array=icd10_is_array,
    )
    needed = [id_col, text_col] + ([icd10_col] if icd10_col and icd10_col not in (id_col, text_col) else [])
    schema = T.StructType(
        [T.StructField(id_col, fields[id_col].dataType if id_col in fields else T.LongType(), True)]
        + [T.StructField("score", T.IntegerType(), True), T.StructField("verdict", T.StringType(), True)]
        + [T.StructField(i, T.StringType(), True) for i in ITEM_IDS]
        + [
            T.StructField("advisories", T.ArrayType(T.StringType(), True), True),
            T.StructField("error", T.StringType(), True),
            T.StructField("error_type", T.StringType(), True),
            T.StructField("report", T.StringType(), True),
        ]
    )
    return df.select(*needed).mapInPandas(_PartitionChecker(params), schema)


class _PartitionChecker:
    """The function ``mapInPandas`` runs: a small picklable object; the Checker stays in the worker."""

    def __init__(self, params: _Params) -> None:
        self.params = params

    def __call__(self, batches: Iterator["pd.DataFrame"]) -> Iterator["pd.DataFrame"]:
        return check_batches(batches, self.params)


# --------------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------------
_CHECKERS: dict[tuple[str | None, str, int], Any] = {}
_CHECKERS_LOCK = threading.Lock()
#: Pipelines built in this process (the worker-reuse test reads it).
BUILDS = 0


def worker_checker(model: str | None, code: str, max_bytes: int) -> Any:
    """The process's Checker for these settings, built on first use and then reused."""
    global BUILDS
    key = (model, code, max_bytes)
    with _CHECKERS_LOCK:
        checker = _CHECKERS.get(key)
        if checker is None:
            from opnote.api import Checker

            checker = Checker(model, code=code, max_bytes=max_bytes)
            _CHECKERS[key] = checker
            BUILDS += 1
        return checker


def _codes(value: Any, is_array: bool) -> list[str]:
    if value is None:
        return []
    if is_array:
        return [str(v).strip() for v in list(value) if v is not None and str(v).strip()]
    if isinstance(value, float):  # a null that went through pandas as NaN
        return []
    return [c.strip() for c in str(value).replace(";", ",").split(",") if c.strip()]


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (bytes, bytearray, str, list)) else False
    except (TypeError, ValueError):
        return False


def _source(row_id: Any) -> str:
    return "<no id>" if _is_null(row_id) else str(row_id)


def check_rows(checker: Any, ids: list[Any], texts: list[Any], codes: list[list[str]], binary: bool) -> dict[str, list[Any]]:
    """Check rows with :func:`opnote.batch.check_job`; return the result columns (not the id)."""
    from opnote.batch import NoteJob, check_job
    from opnote.errors import EmptyNoteError

    out: dict[str, list[Any]] = {c: [] for c in RESULT_COLUMNS}
    for row_id, text, claim in zip(ids, texts, codes):
        source = _source(row_id)
        if _is_null(text):
            err = EmptyNoteError(f"{source}: the note text is null")
            res_report, res_error, res_type = None, str(err), type(err).__name__
        else:
            if binary:
                job = NoteJob(source=source, data=bytes(text), icd10=claim, id=row_id)
            else:
                job = NoteJob(source=source, text=str(text), icd10=claim, id=row_id)
            res = check_job(checker, job)
            res_report, res_error, res_type = res.report, res.error, res.error_type
        if res_report is None:
            for c in RESULT_COLUMNS:
                out[c].append(None)
            out["error"][-1] = res_error or "[E900] note was not checked"
            out["error_type"][-1] = res_type or "InternalError"
            continue
        dumped = res_report.model_dump(mode="json")
        status = {it["id"]: it["status"] for it in dumped["checklist"]}
        out["score"].append(dumped["score"])
        out["verdict"].append(dumped["verdict"])
        for item in ITEM_IDS:
            out[item].append(status.get(item))
        out["advisories"].append([a["kind"] + (f":{a['code']}" if a.get("code") else "") for a in dumped["advisories"]])
        out["error"].append(None)
        out["error_type"].append(None)
        out["report"].append(json.dumps(dumped, ensure_ascii=False, separators=(",", ":")))
    return out


def check_batches(batches: Iterator["pd.DataFrame"], params: _Params) -> Iterator["pd.DataFrame"]:
    """Check pandas batches of notes in a worker (what ``mapInPandas`` calls)."""
    import pandas as pd

    checker = None
    for pdf in batches:
        if checker is None:
            checker = worker_checker(params.model, params.code, params.max_bytes)
        for start in range(0, len(pdf), CHUNK_ROWS):
            part = pdf.iloc[start : start + CHUNK_ROWS]
            ids = part[params.id_col]
            texts = part[params.text_col].tolist()
            if params.icd10_col is not None:
                codes = [_codes(v, params.icd10_is_array) for v in part[params.icd10_col].tolist()]
            else:
                codes = [[] for _ in range(len(part))]
            cols = check_rows(checker, ids.tolist(), texts, codes, params.binary)
            frame = {params.id_col: ids.reset_index(drop=True)}
            frame["score"] = pd.array(cols.pop("score"), dtype="Int32")
            frame.update({k: pd.Series(v, dtype="object") for k, v in cols.items()})
            yield pd.DataFrame(frame, columns=[params.id_col, *RESULT_COLUMNS])


# --------------------------------------------------------------------------------------------
# Files and the command line
# --------------------------------------------------------------------------------------------
_EXT_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}


def detect_format(path: str) -> str:
    """The input format from the path's extension (``.gz``/``.bz2`` ignored); a folder is looked into."""
    p = Path(path)
    if p.is_dir():
        for child in sorted(p.rglob("*")):
            if child.is_file() and not child.name.startswith((".", "_")):
                fmt = _format_of(child.name)
                if fmt:
                    return fmt
        return "parquet"
    fmt = _format_of(p.name)
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the format from the extension; pass --input-format parquet|jsonl|csv")
    return fmt


def _format_of(name: str) -> str | None:
    lower = name.lower()
    for comp in (".gz", ".bz2", ".snappy", ".zst"):
        if lower.endswith(comp):
            lower = lower[: -len(comp)]
    for ext, fmt in _EXT_FORMATS.items():
        if lower.endswith(ext):
            return fmt
    return None


def read_notes(spark: "SparkSession", path: str, input_format: str = "auto") -> "DataFrame":
    """Read notes from Parquet, JSON lines (one object per line) or CSV (header row, quoted multi-line fields)."""
    fmt = detect_format(path) if input_format == "auto" else input_format
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "jsonl":
        return spark.read.json(path, mode="PERMISSIVE")
    if fmt == "csv":
        return spark.read.csv(path, header=True, multiLine=True, escape='"', mode="PERMISSIVE")
    raise ValueError(f"unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}")


def run(
    input_path: str,
    output_path: str,
    *,
    master: str | None = None,
    text_col: str = "text",
    id_col: str = "id",
    icd10_col: str | None = None,
    code: str = "27365",
    input_format: str = "auto",
    model: str | None = None,
    max_bytes: int | None = None,
    partitions: int | None = None,
    overwrite: bool = False,
    log=None,
) -> int:
    """``opnote spark``: read notes, check them on Spark, write Parquet. Returns the exit status.

    0 every note is ready; 1 some notes have gaps; 2 some notes could not be checked (their rows
    are in the output with ``error`` set) or a usage error; the same scheme as ``opnote check``.
    """
    log = log or (lambda msg: sys.stderr.write(f"opnote: {msg}\n"))
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}")
    remote = input_path.startswith(("hdfs:", "s3a:", "s3:", "gs:", "abfs:", "abfss:", "wasb:", "dbfs:", "file:"))
    if not remote and not any(ch in input_path for ch in "*?[") and not Path(input_path).exists():
        raise ValueError(f"{input_path}: no such file or folder")
    if input_format == "auto":
        input_format = detect_format(input_path)
    out_is_local = not output_path.startswith(("hdfs:", "s3a:", "s3:", "gs:", "abfs:", "abfss:", "wasb:", "dbfs:"))
    if out_is_local and Path(output_path).exists() and not overwrite:
        raise ValueError(f"{output_path}: already exists (pass --overwrite to replace it)")

    conf = {"spark.ui.showConsoleProgress": "true" if sys.stderr.isatty() else "false"}
    if master is None or master.startswith("local"):
        conf["spark.log.level"] = "ERROR"
    spark = session(master, conf=conf)
    df = read_notes(spark, input_path, input_format)
    if partitions:
        df = df.repartition(partitions)
    else:
        # One small file is one partition, which would use one core: spread it over all of them.
        par = spark.sparkContext.defaultParallelism
        if df.rdd.getNumPartitions() < par:
            df = df.repartition(par)
    result = check_notes(df, text_col=text_col, id_col=id_col or None, icd10_col=icd10_col, code=code, model=model, max_bytes=max_bytes)
    result.write.mode("overwrite" if overwrite else "errorifexists").parquet(output_path)

    from pyspark.sql import functions as F

    written = spark.read.parquet(output_path)
    counts = {r["verdict"]: r["count"] for r in written.groupBy("verdict").count().collect()}
    failed = counts.pop(None, 0)
    total = failed + sum(counts.values())
    errors = written.where(F.col("error").isNotNull()).groupBy("error_type").count().collect()
    parts = ", ".join(f"{k} {counts.get(k, 0)}" for k in ("ready", "at_risk", "not_supported"))
    log(f"wrote {total} row(s) to {output_path}: {parts}" + (f"; {failed} note(s) could not be checked" if failed else ""))
    for r in errors:
        log(f"  {r['error_type']}: {r['count']}")
    if total == 0:
        log(f"{input_path}: no notes")
        return 2
    if failed:
        return 2
    return 0 if counts.get("ready", 0) == total else 1


if __name__ == "__main__":  # spark-submit .../opnote/spark.py INPUT OUTPUT [options]
    # Run as a file, this folder is sys.path[0]: drop it so opnote's io.py, errors.py, ... cannot
    # shadow top-level modules, and import the package's own copy of this module for the workers.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    from opnote.cli import main as _cli_main

    sys.argv = ["opnote", "spark", *sys.argv[1:]]
    _cli_main()
