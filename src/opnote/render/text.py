"""A readable terminal report (coloured on a terminal, plain when piped)."""

from __future__ import annotations

from ..schema import Report

_BADGE = {
    "met": ("MET", "32"),
    "partial": ("PARTIAL", "33"),
    "missing": ("MISSING", "31"),
    "conflict": ("CONFLICT", "35"),
    "not_applicable": ("N/A", "90"),
}
_VERDICT = {"ready": ("READY", "32"), "at_risk": ("AT RISK", "33"), "not_supported": ("NOT SUPPORTED", "31")}


def _c(s: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{s}\x1b[0m" if color else s


def _bold(s: str, color: bool) -> str:
    return f"\x1b[1m{s}\x1b[0m" if color else s


def _short(s: str, n: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _width() -> int:
    """Line width: the terminal's (or $COLUMNS) within 80-160; 120 when there is no terminal."""
    import shutil

    return max(80, min(160, shutil.get_terminal_size((120, 24)).columns))


def _wrap(text: str, indent: int, width: int, first: str = "") -> list[str]:
    """``first`` + ``text`` wrapped to ``width`` with every line indented by ``indent`` spaces
    (continuation lines also by ``len(first)``), never cutting a word."""
    import textwrap

    pad = " " * indent
    return textwrap.wrap(
        " ".join(text.split()),
        width=max(width, indent + len(first) + 20),
        initial_indent=pad + first,
        subsequent_indent=pad + " " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [pad + first]


def render_text(report: Report, *, color: bool = False) -> str:
    v, vc = _VERDICT[report.verdict]
    lines = []
    total = _width()
    head = f"{report.source or 'note'}  CPT {report.code}  score {report.score}/100  "
    lines.append(_bold(head, color) + _c(v, "1;" + vc, color))
    if report.summary:
        lines.extend(_wrap(report.summary, 0, total))
    lines.append("")
    width = max(len(i.title or i.id) for i in report.checklist)
    # details sit under the message column; on a narrow terminal, under the title instead
    col = 2 + 11 + 1 + width + 2
    wide = total - col >= 50
    ind = col if wide else 14
    for item in report.checklist:
        badge, bc = _BADGE[item.status]
        title = (item.title or item.id).ljust(width) if wide else (item.title or item.id)
        tag = f"  {_c(f'[{badge:^9}]', bc, color)} {title}"
        if wide:
            msg = _wrap(item.message, ind, total)
            lines.append(tag + "  " + msg[0][ind:])
            lines.extend(msg[1:])
        else:
            lines.append(tag)
            lines.extend(_wrap(item.message, ind, total))
        for ev in item.evidence[:2]:
            lines.append(f"{'':{ind}}↳ chars {ev.start}-{ev.end}: \"{_short(ev.text, 70)}\"")
        if item.suggestion:
            lines.extend(_wrap(item.suggestion, ind, total, "dictate: "))
            if item.why:
                lines.extend(_wrap(item.why, ind, total, "why: "))
    d = report.diagnosis
    lines.append("")
    lines.append(_bold("Diagnosis", color) + f": {d.tumor_type or 'not documented'} ({d.category.replace('_', ' ')}), side {d.laterality or 'not documented'}; "
                 f"supports {', '.join(d.expected_icd10) or 'no neoplasm code'}"
                 + (f"; claim {', '.join(d.claim_icd10)}" if d.claim_icd10 else ""))
    for p in d.problems:
        lines.extend(_wrap(p, 2, total, "- "))
    if report.advisories:
        lines.append("")
        lines.append(_bold("Advisories", color))
        for a in report.advisories:
            code = f" {a.code}" if a.code else ""
            lines.extend(_wrap(f"[{a.kind}{code}] {a.message} ({a.confidence})", 2, total, "- "))
    if report.global_period:
        g = report.global_period
        lines.append("")
        lines.append(f"Global period ({g.days} days): {g.starts} to {g.ends} (date of service {g.date_of_service}).")
    return "\n".join(lines) + "\n"
