"""The view-models the HTML templates display: every decision is made here, in Python.

:func:`report_view` turns a :class:`~opnote.schema.Report` (and its note text) into a
:class:`ReportView`; :func:`index_view` turns the rows of a batch into an :class:`IndexView`, with
the batch summary and its charts from :mod:`opnote.render.dashboard`. The templates in
``templates/`` only write these fields out (Jinja2 escapes every value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .case import case_summary
from .dashboard import (
    ERROR,
    ERROR_LABEL,
    VERDICTS,
    Dashboard,
    advisory_groups,
    advisory_label,
    advisory_list,
    advisory_value,
    amount_of,
    dashboard,
    entry,
    failed,
    money,
)
from .highlight import Piece, evidence_spans, note_pieces
from .labels import (
    ADVISORY_LABEL,
    CATEGORY_LABEL,
    GAP_STATUSES,
    NEUTRAL,
    REASON_LABEL,
    STATUS_ICON,
    STATUS_LABEL,
    VERDICT_ICON,
    VERDICT_LABEL,
    VERDICT_RANK,
    colour,
    fee_sentence,
    short,
)
from .table import summary_cells, summary_fields

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import Advisory, ChecklistItem, Evidence, Report

SpanIds = Mapping[tuple[int, int], str]


# --- report page ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    """A quoted evidence span: a link to its highlight (``target``) or plain when not highlighted."""

    quote: str
    start: int
    end: int
    target: str | None
    style: str | None


@dataclass(frozen=True, slots=True)
class ItemCard:
    number: int
    id: str
    status: str
    status_label: str
    status_icon: str
    title: str
    severity: str | None  # shown when the item is not required
    message: str
    css_class: str
    style: str
    evidence: tuple[EvidenceLink, ...]
    suggestion: str | None  # shown for gaps only
    why: str | None  # shown for gaps only


@dataclass(frozen=True, slots=True)
class DiagnosisView:
    tumor_type: str | None
    category: str
    side: str | None
    site: str | None
    certainty: str | None
    expected_codes: tuple[str, ...]
    claim_codes: tuple[str, ...]
    consistency: str | None
    problems: tuple[str, ...]
    evidence: tuple[EvidenceLink, ...]


@dataclass(frozen=True, slots=True)
class AdvisoryRow:
    kind: str
    kind_label: str
    code: str | None
    message: str
    source: str
    confidence: str
    confidence_label: str
    evidence: tuple[EvidenceLink, ...]


@dataclass(frozen=True, slots=True)
class GlobalPeriodView:
    days: int
    starts: str
    ends: str
    date_of_service: str
    evidence: tuple[EvidenceLink, ...]


@dataclass(frozen=True, slots=True)
class LegendEntry:
    number: int
    item_id: str
    title: str
    status: str
    status_label: str
    status_icon: str
    style: str


@dataclass(frozen=True, slots=True)
class CaseView:
    """The case line; ``conflict`` when it shows a side the note contradicts."""

    text: str
    conflict: bool


@dataclass(frozen=True, slots=True)
class NoteView:
    """The highlighted note: the legend, the pieces to write and the number of spans."""

    legend: tuple[LegendEntry, ...]
    pieces: tuple[Piece, ...]
    span_count: int


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    csp: str
    generator: str
    code: str
    source: str
    case: CaseView | None
    verdict: str
    verdict_label: str
    verdict_icon: str
    score: int
    bar_width: int
    summary: str
    counts: str
    items: tuple[ItemCard, ...]
    diagnosis: DiagnosisView
    advisories: tuple[AdvisoryRow, ...]
    global_period: GlobalPeriodView | None
    fee: str | None
    note: NoteView | None  # None when the report was rendered without its note text
    opnote_version: str
    checklist_version: str
    schema_version: str


def _style(colours: tuple[str, str]) -> str:
    return f"--bg:{colours[0]};--bd:{colours[1]}"


def evidence_links(evs: Sequence[Evidence], ids: SpanIds, colours: tuple[str, str] | None = None) -> tuple[EvidenceLink, ...]:
    style = _style(colours) if colours else None
    return tuple(EvidenceLink(short(ev.text, 70), ev.start, ev.end, ids.get((ev.start, ev.end)), style) for ev in evs)


def item_card(n: int, item: ChecklistItem, ids: SpanIds) -> ItemCard:
    st = str(item.status)
    gap = st in GAP_STATUSES
    return ItemCard(
        number=n + 1,
        id=item.id,
        status=st,
        status_label=STATUS_LABEL.get(st, st),
        status_icon=STATUS_ICON.get(st, ""),
        title=item.title or item.id,
        severity=None if item.severity == "required" else item.severity,
        message=item.message,
        css_class="item" + (" gap" if gap else "") + f" st-{st}",
        style=_style(colour(n)),
        evidence=evidence_links(item.evidence, ids),
        suggestion=item.suggestion if gap and item.suggestion else None,
        why=item.why if gap and item.why else None,
    )


def _consistency(consistent: bool | None) -> str | None:
    if consistent is None:
        return None
    return "✓ consistent with the note" if consistent else "✗ NOT consistent with the note"


def diagnosis_view(report: Report, ids: SpanIds) -> DiagnosisView:
    d = report.diagnosis
    return DiagnosisView(
        tumor_type=d.tumor_type or None,
        category=CATEGORY_LABEL.get(d.category, d.category),
        side=d.laterality or None,
        site=d.site or None,
        certainty=None if d.certainty == "none" else d.certainty,
        expected_codes=tuple(d.expected_icd10),
        claim_codes=tuple(d.claim_icd10),
        consistency=_consistency(d.consistent),
        problems=tuple(d.problems),
        evidence=evidence_links(d.evidence, ids, NEUTRAL),
    )


def advisory_row(a: Advisory, ids: SpanIds) -> AdvisoryRow:
    return AdvisoryRow(
        kind=a.kind,
        kind_label=ADVISORY_LABEL.get(a.kind, a.kind),
        code=a.code or None,
        message=a.message,
        source=a.source,
        confidence=a.confidence,
        confidence_label=a.confidence.upper(),
        evidence=evidence_links(a.evidence, ids, NEUTRAL),
    )


def _global_period(report: Report, ids: SpanIds) -> GlobalPeriodView | None:
    g = report.global_period
    if g is None:
        return None
    return GlobalPeriodView(g.days, g.starts, g.ends, g.date_of_service, evidence_links(g.evidence, ids, NEUTRAL))


def _legend(report: Report) -> tuple[LegendEntry, ...]:
    return tuple(
        LegendEntry(
            number=n + 1,
            item_id=it.id,
            title=it.title or it.id,
            status=str(it.status),
            status_label=STATUS_LABEL.get(it.status, it.status),
            status_icon=STATUS_ICON.get(it.status, ""),
            style=_style(colour(n)),
        )
        for n, it in enumerate(report.checklist)
    )


def _counts(report: Report) -> str:
    counts: dict[str, int] = {}
    for it in report.checklist:
        counts[it.status] = counts.get(it.status, 0) + 1
    return ", ".join(f"{counts[s]} {STATUS_LABEL[s].lower()}" for s in STATUS_LABEL if counts.get(s))


def _case(report: Report) -> CaseView | None:
    summary = case_summary(report)
    return CaseView(summary.text, summary.has_conflict) if summary else None


def report_view(report: Report, text: str | None, *, csp: str, version: str) -> ReportView:
    """Everything the report page shows, decided; ``version`` stands in for a missing ``opnote_version``."""
    spans = evidence_spans(report, text)
    ids = {(s.start, s.end): s.ident for s in spans}
    verdict = str(report.verdict)
    vlabel = VERDICT_LABEL.get(verdict, verdict.upper())
    source = report.source or "note"
    note = None if text is None else NoteView(_legend(report), tuple(note_pieces(text, spans, report)), len(spans))
    return ReportView(
        title=f"{vlabel} {report.score}/100 · CPT {report.code} · {source}",
        csp=csp,
        generator=f"opnote {report.opnote_version or version}",
        code=report.code,
        source=source,
        case=_case(report),
        verdict=verdict,
        verdict_label=vlabel,
        verdict_icon=VERDICT_ICON.get(verdict, ""),
        score=report.score,
        bar_width=max(0, min(100, report.score)),
        summary=report.summary,
        counts=_counts(report),
        items=tuple(item_card(n, it, ids) for n, it in enumerate(report.checklist)),
        diagnosis=diagnosis_view(report, ids),
        advisories=tuple(advisory_row(a, ids) for a in report.advisories),
        global_period=_global_period(report, ids),
        fee=fee_sentence(getattr(report, "fee", None)),
        note=note,
        opnote_version=report.opnote_version or version,
        checklist_version=report.checklist_version or "?",
        schema_version=report.schema_version,
    )


# --- batch index ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexColumn:
    number: int
    item_id: str
    title: str
    short: str


@dataclass(frozen=True, slots=True)
class IndexCell:
    """One item's status in a row; ``status`` None for an empty cell."""

    status: str | None
    icon: str
    tooltip: str


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One row of the notes table (a note that could not be checked too: verdict ``error``)."""

    order: int  # the row's place in the input, and in the page's data
    file: str
    href: str | None
    id: str
    score: str
    sort_score: str
    verdict: str
    verdict_label: str
    verdict_icon: str
    verdict_rank: int
    reason: str  # why, in words (the error for a note that could not be checked)
    case: str
    date: str
    advisories: tuple[str, ...]
    stake: str  # the amount at stake ("$1,837.05"), or ""
    cells: tuple[IndexCell, ...]


@dataclass(frozen=True, slots=True)
class FailedRow:
    file: str
    error: str


@dataclass(frozen=True, slots=True)
class VerdictTotal:
    verdict: str
    label: str
    icon: str
    count: int


@dataclass(frozen=True, slots=True)
class StatusKey:
    status: str
    label: str
    icon: str


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of a filter: ``value`` as the page's script matches it, ``count`` rows have it."""

    value: str
    label: str
    count: int
    sub: bool = False  # shown under the option before it (an advisory code under its kind)


@dataclass(frozen=True, slots=True)
class Filters:
    verdicts: tuple[Option, ...]
    reasons: tuple[Option, ...]
    items: tuple[Option, ...]
    statuses: tuple[Option, ...]
    advisories: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class IndexView:
    csp: str
    code: str
    total: int
    verdicts: tuple[VerdictTotal, ...]
    mean_score: str | None
    failed: tuple[FailedRow, ...]
    columns: tuple[IndexColumn, ...]
    rows: tuple[IndexRow, ...]
    statuses: tuple[StatusKey, ...]
    version: str
    dashboard: Dashboard
    filters: Filters
    #: What the page's script filters and downloads: ``fields`` (summary.csv's columns), ``items``
    #: (the item columns), ``labels`` (status words) and ``rows`` (every row's summary.csv cells, in input order).
    data: dict[str, Any]


def index_columns(code: str) -> tuple[IndexColumn, ...]:
    """One column per checklist item of ``code`` (the 27365 items when the code is unknown)."""
    from .. import rules

    try:
        checklist = rules.checklist(code)
    except Exception:  # noqa: BLE001 - an unknown code still gets an index
        checklist = rules.checklist("27365")
    return tuple(IndexColumn(n, it.id, it.title, it.short_title) for n, it in enumerate(checklist.items, 1))


def _fields(code: str) -> list[str]:
    """summary.csv's columns for ``code`` (the 27365 ones when the code is unknown, as the item columns)."""
    try:
        return summary_fields(code)
    except Exception:  # noqa: BLE001
        return summary_fields("27365")


def _cell(row: Mapping[str, Any], col: IndexColumn) -> IndexCell:
    st = row.get(col.item_id)
    if not st:
        return IndexCell(None, "", "")
    st = str(st)
    return IndexCell(st, STATUS_ICON.get(st, "?"), f"{col.title}: {STATUS_LABEL.get(st, st)}")


def _href(name: object) -> str | None:
    from urllib.parse import quote

    return quote(str(name)) if name else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _verdict(row: Mapping[str, Any]) -> tuple[str, str, str, int]:
    """(verdict, label, icon, sort rank) of a row; a row that could not be checked ranks first."""
    if failed(row):
        return ERROR, ERROR_LABEL, "✗", -1
    verdict = str(row.get("verdict"))
    return verdict, VERDICT_LABEL.get(verdict, verdict), VERDICT_ICON.get(verdict, ""), VERDICT_RANK.get(verdict, -1)


def _reason(row: Mapping[str, Any]) -> str:
    if failed(row):
        return _text(row.get("error")) or "not checked"
    reason = _text(row.get("verdict_reason"))
    return "" if reason == "ready" else REASON_LABEL.get(reason, reason)


def _stake(row: Mapping[str, Any]) -> str:
    amount = amount_of(row.get("amount_at_stake"))
    return "" if amount is None else money(amount)


def index_row(order: int, row: Mapping[str, Any], columns: Sequence[IndexColumn]) -> IndexRow:
    verdict, label, icon, rank = _verdict(row)
    score = row.get("score")
    return IndexRow(
        order=order,
        file=_text(row.get("file")),
        href=_href(row.get("report")),
        id=_text(row.get("id")),
        score=_text(score),
        sort_score=str(score if isinstance(score, (int, float)) and not isinstance(score, bool) else -1),
        verdict=verdict,
        verdict_label=label,
        verdict_icon=icon,
        verdict_rank=rank,
        reason=_reason(row),
        case=_text(row.get("case")),
        date=_text(row.get("date_of_service")),
        advisories=tuple(advisory_label(a, bare="") for a in advisory_list(row.get("advisories"))),
        stake=_stake(row),
        cells=tuple(_cell(row, c) for c in columns),
    )


def _mean(rows: Iterable[Mapping[str, Any]]) -> str | None:
    scores = [r["score"] for r in rows if isinstance(r.get("score"), (int, float))]
    return f"{sum(scores) / len(scores):.0f}" if scores else None


def filters(rows: Sequence[Mapping[str, Any]], columns: Sequence[IndexColumn]) -> Filters:
    """The choices of the table's filters, with how many rows each matches (reasons and advisories: those in the batch)."""
    verdicts = Counter(_verdict(r)[0] for r in rows)
    reasons = Counter(_text(r.get("verdict_reason")) for r in rows if not failed(r))
    labels = {**VERDICT_LABEL, ERROR: ERROR_LABEL}
    advisories: list[Option] = []
    for kind, n_kind, codes in advisory_groups(entry(r, []) for r in rows):
        kind_label = ADVISORY_LABEL.get(kind, kind)
        advisories.append(Option(kind, f"{kind_label} (any)", n_kind))
        advisories += [Option(advisory_value(a), advisory_label(a), n, sub=True) for a, n in codes]
    return Filters(
        verdicts=tuple(Option(v, labels[v], verdicts[v]) for v in VERDICTS if verdicts[v]),
        reasons=tuple(Option(k, REASON_LABEL.get(k, k), n) for k, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])) if k),
        items=tuple(Option(c.item_id, f"{c.number}. {c.title}", 0) for c in columns),
        statuses=(Option("gap", "any gap (missing, partial, conflict)", 0),
                  *(Option(s, label, 0) for s, label in STATUS_LABEL.items())),
        advisories=tuple(advisories),
    )


def index_view(rows: Sequence[Mapping[str, Any]], code: str, *, csp: str, version: str, group_by: str | None = None) -> IndexView:
    """Everything the batch index shows, decided (see :func:`opnote.render.html.render_index`)."""
    columns = index_columns(code)
    fields = _fields(code)
    ok = [r for r in rows if not failed(r)]
    verdicts = tuple(
        VerdictTotal(v, label, VERDICT_ICON[v], sum(1 for r in ok if r.get("verdict") == v)) for v, label in VERDICT_LABEL.items()
    )
    return IndexView(
        csp=csp,
        code=code,
        total=len(rows),
        verdicts=verdicts,
        mean_score=_mean(ok),
        failed=tuple(FailedRow(_text(r.get("file")), _text(r.get("error")) or "not checked") for r in rows if failed(r)),
        columns=columns,
        rows=tuple(index_row(n, r, columns) for n, r in enumerate(rows)),
        statuses=tuple(StatusKey(s, STATUS_LABEL[s], STATUS_ICON[s]) for s in STATUS_LABEL),
        version=version,
        dashboard=dashboard(rows, [(c.item_id, c.title) for c in columns], group_by),
        filters=filters(rows, columns),
        data={"fields": fields, "items": [c.item_id for c in columns], "labels": STATUS_LABEL, "rows": [summary_cells(r, fields) for r in rows]},
    )
