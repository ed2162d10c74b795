"""The driver side of :mod:`opnote.spark`: the session and the DataFrame plan (nothing here runs on a worker)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sinks import item_ids
from .worker import _Params, _PartitionChecker, result_columns

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

INSTALL_HINT = "pip install 'opnote[spark]'"


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


def session(master: str | None = None, app_name: str = "opnote", conf: dict[str, str] | None = None) -> SparkSession:
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


def check_notes(
    df: DataFrame,
    text_col: str = "text",
    id_col: str | None = "id",
    icd10_col: str | None = None,
    code: str = "27365",
    *,
    model: str | Path | None = None,
    max_bytes: int | None = None,
) -> DataFrame:
    """Check every note in ``df``; return one row per input row.

    Columns: the id (``id_col``, same type; when ``id_col`` is None an ``id`` is made with
    ``monotonically_increasing_id``), ``score`` (int), ``verdict``, one status column per checklist
    item of the checklist (:func:`~opnote.spark.worker.result_columns`), ``advisories`` (array of ``"kind:code"``, or ``"kind"`` when the
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
    from .. import rules as rule_files
    from ..io import DEFAULT_MAX_BYTES

    rule_files.checklist(code)  # an unknown code fails here, on the driver
    df, id_col = _with_id(df, text_col, id_col, icd10_col, code)
    params = _Params(
        text_col=text_col,
        id_col=id_col,
        icd10_col=icd10_col,
        code=code,
        model=str(model) if model is not None else None,
        max_bytes=int(max_bytes or DEFAULT_MAX_BYTES),
        binary=_text_is_binary(df, text_col),
        icd10_is_array=_codes_are_array(df, icd10_col),
    )
    needed = [id_col, text_col] + ([icd10_col] if icd10_col and icd10_col not in (id_col, text_col) else [])
    return df.select(*needed).mapInPandas(_PartitionChecker(params), _result_schema(df, id_col, params.code))


def _with_id(df: DataFrame, text_col: str, id_col: str | None, icd10_col: str | None, code: str = "27365") -> tuple[DataFrame, str]:
    """Check the column names; number the rows when there is no id column."""
    from pyspark.sql import functions as F

    cols = df.columns
    if text_col not in cols:
        raise ValueError(f"no text column {text_col!r}; the DataFrame has {cols}")
    if icd10_col is not None and icd10_col not in cols:
        raise ValueError(f"no ICD-10 column {icd10_col!r}; the DataFrame has {cols}")
    if id_col is None:
        if "id" in cols:
            raise ValueError("id_col=None but the DataFrame already has a column 'id': pass id_col='id'")
        return df.withColumn("id", F.monotonically_increasing_id()), "id"
    if id_col not in cols:
        raise ValueError(f"no id column {id_col!r}; the DataFrame has {cols}")
    if id_col in result_columns(code):
        raise ValueError(f"the id column may not be called {id_col!r} (an output column has that name)")
    return df, id_col


def _text_is_binary(df: DataFrame, text_col: str) -> bool:
    from pyspark.sql import types as T

    text_type = df.schema[text_col].dataType
    if isinstance(text_type, (T.BinaryType, T.StringType)):
        return isinstance(text_type, T.BinaryType)
    raise ValueError(f"text column {text_col!r} must be string or binary, not {text_type.simpleString()}")


def _codes_are_array(df: DataFrame, icd10_col: str | None) -> bool:
    from pyspark.sql import types as T

    if icd10_col is None:
        return False
    it = df.schema[icd10_col].dataType
    if isinstance(it, T.ArrayType) and isinstance(it.elementType, T.StringType):
        return True
    if not isinstance(it, T.StringType):
        raise ValueError(f"ICD-10 column {icd10_col!r} must be a string or an array of strings, not {it.simpleString()}")
    return False


def _result_schema(df: DataFrame, id_col: str, code: str = "27365") -> Any:
    from pyspark.sql import types as T

    return T.StructType(
        [T.StructField(id_col, df.schema[id_col].dataType, True)]
        + [T.StructField("score", T.IntegerType(), True), T.StructField("verdict", T.StringType(), True)]
        + [T.StructField(i, T.StringType(), True) for i in item_ids(code)]
        + [
            T.StructField("advisories", T.ArrayType(T.StringType(), True), True),
            T.StructField("error", T.StringType(), True),
            T.StructField("error_type", T.StringType(), True),
            T.StructField("report", T.StringType(), True),
        ]
    )


