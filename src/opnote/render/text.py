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


def render_text(report: Report, *, color: bool = False) -> str:
    v, vc = _VERDICT[report.verdict]
    lines = []
    head = f"{report.source or 'note'}  CPT {report.code}  score {report.score}/100  "
    lines.append(_bold(head, color) + _c(v, "1;" + vc, color))
    if report.summary:
        lines.append(report.summary)
    lines.append("")
    width = max(len(i.title or i.id) for i in report.checklist)
    for item in report.checklist:
        badge, bc = _BADGE[item.status]
        lines.append(f"  {_c(f'[{badge:^9}]', bc, color)} {(item.title or item.id).ljust(width)}  {item.message}")
        for ev in item.evidence[:2]:
            lines.append(f"  {'':11} {'':{width}}  ↳ chars {ev.start}-{ev.end}: \"{_short(ev.text, 70)}\"")
        if item.suggestion:
            lines.append(f"  {'':11} {'':{width}}  dictate: {item.suggestion}")
            if item.why:
                lines.append(f"  {'':11} {'':{width}}  why: {_short(item.why, 110)}")
    d = report.diagnosis
    lines.append("")
    lines.append(_bold("Diagnosis", color) + f": {d.tumor_type or 'not documented'} ({d.category.replace('_', ' ')}), side {d.laterality or 'not documented'}; "
                 f"supports {', '.join(d.expected_icd10) or 'no neoplasm code'}"
                 + (f"; claim {', '.join(d.claim_icd10)}" if d.claim_icd10 else ""))
    for p in d.problems:
        lines.append(f"  - {p}")
    if report.advisories:
        lines.append("")
        lines.append(_bold("Advisories", color))
        for a in report.advisories:
            code = f" {a.code}" if a.code else ""
            lines.append(f"  - [{a.kind}{code}] {a.message} ({a.confidence})")
    if report.global_period:
        g = report.global_period
        lines.append("")
        lines.append(f"Global period ({g.days} days): {g.starts} to {g.ends} (date of service {g.date_of_service}).")
    return "\n".join(lines) + "\n"
