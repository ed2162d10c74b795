"""Reading notes and writing results for :mod:`opnote.spark`: what ``opnote spark`` runs on the driver."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .driver import check_notes, session

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

INPUT_FORMATS = ("auto", "parquet", "jsonl", "csv")
_REMOTE = ("hdfs:", "s3a:", "s3:", "gs:", "abfs:", "abfss:", "wasb:", "dbfs:")


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


def read_notes(spark: SparkSession, path: str, input_format: str = "auto") -> DataFrame:
    """Read notes from Parquet, JSON lines (one object per line) or CSV (header row, quoted multi-line fields)."""
    fmt = detect_format(path) if input_format == "auto" else input_format
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "jsonl":
        return spark.read.json(path, mode="PERMISSIVE")
    if fmt == "csv":
        return spark.read.csv(path, header=True, multiLine=True, escape='"', mode="PERMISSIVE")
    raise ValueError(f"unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}")


def _check_paths(input_path: str, output_path: str, input_format: str, overwrite: bool) -> str:
    """Usage errors found before Spark starts; the input format."""
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}")
    remote = input_path.startswith((*_REMOTE, "file:"))
    if not remote and not any(ch in input_path for ch in "*?[") and not Path(input_path).exists():
        raise ValueError(f"{input_path}: no such file or folder")
    if not output_path.startswith(_REMOTE) and Path(output_path).exists() and not overwrite:
        raise ValueError(f"{output_path}: already exists (pass --overwrite to replace it)")
    return detect_format(input_path) if input_format == "auto" else input_format


def _spread(df: DataFrame, partitions: int | None) -> DataFrame:
    if partitions:
        return df.repartition(partitions)
    # One small file is one partition, which would use one core: spread it over all of them.
    par = df.sparkSession.sparkContext.defaultParallelism
    return df.repartition(par) if df.rdd.getNumPartitions() < par else df


def _summarise(spark: SparkSession, input_path: str, output_path: str, log: Callable[[str], None]) -> int:
    """Log what was written; the exit status (0 all ready, 1 gaps, 2 notes not checked or none)."""
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


def _log(msg: str) -> None:
    sys.stderr.write(f"opnote: {msg}\n")


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
    log: Callable[[str], None] | None = None,
) -> int:
    """``opnote spark``: read notes, check them on Spark, write Parquet. Returns the exit status.

    0 every note is ready; 1 some notes have gaps; 2 some notes could not be checked (their rows
    are in the output with ``error`` set) or a usage error; the same scheme as ``opnote check``.
    """
    fmt = _check_paths(input_path, output_path, input_format, overwrite)
    conf = {"spark.ui.showConsoleProgress": "true" if sys.stderr.isatty() else "false"}
    if master is None or master.startswith("local"):
        conf["spark.log.level"] = "ERROR"
    spark = session(master, conf=conf)
    df = _spread(read_notes(spark, input_path, fmt), partitions)
    result = check_notes(df, text_col=text_col, id_col=id_col or None, icd10_col=icd10_col, code=code, model=model, max_bytes=max_bytes)
    result.write.mode("overwrite" if overwrite else "errorifexists").parquet(output_path)
    return _summarise(spark, input_path, output_path, log or _log)
