"""The summary at the top of ``index.html``: counts over the batch and the geometry of its charts.

Everything is computed from the rows ``summary.csv`` is written from (:func:`opnote.sinks.summary_row`):
the verdict, the verdict reason, one status per checklist item, the advisories (``kind:code;
...``), the amount at stake and the date of service. A row with an ``error`` is a note that could
not be checked: it is counted as such and nowhere else.

The charts are drawn by ``templates/_dashboard.html`` as inline SVG from the dataclasses made
here (positions in SVG user units); every bar is labelled with its numbers, and its fill is a
pattern as well as a colour, so the charts read in black-and-white print.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .labels import ADVISORY_LABEL, GAP_STATUSES, REASON_LABEL, STATUS_LABEL, VERDICT_LABEL, short

#: The ways ``--group-by`` groups the dates of service.
GROUPINGS: Final = ("month", "week")
#: A row that could not be checked has this verdict here (and in the page's filters).
ERROR: Final = "error"
ERROR_LABEL: Final = "COULD NOT CHECK"
#: The batch's verdicts in the order the bars stack them.
VERDICTS: Final = (*VERDICT_LABEL, ERROR)

# Horizontal bar charts: a label column, the bars, then the numbers.
WIDTH: Final = 980
LABEL_W: Final = 280
BAR_W: Final = 360
#: The advisory codes shown per kind (the rest are summed up in one row; the table's filter lists them all).
CODES_SHOWN: Final = 6
ROW_H: Final = 24
BAR_H: Final = 16
#: Fills dark enough to need white text (see the patterns in ``templates/_patterns.html``).
DARK: Final = frozenset({"not_supported", "missing"})
#: A segment this wide (SVG units) or wider shows its count inside.
INSIDE_MIN: Final = 24.0


# --- one row of the batch -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """What the dashboard reads from one row."""

    verdict: str  # a Verdict value, or ERROR
    reason: str
    statuses: tuple[str, ...]  # one per checklist item, "" when the row has none
    advisories: tuple[str, ...]  # "kind:code" or "kind", each once
    amount: float | None
    date: dt.date | None


def failed(row: Mapping[str, object]) -> bool:
    """A row for a note that could not be checked."""
    return bool(row.get("error")) or not row.get("verdict")


def advisory_list(cell: object) -> tuple[str, ...]:
    """The advisories of a row (``"kind:code; kind"``), each once, in order."""
    seen: dict[str, None] = {}
    for part in str(cell or "").split(";"):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


def amount_of(value: object) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        amount = float(str(value))
    except ValueError:
        return None
    return amount if math.isfinite(amount) else None


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def entry(row: Mapping[str, object], item_ids: Sequence[str]) -> Entry:
    if failed(row):
        return Entry(ERROR, "", ("",) * len(item_ids), (), None, None)
    return Entry(
        verdict=str(row.get("verdict")),
        reason=str(row.get("verdict_reason") or ""),
        statuses=tuple(str(row.get(i) or "") for i in item_ids),
        advisories=advisory_list(row.get("advisories")),
        amount=amount_of(row.get("amount_at_stake")),
        date=_date(row.get("date_of_service")),
    )


def pct(count: int, total: int) -> int:
    """``count`` as a whole percentage of ``total`` (0 of nothing)."""
    return round(100 * count / total) if total else 0


# --- horizontal bars ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str  # the fill: a status or verdict (``p-KIND`` pattern)
    label: str  # what the segment counts, for its tooltip
    count: int
    x: float
    width: float
    inside: str  # the count written inside the segment, when it fits
    mid: float  # the middle of the segment (where ``inside`` is written)
    dark: bool  # a dark fill (white text inside)


@dataclass(frozen=True, slots=True)
class Bar:
    key: str
    label: str
    title: str  # the full label (tooltip)
    count: int
    y: float
    segments: tuple[Segment, ...]
    value: str  # the numbers, right of the bar
    value_x: float
    drill: tuple[tuple[str, str], ...]  # the table filters a click on the bar sets
    heading: bool = False  # a group's own row (bold label)


@dataclass(frozen=True, slots=True)
class BarChart:
    ident: str
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    empty: str | None  # said instead of the chart when there is nothing to draw
    bar_x: int = LABEL_W
    bar_w: int = BAR_W


@dataclass(frozen=True, slots=True)
class BarSpec:
    key: str
    label: str
    parts: tuple[tuple[str, str, int], ...]  # (kind, label, count)
    value: str
    drill: tuple[tuple[str, str], ...]
    title: str = ""
    heading: bool = False


def segments(parts: Sequence[tuple[str, str, int]], x0: float, scale: float, width: float, inside_min: float = INSIDE_MIN) -> tuple[Segment, ...]:
    """Side-by-side segments from ``x0``, ``scale`` counts filling ``width``; a count is written inside one ``inside_min`` wide or wider."""
    out, x = [], x0
    for kind, label, count in parts:
        if count <= 0:
            continue
        w = width * count / scale if scale else 0.0
        out.append(Segment(kind, label, count, round(x, 2), round(w, 2), str(count) if w >= inside_min else "", round(x + w / 2, 2), kind in DARK))
        x += w
    return tuple(out)


def bar_chart(ident: str, title: str, specs: Sequence[BarSpec], scale: int, empty: str) -> BarChart:
    """Rows of bars: ``scale`` (at least the longest bar's total) fills the bar column."""
    scale = max([scale, *(sum(c for _, _, c in s.parts) for s in specs)])
    bars = []
    for n, s in enumerate(specs):
        segs = segments(s.parts, LABEL_W, scale, BAR_W)
        end = segs[-1].x + segs[-1].width if segs else LABEL_W
        bars.append(Bar(s.key, short(s.label, 41), s.title or s.label, sum(c for _, _, c in s.parts), n * ROW_H, segs,
                        s.value, round(end + 6, 2), s.drill, s.heading))
    return BarChart(ident, title, WIDTH, max(1, len(bars)) * ROW_H, tuple(bars), None if bars else empty)


# --- the summary ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerdictTile:
    verdict: str
    label: str
    count: int
    pct: int


@dataclass(frozen=True, slots=True)
class Stake:
    """What the notes that are not ready are worth (national fee; never a promise of payment)."""

    total: str  # "$3,674.10"
    notes: int  # notes with a figure
    by_verdict: tuple[tuple[str, str, int], ...]  # (verdict label, amount, notes)
    without: int  # notes not ready without a figure (no fee context for their year)


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    total: int
    pct: int
    shade: str  # "0.40": the cell's tint (the percentage is written too)


@dataclass(frozen=True, slots=True)
class Column:
    """One period's column of the time chart: stacked verdict shares."""

    x: float
    cx: float  # the column's middle (its labels)
    label: str
    notes: int
    segments: tuple[Segment, ...]  # here ``x`` is a segment's top, ``width`` its height and ``mid`` its label's baseline


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    label: str
    notes: int
    verdicts: tuple[Rate, ...]  # in VERDICT_LABEL order
    gaps: tuple[Rate, ...]  # one per checklist item
    column: Column


@dataclass(frozen=True, slots=True)
class Timeline:
    grouping: str
    periods: tuple[Period, ...]
    width: int
    height: int
    undated: int  # checked notes without a date of service (their own column, "no date")
    col_w: int
    plot_left: int
    plot_top: int
    plot_bottom: int
    gridlines: tuple[tuple[float, str], ...]  # (y, "50%")


@dataclass(frozen=True, slots=True)
class Dashboard:
    total: int
    checked: int
    errors: int
    tiles: tuple[VerdictTile, ...]
    verdict_bar: BarChart
    items: BarChart
    reasons: BarChart
    advisories: BarChart
    stake: Stake | None
    timeline: Timeline | None


def verdict_counts(entries: Sequence[Entry]) -> Counter[str]:
    return Counter(e.verdict for e in entries)


def verdict_tiles(counts: Counter[str], total: int) -> tuple[VerdictTile, ...]:
    tiles = [VerdictTile(v, label, counts[v], pct(counts[v], total)) for v, label in VERDICT_LABEL.items()]
    if counts[ERROR]:
        tiles.append(VerdictTile(ERROR, ERROR_LABEL, counts[ERROR], pct(counts[ERROR], total)))
    return tuple(tiles)


def verdict_bar(counts: Counter[str], total: int) -> BarChart:
    """One bar across the page, the verdicts side by side (positions in percent of the page's width)."""
    labels = {**VERDICT_LABEL, ERROR: ERROR_LABEL}
    segs = segments([(v, labels[v], counts[v]) for v in VERDICTS], 0, total, 100.0, inside_min=3.0)
    value = " · ".join(f"{labels[v]} {counts[v]}" for v in VERDICTS if counts[v])
    bar = Bar("verdicts", "Verdicts", f"{total} notes: {value}", total, 0, segs, value, 100.0, ())
    return BarChart("chart-verdicts", "Verdicts", 100, 28, (bar,), None if total else "No notes.")


def _gap_counts(entries: Sequence[Entry], idx: int) -> Counter[str]:
    return Counter(e.statuses[idx] for e in entries if e.statuses[idx] in GAP_STATUSES)


def _sole_gap(entries: Sequence[Entry], idx: int) -> int:
    """At-risk notes whose only gap is item ``idx`` (documenting it makes them ready)."""
    n = 0
    for e in entries:
        gaps = [i for i, st in enumerate(e.statuses) if st in GAP_STATUSES]
        n += e.reason == "gaps" and gaps == [idx]
    return n


def item_spec(entries: Sequence[Entry], idx: int, item_id: str, title: str) -> BarSpec:
    counts = _gap_counts(entries, idx)
    total = sum(counts.values())
    parts = tuple((st, STATUS_LABEL[st], counts[st]) for st in ("missing", "partial", "conflict"))
    words = [f"{n} {STATUS_LABEL[st].lower()}" for st, _, n in parts if n]
    sole = _sole_gap(entries, idx)
    value = f"{total} ({pct(total, len(entries))}%)" + (": " + ", ".join(words) if words else "")
    value += f" · only gap in {sole}" if sole else ""
    return BarSpec(item_id, title, parts, value, (("item", item_id), ("status", "gap")))


def items_chart(entries: Sequence[Entry], columns: Sequence[tuple[str, str]]) -> BarChart:
    """Gaps per checklist item over the checked notes, most first (missing / partial / conflict)."""
    checked = [e for e in entries if e.verdict != ERROR]
    specs = [item_spec(checked, i, item_id, title) for i, (item_id, title) in enumerate(columns)] if checked else []
    order = sorted(range(len(specs)), key=lambda i: -sum(c for _, _, c in specs[i].parts))
    return bar_chart("chart-items", "Notes with a gap, per checklist item", [specs[i] for i in order], len(checked),
                     "No checked notes.")


NO_CODE: Final = "no code named"


def _reason_detail(group: Sequence[Entry], reason: str, titles: Sequence[str]) -> Counter[str]:
    """What the not-supported notes of one reason read like: the items in conflict, or the code named (NO_CODE)."""
    detail: Counter[str] = Counter()
    for e in group:
        if reason == "conflict":
            detail.update(titles[i] for i, st in enumerate(e.statuses) if st == "conflict")
            continue
        codes = [a.partition(":")[2] for a in e.advisories if a.startswith("code_selection:")]
        detail.update(codes or [NO_CODE])
    return detail


def _detail_text(reason: str, detail: Counter[str], limit: int = 3) -> str:
    """"reads like 27364 ×9, 27356 ×7, … · no code named ×2" (or "in conflict: ...")."""
    top = [(k, n) for k, n in detail.most_common() if k != NO_CODE]
    words = ", ".join(f"{k} ×{n}" for k, n in top[:limit]) + (", …" if len(top) > limit else "")
    parts = [("in conflict: " if reason == "conflict" else "reads like ") + words] if words else []
    if detail[NO_CODE]:
        parts.append(f"{NO_CODE} ×{detail[NO_CODE]}")
    return " · ".join(parts)


def reasons_chart(entries: Sequence[Entry], titles: Sequence[str]) -> BarChart:
    """The not-supported notes grouped by why, with the code they read like (or the item in conflict)."""
    ns = [e for e in entries if e.verdict == "not_supported"]
    by_reason = Counter(e.reason for e in ns)
    specs = []
    for reason, n in by_reason.most_common():
        group = [e for e in ns if e.reason == reason]
        detail = _reason_detail(group, reason, titles)
        more = _detail_text(reason, detail)
        full = _detail_text(reason, detail, limit=len(detail))
        label = REASON_LABEL.get(reason, reason or "no reason given")
        specs.append(BarSpec(reason, label, (("not_supported", "NOT SUPPORTED", n),), f"{n} ({pct(n, len(ns))}%)" + (f" · {more}" if more else ""),
                             (("verdict", "not_supported"), ("reason", reason)), title=f"{label}: {n}" + (f"; {full}" if full else "")))
    return bar_chart("chart-reasons", "Why notes are not supported", specs, len(ns), "No note is not supported.")


def advisory_label(adv: str, bare: str = ", no code named") -> str:
    """``modifier:LT`` as "Modifier LT"; a bare kind as its label and ``bare``."""
    kind, _, code = adv.partition(":")
    label = ADVISORY_LABEL.get(kind, kind)
    return f"{label} {code}" if code else label + bare


def advisory_value(adv: str) -> str:
    """How the page's filter names one advisory: ``kind:code``, or ``kind:`` for the kind without a code
    (a bare ``kind`` is the filter for any advisory of that kind)."""
    return adv if ":" in adv else adv + ":"


def advisory_groups(entries: Iterable[Entry]) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """(kind, notes with any advisory of the kind, [(kind:code or kind, notes), ...] most first), kinds in label order."""
    per_kind: dict[str, Counter[str]] = {}
    any_of: Counter[str] = Counter()
    for e in entries:
        kinds = set()
        for adv in e.advisories:
            kind = adv.partition(":")[0]
            per_kind.setdefault(kind, Counter())[adv] += 1
            kinds.add(kind)
        any_of.update(kinds)
    order = [k for k in ADVISORY_LABEL if k in per_kind] + sorted(k for k in per_kind if k not in ADVISORY_LABEL)
    return [(k, any_of[k], sorted(per_kind[k].items(), key=lambda kv: (-kv[1], kv[0]))) for k in order]


def _more_codes(kind: str, label: str, rest: Sequence[tuple[str, int]], checked: Sequence[Entry]) -> BarSpec:
    """One row for the less frequent codes of a kind: the notes with any of them."""
    names = {a for a, _ in rest}
    n = sum(1 for e in checked if names.intersection(e.advisories))
    codes = ", ".join(f"{advisory_label(a)} ×{k}" for a, k in rest)
    return BarSpec(f"{kind}:…", f"{len(rest)} more {label.lower()} codes", (("advisory", label, n),),
                   f"{n} ({pct(n, len(checked))}%)", (("advisory", kind),), title=codes)


def advisories_chart(entries: Sequence[Entry]) -> BarChart:
    """Notes per advisory, grouped by kind (a row for the kind, then one per code)."""
    checked = [e for e in entries if e.verdict != ERROR]
    specs = []
    for kind, n_kind, codes in advisory_groups(checked):
        label = ADVISORY_LABEL.get(kind, kind)
        specs.append(BarSpec(kind, f"{label} (any)", (("advisory", label, n_kind),), f"{n_kind} ({pct(n_kind, len(checked))}%)",
                             (("advisory", kind),), heading=True))
        for adv, n in codes[:CODES_SHOWN]:
            value = advisory_value(adv)
            specs.append(BarSpec(value, advisory_label(adv), (("advisory", advisory_label(adv), n),), f"{n} ({pct(n, len(checked))}%)",
                                 (("advisory", value),)))
        if len(codes) > CODES_SHOWN:
            specs.append(_more_codes(kind, label, codes[CODES_SHOWN:], checked))
    return bar_chart("chart-advisories", "Notes per coding advisory", specs, len(checked), "No coding advisories.")


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def stake(entries: Sequence[Entry]) -> Stake | None:
    """The amount at stake over the notes that are not ready; None when no note has a figure."""
    open_ = [e for e in entries if e.verdict in ("at_risk", "not_supported")]
    priced = [e for e in open_ if e.amount is not None]
    if not priced:
        return None
    by_verdict = tuple(
        (VERDICT_LABEL[v], money(sum(e.amount or 0.0 for e in priced if e.verdict == v)), sum(1 for e in priced if e.verdict == v))
        for v in ("at_risk", "not_supported")
    )
    return Stake(money(sum(e.amount or 0.0 for e in priced)), len(priced), by_verdict, len(open_) - len(priced))


# --- over time ----------------------------------------------------------------------------------

COL_W: Final = 34
COL_GAP: Final = 18
PLOT_H: Final = 140
PLOT_TOP: Final = 20
AXIS_W: Final = 44
NO_DATE: Final = "no date"


def period_key(d: dt.date | None, grouping: str) -> tuple[str, str]:
    """(sort key, label) of the period ``d`` falls in: "2025-03" for a month, "2025-W09" for an ISO week."""
    if d is None:
        return "~", NO_DATE
    if grouping == "week":
        iso = d.isocalendar()
        key = f"{iso.year:04d}-W{iso.week:02d}"
        return key, key
    key = f"{d.year:04d}-{d.month:02d}"
    return key, key


def rate(count: int, total: int) -> Rate:
    return Rate(count, total, pct(count, total), f"{count / total:.2f}" if total else "0")


def column(n: int, label: str, group: Sequence[Entry]) -> Column:
    """Stacked verdict shares, ready at the bottom; a segment's ``x`` is its top and ``width`` its height."""
    counts = verdict_counts(group)
    segs, top = [], float(PLOT_TOP + PLOT_H)
    for v in VERDICT_LABEL:
        h = PLOT_H * counts[v] / len(group) if group else 0.0
        if counts[v]:
            top -= h
            inside = f"{pct(counts[v], len(group))}%" if h >= 14 else ""
            segs.append(Segment(v, VERDICT_LABEL[v], counts[v], round(top, 2), round(h, 2), inside, round(top + h / 2 + 4, 2), v in DARK))
    x = AXIS_W + n * (COL_W + COL_GAP)
    return Column(x, x + COL_W / 2, label, len(group), tuple(segs))


def timeline(entries: Sequence[Entry], grouping: str, n_items: int) -> Timeline:
    """The checked notes by period of their date of service: verdict shares and gap rates per item."""
    checked = [e for e in entries if e.verdict != ERROR]
    groups: dict[tuple[str, str], list[Entry]] = {}
    for e in checked:
        groups.setdefault(period_key(e.date, grouping), []).append(e)
    periods = []
    for n, ((key, label), group) in enumerate(sorted(groups.items())):
        counts = verdict_counts(group)
        gaps = tuple(rate(sum(1 for e in group if e.statuses[i] in GAP_STATUSES), len(group)) for i in range(n_items))
        periods.append(Period(key, label, len(group), tuple(rate(counts[v], len(group)) for v in VERDICT_LABEL), gaps, column(n, label, group)))
    width = AXIS_W + len(periods) * (COL_W + COL_GAP) + 10
    undated = len(groups.get(("~", NO_DATE), []))
    grid = tuple((PLOT_TOP + PLOT_H * (1 - f / 100), f"{f}%") for f in (0, 50, 100))
    return Timeline(grouping, tuple(periods), width, PLOT_TOP + PLOT_H + 24, undated, COL_W, AXIS_W - 6, PLOT_TOP, PLOT_TOP + PLOT_H, grid)


def dashboard(rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str]], grouping: str | None) -> Dashboard:
    """The batch summary of ``rows``; ``columns`` are the checklist's (item id, title); ``grouping`` a value of GROUPINGS or None."""
    entries = [entry(r, [c[0] for c in columns]) for r in rows]
    counts = verdict_counts(entries)
    total = len(entries)
    return Dashboard(
        total=total,
        checked=total - counts[ERROR],
        errors=counts[ERROR],
        tiles=verdict_tiles(counts, total),
        verdict_bar=verdict_bar(counts, total),
        items=items_chart(entries, columns),
        reasons=reasons_chart(entries, [c[1] for c in columns]),
        advisories=advisories_chart(entries),
        stake=stake(entries),
        timeline=timeline(entries, grouping, len(columns)) if grouping in GROUPINGS else None,
    )
