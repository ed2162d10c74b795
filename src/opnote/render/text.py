"""A readable terminal report: coloured through Rich on a terminal, plain text when piped.

The report is built once as lines of ``(text, style)`` pieces. Plain output joins the text as
it is (byte for byte what the pipe has always received); coloured output hands the same pieces to
Rich, which writes the escape codes (and leaves the line breaks where they are: the lines are
already wrapped to the terminal width here, without cutting a word).
"""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from rich.console import Console
from rich.text import Text

from .case import case_summary
from .labels import fee_sentence, short

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import ChecklistItem, Diagnosis, Report

Piece = tuple[str, str]  # (text, Rich style; "" for none)
Line = list[Piece]

_BADGE: Final[dict[str, tuple[str, str]]] = {
    "met": ("MET", "green"),
    "partial": ("PARTIAL", "yellow"),
    "missing": ("MISSING", "red"),
    "conflict": ("CONFLICT", "magenta"),
    "not_applicable": ("N/A", "bright_black"),
}
_VERDICT: Final[dict[str, tuple[str, str]]] = {
    "ready": ("READY", "bold green"),
    "at_risk": ("AT RISK", "bold yellow"),
    "not_supported": ("NOT SUPPORTED", "bold red"),
}


def _width() -> int:
    """Line width: the terminal's (or $COLUMNS) within 80-160; 120 when there is no terminal."""
    return max(80, min(160, shutil.get_terminal_size((120, 24)).columns))


def _wrap(text: str, indent: int, width: int, first: str = "") -> list[Line]:
    """``first`` + ``text`` wrapped to ``width`` with every line indented by ``indent`` spaces
    (continuation lines also by ``len(first)``), never cutting a word."""
    pad = " " * indent
    wrapped = textwrap.wrap(
        " ".join(text.split()),
        width=max(width, indent + len(first) + 20),
        initial_indent=pad + first,
        subsequent_indent=pad + " " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [pad + first]
    return [[(w, "")] for w in wrapped]


def _head(report: Report, width: int) -> list[Line]:
    label, style = _VERDICT[report.verdict]
    head = f"{report.source or 'note'}  CPT {report.code}  score {report.score}/100  "
    lines: list[Line] = [[(head, "bold"), (label, style)]]
    case = case_summary(report)
    if case:
        lines.append([("Case: ", "bold"), (case.text, "bold magenta" if case.has_conflict else "")])
    if report.summary:
        lines.extend(_wrap(report.summary, 0, width))
    return lines


def _item(item: ChecklistItem, title_width: int, ind: int, width: int, wide: bool) -> list[Line]:
    """One checklist item: badge, title and message, then its evidence and what to dictate.

    ``wide``: the message goes on the title's line, the details under it at column ``ind``;
    otherwise everything goes under the title.
    """
    badge, style = _BADGE[item.status]
    title = (item.title or item.id).ljust(title_width) if wide else (item.title or item.id)
    tag: Line = [("  ", ""), (f"[{badge:^9}]", style), (f" {title}", "")]
    msg = _wrap(item.message, ind, width)
    if wide:
        lines = [tag + [("  " + msg[0][0][0][ind:], "")], *msg[1:]]
    else:
        lines = [tag, *msg]
    for ev in item.evidence[:2]:
        lines.append([(f"{'':{ind}}↳ chars {ev.start}-{ev.end}: \"{short(ev.text, 70)}\"", "")])
    if item.suggestion:
        lines.extend(_wrap(item.suggestion, ind, width, "dictate: "))
        if item.why:
            lines.extend(_wrap(item.why, ind, width, "why: "))
    return lines


def _checklist(report: Report, width: int) -> list[Line]:
    title_width = max(len(i.title or i.id) for i in report.checklist)
    # details sit under the message column; on a narrow terminal, under the title instead
    col = 2 + 11 + 1 + title_width + 2
    wide = width - col >= 50
    ind = col if wide else 14
    return [line for item in report.checklist for line in _item(item, title_width, ind, width, wide)]


def _diagnosis(d: Diagnosis, width: int) -> list[Line]:
    claim = f"; claim {', '.join(d.claim_icd10)}" if d.claim_icd10 else ""
    rest = (
        f": {d.tumor_type or 'not documented'} ({d.category.replace('_', ' ')}), side {d.laterality or 'not documented'}; "
        f"supports {', '.join(d.expected_icd10) or 'no neoplasm code'}{claim}"
    )
    lines: list[Line] = [[("", "")], [("Diagnosis", "bold"), (rest, "")]]
    for p in d.problems:
        lines.extend(_wrap(p, 2, width, "- "))
    return lines


def _tail(report: Report, width: int) -> list[Line]:
    """Advisories and the global period."""
    lines: list[Line] = []
    if report.advisories:
        lines += [[("", "")], [("Advisories", "bold")]]
        for a in report.advisories:
            code = f" {a.code}" if a.code else ""
            lines.extend(_wrap(f"[{a.kind}{code}] {a.message} ({a.confidence})", 2, width, "- "))
    g = report.global_period
    if g:
        lines += [[("", "")], [(f"Global period ({g.days} days): {g.starts} to {g.ends} (date of service {g.date_of_service}).", "")]]
    fee = fee_sentence(getattr(report, "fee", None))
    if fee:
        lines += [[("", "")], *_wrap("Fee context: " + fee, 0, width, "")]
    return lines


def report_lines(report: Report, width: int | None = None) -> list[Line]:
    """The text report as lines of ``(text, style)`` pieces, wrapped to ``width`` (the terminal's)."""
    total = _width() if width is None else width
    return [
        *_head(report, total),
        [("", "")],
        *_checklist(report, total),
        *_diagnosis(report.diagnosis, total),
        *_tail(report, total),
    ]


def plain(lines: Iterable[Line]) -> str:
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def ansi(lines: Iterable[Line]) -> str:
    """The lines with terminal colours, as Rich writes them (the caller decided to colour)."""
    buf = io.StringIO()
    console = Console(
        file=buf, force_terminal=True, color_system="standard", no_color=False,
        highlight=False, markup=False, emoji=False, soft_wrap=True, width=1_000_000,
    )
    console.print(Text("\n").join(Text.assemble(*line) for line in lines), end="\n")
    return buf.getvalue()


def render_text(report: Report, *, color: bool = False) -> str:
    """The report for a terminal: with ``color``, styled through Rich; otherwise plain text."""
    lines = report_lines(report)
    return ansi(lines) if color else plain(lines)
