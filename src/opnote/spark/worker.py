"""The worker side of :mod:`opnote.spark`: what ``mapInPandas`` runs in Spark's Python workers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..sinks import item_ids

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pandas.api.extensions import ExtensionArray

    from ..jobs import NoteResult

__all__ = ["ITEM_IDS", "RESULT_COLUMNS", "check_batches", "check_rows", "result_columns", "worker_checker"]


def result_columns(code: str = "27365") -> list[str]:
    """Output columns after the id column, in order: one status column per item of ``code``'s checklist."""
    return ["score", "verdict", *item_ids(code), "advisories", "error", "error_type", "report"]


#: The item columns and all result columns of the default checklist (read from its file).
ITEM_IDS = item_ids()
RESULT_COLUMNS = result_columns()
#: Rows checked between two output batches: bounds a worker's memory whatever the Arrow batch size.
CHUNK_ROWS = 256


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


class _PartitionChecker:
    """The function ``mapInPandas`` runs: a small picklable object; the Checker stays in the worker."""

    def __init__(self, params: _Params) -> None:
        self.params = params

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return check_batches(batches, self.params)


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
            from ..api import Checker

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


def _check_row(checker: Any, row_id: Any, text: Any, claim: list[str], binary: bool) -> NoteResult:
    from ..errors import EmptyNoteError
    from ..jobs import NoteJob, NoteResult, check_job

    source = _source(row_id)
    if _is_null(text):
        err = EmptyNoteError(f"{source}: the note text is null")
        return NoteResult(job=NoteJob(source=source, id=row_id), error=str(err), error_type=type(err).__name__)
    if binary:
        return check_job(checker, NoteJob(source=source, data=bytes(text), icd10=claim, id=row_id))
    return check_job(checker, NoteJob(source=source, text=str(text), icd10=claim, id=row_id))


def _append(out: dict[str, list[Any]], res: NoteResult) -> None:
    if res.report is None:
        for c in out:
            out[c].append(None)
        out["error"][-1] = res.error or "[E900] note was not checked"
        out["error_type"][-1] = res.error_type or "InternalError"
        return
    dumped = res.report.model_dump(mode="json")
    status = {it["id"]: it["status"] for it in dumped["checklist"]}
    out["score"].append(dumped["score"])
    out["verdict"].append(dumped["verdict"])
    for item in status:
        if item in out:
            out[item].append(status[item])
    out["advisories"].append([a["kind"] + (f":{a['code']}" if a.get("code") else "") for a in dumped["advisories"]])
    out["error"].append(None)
    out["error_type"].append(None)
    out["report"].append(json.dumps(dumped, ensure_ascii=False, separators=(",", ":")))


def check_rows(checker: Any, ids: list[Any], texts: list[Any], codes: list[list[str]], binary: bool, code: str = "27365") -> dict[str, list[Any]]:
    """Check rows with :func:`opnote.batch.check_job`; return the result columns (not the id)."""
    out: dict[str, list[Any]] = {c: [] for c in result_columns(code)}
    for row_id, text, claim in zip(ids, texts, codes, strict=True):
        _append(out, _check_row(checker, row_id, text, claim, binary))
    return out


def check_batches(batches: Iterator[pd.DataFrame], params: _Params) -> Iterator[pd.DataFrame]:
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
            cols = check_rows(checker, ids.tolist(), texts, codes, params.binary, params.code)
            frame: dict[str, pd.Series[Any] | ExtensionArray] = {params.id_col: ids.reset_index(drop=True)}
            frame["score"] = pd.array(cols.pop("score"), dtype="Int32")
            frame.update({k: pd.Series(v, dtype="object") for k, v in cols.items()})
            yield pd.DataFrame(frame, columns=[params.id_col, *result_columns(params.code)])


