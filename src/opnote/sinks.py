"""Where a batch's results go: standard output, or a folder of reports with ``summary.csv``.

A sink takes every result in input order (``add``), reports and errors alike, and is closed
once (``close``): ``complete`` False when the run was interrupted, which leaves out what only a
finished run can write (the closing bracket of a JSON array, ``summary.csv``, ``index.html``).
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from typing import TYPE_CHECKING, Any, Protocol

from .jobs import NoteResult
from .outdir import OutputFolder, read_chunks
from .render.table import FORMULA_STARTS, item_ids, spreadsheet_safe, summary_cells, summary_fields

if TYPE_CHECKING:  # pragma: no cover
    from .schema import Report

__all__ = [
    "FORMULA_STARTS", "FolderSink", "Sink", "StdoutSink", "item_ids", "spreadsheet_safe", "summary_cells", "summary_fields", "summary_row",
]


class Sink(Protocol):
    def open(self) -> None: ...

    def add(self, res: NoteResult) -> None: ...

    def close(self, complete: bool) -> None: ...


def id_cell(nid: Any) -> str:
    """A record's id as text: a string as given, anything else as JSON, nothing when there is none."""
    if nid is None:
        return ""
    return nid if isinstance(nid, str) else json.dumps(nid, ensure_ascii=False)


def summary_row(res: NoteResult) -> dict[str, Any]:
    """The summary.csv / index.html row of one result (``report`` is added by the folder sink)."""
    row: dict[str, Any] = {"file": res.job.source, "id": id_cell(res.job.id), "error": res.error or ""}
    rep = res.report
    if rep is not None:
        from .render.case import case_line

        row.update(score=rep.score, verdict=rep.verdict, verdict_reason=rep.verdict_reason or "")
        row.update({it.id: it.status for it in rep.checklist})
        row["case"] = case_line(rep) or ""
        row["date_of_service"] = service_date(rep, res.text)
        row["advisories"] = "; ".join(advisory_labels(rep))
        row["amount_at_stake"] = amount_at_stake(rep)
    return row


def service_date(rep: Report, text: str | None) -> str:
    """The date of service the note gives (ISO), read from the note's text when the result kept it,
    else from the report's global period; empty when the note gives none."""
    if text is not None:
        from .coding import date_of_service

        found = date_of_service(text)
        return found[0].isoformat() if found else ""
    period = rep.global_period
    return str(period.date_of_service) if period is not None else ""


def advisory_labels(rep: Any) -> list[str]:
    """The report's coding advisories as ``kind:code`` (``kind`` when the advisory names no code)."""
    return [a.kind + (f":{a.code}" if a.code else "") for a in rep.advisories]


def amount_at_stake(rep: Report) -> float | str:
    """What the checked code is worth when the note does not yet support it: the national fee of the
    report's fee context for an ``at_risk`` or ``not_supported`` note; nothing for a ready note or
    when no fee is known. A figure for sorting work, never a promise of payment."""
    fee = rep.fee
    if rep.verdict == "ready" or fee is None or fee.national_amount is None:
        return ""
    return fee.national_amount


def report_record(res: NoteResult) -> str:
    """A JSON-lines output line for a checked record: the report, with the record's ``id`` (as given) and ``line``."""
    assert res.report is not None
    rec: dict[str, Any] = {}
    for key, value in res.report.model_dump(mode="json").items():
        rec[key] = value
        if key == "source":
            rec.update(id=res.job.id, line=res.job.line)
    return json.dumps(rec, ensure_ascii=False) + "\n"


def error_record(res: NoteResult) -> str:
    """A JSON-lines output line for a record that could not be checked."""
    import re

    error = res.error or "not checked"
    m = re.match(r"\[(E\d+)\]\s*", error)
    rec = {
        "schema_version": "1",
        "source": res.job.source,
        "id": res.job.id,
        "line": res.job.line,
        "error": {"code": m.group(1) if m else "E100", "type": res.error_type or "InputError", "message": error[m.end():] if m else error},
    }
    return json.dumps(rec, ensure_ascii=False) + "\n"


class StdoutSink:
    """Reports on standard output: one, several (text reports one after another, a JSON array), or a JSON-lines stream.

    ``records`` (JSON lines in, JSON lines out): every record gives one line, in input order, a
    report or an error record, flushed at once so a program can feed notes one at a time.
    """

    def __init__(self, fmt: str, *, many: bool, color: bool, records: bool) -> None:
        self.fmt, self.many, self.color, self.records = fmt, many, color, records
        self._first = True

    def _write(self, chunk: str) -> None:
        sys.stdout.write(chunk)
        if self.records:
            sys.stdout.flush()

    def open(self) -> None:
        if self.fmt == "json" and self.many:
            self._write("[\n")

    def add(self, res: NoteResult) -> None:
        from .render import render

        rep = res.report
        if rep is None:
            if self.records:
                self._write(error_record(res))
        elif self.records:
            self._write(report_record(res))
        elif self.fmt == "json" and self.many:
            self._write(("" if self._first else ",\n") + render(rep, "json").rstrip("\n"))
            self._first = False
        else:
            self._write(render(rep, self.fmt, text=res.text, color=self.color))
            if self.fmt == "text" and self.many:
                self._write("\n")

    def close(self, complete: bool) -> None:
        if complete and self.fmt == "json" and self.many:
            self._write("\n]\n")
        sys.stdout.flush()


class _Summary:
    """summary.csv rows, spooled to an unnamed temporary file past a few megabytes."""

    def __init__(self, code: str = "27365") -> None:
        self.fields = summary_fields(code)
        self._file = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=self.fields, extrasaction="ignore", lineterminator="\n")
        self._writer.writeheader()

    def add(self, row: dict[str, Any]) -> None:
        self._writer.writerow(dict(zip(self.fields, summary_cells(row, self.fields), strict=True)))

    def write_to(self, folder: OutputFolder) -> None:
        folder.write("summary.csv", read_chunks(self._file))

    def close(self) -> None:
        self._file.close()


class FolderSink:
    """One report file per checked note in an :class:`~opnote.outdir.OutputFolder`, then ``summary.csv`` (and ``index.html``)."""

    def __init__(self, folder: OutputFolder, fmt: str, code: str, *, group_by: str | None = None) -> None:
        from .render import SUFFIX

        self.folder, self.fmt, self.code, self.group_by = folder, fmt, code, group_by
        self.suffix = SUFFIX[fmt]
        self.written = 0
        self._summary = _Summary(code)
        self._index_rows: list[dict[str, Any]] | None = [] if fmt == "html" else None

    def open(self) -> None:
        self.folder.begin()

    def add(self, res: NoteResult) -> None:
        from .render import render

        row = summary_row(res)
        if res.report is not None:
            name = self.folder.names.allocate(res.job.source, self.suffix)
            self.folder.write(name, render(res.report, self.fmt, text=res.text))
            row["report"] = name
            self.written += 1
        self._summary.add(row)
        if self._index_rows is not None:
            self._index_rows.append(row)

    def close(self, complete: bool) -> None:
        try:
            if complete:
                self._summary.write_to(self.folder)
                if self._index_rows is not None:
                    from .render.html import render_index

                    self.folder.write("index.html", render_index(self._index_rows, code=self.code, group_by=self.group_by))
        finally:
            self._summary.close()
            self.folder.close(complete)
