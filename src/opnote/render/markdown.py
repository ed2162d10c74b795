"""A Markdown report for pasting into a ticket or an EHR message.

Note-derived text (evidence quotes, tumor type, file names) goes through :func:`md_escape`, which
backslash-escapes the characters that could start Markdown formatting, links, raw HTML or table
cells, so a note containing ``*``, ``_``, ``|``, ``[..](..)`` or ``<script>`` shows as typed.
Line breaks inside quotes are collapsed to spaces (a quote never breaks a table or a list).
The fill-in sentences to dictate are shown as code spans: they render literally (their ``___``
blanks are not read as emphasis) and stay readable where the message is not rendered.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .case import case_line
from .labels import (
    ADVISORY_LABEL,
    CATEGORY_LABEL,
    GAP_STATUSES,
    STATUS_ICON,
    STATUS_LABEL,
    VERDICT_LABEL,
    fee_sentence,
    short,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import Advisory, ChecklistItem, Diagnosis, Evidence, Report

# Inline-significant characters only: everything opnote writes sits mid-line (after "| " or
# "- "), so line-start markers (#, +, -, 1.) cannot trigger; "(" only matters after an escaped "]".
# An underscore inside a word (file_name) never emphasises in CommonMark, so it stays as typed.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~$&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def md_escape(s: object) -> str:
    """Escape Markdown-significant characters and collapse whitespace to single spaces."""
    text = " ".join(str("" if s is None else s).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(s: object) -> str:
    """A code span holding ``s`` literally (fenced with enough backticks; pipes escaped for tables)."""
    text = " ".join(str("" if s is None else s).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def _quote(ev: Evidence, n: int = 120) -> str:
    return f"“{md_escape(short(ev.text, n))}” (chars {ev.start}–{ev.end})"


def _head(report: Report) -> list[str]:
    v = VERDICT_LABEL.get(report.verdict, str(report.verdict).upper())
    out = [f"### opnote: CPT {md_escape(report.code)} documentation check — {md_escape(report.source or 'note')}", ""]
    case = case_line(report)
    if case:
        out += [f"**Case:** {md_escape(case)}", ""]
    out.append(f"**{v}** · score **{report.score}/100**")
    if report.summary:
        out += ["", md_escape(report.summary)]
    return out


def _status(item: ChecklistItem) -> str:
    status = f"{STATUS_ICON.get(item.status, '')} {STATUS_LABEL.get(item.status, str(item.status))}"
    return f"**{status}**" if item.status in GAP_STATUSES else status


def _checklist(report: Report) -> list[str]:
    out = ["", "| # | Item | Status | Finding | Dictate to complete |", "|---|------|--------|---------|---------------------|"]
    for n, it in enumerate(report.checklist, 1):
        sugg = md_code(it.suggestion) if it.suggestion and it.status in GAP_STATUSES else ""
        out.append(f"| {n} | {md_escape(it.title or it.id)} | {_status(it)} | {md_escape(it.message)} | {sugg} |")
    return out


def _why(report: Report) -> list[str]:
    gaps = [(n, it) for n, it in enumerate(report.checklist, 1) if it.status in GAP_STATUSES and it.why]
    if not gaps:
        return []
    return ["", "**Why the gaps matter**", ""] + [f"- **{n}. {md_escape(it.title or it.id)}**: {md_escape(it.why)}" for n, it in gaps]


def _evidence(report: Report) -> list[str]:
    with_ev = [(n, it) for n, it in enumerate(report.checklist, 1) if it.evidence]
    if not with_ev:
        return []
    return ["", "**Evidence in the note** (character offsets into the note)", ""] + [
        f"- **{n}. {md_escape(it.title or it.id)}**: " + "; ".join(_quote(e) for e in it.evidence) for n, it in with_ev
    ]


def _claim(d: Diagnosis) -> str:
    if not d.claim_icd10:
        return "- Codes on the claim: none given"
    verdict = "" if d.consistent is None else (" — consistent with the note" if d.consistent else " — **not consistent with the note**")
    return f"- Codes on the claim: {', '.join(md_code(c) for c in d.claim_icd10)}{verdict}"


def _diagnosis(d: Diagnosis) -> list[str]:
    tumor = md_escape(d.tumor_type) if d.tumor_type else "not documented"
    return [
        "",
        "**Diagnosis and ICD-10-CM**",
        "",
        f"- Tumor: {tumor} ({md_escape(CATEGORY_LABEL.get(d.category, d.category))}); side: {md_escape(d.laterality or 'not documented')}",
        f"- Codes the note supports: {', '.join(md_code(c) for c in d.expected_icd10) or 'no neoplasm code'}",
        _claim(d),
        *(f"- Problem: {md_escape(p)}" for p in d.problems),
    ]


def _advisory(a: Advisory) -> str:
    ev = "; ".join(_quote(e, 60) for e in a.evidence) or "—"
    code = md_code(a.code) if a.code else "—"
    return f"| {md_escape(ADVISORY_LABEL.get(a.kind, a.kind))} | {code} | {md_escape(a.message)} | {md_escape(a.confidence)} | {ev} |"


def _advisories(report: Report) -> list[str]:
    if not report.advisories:
        return []
    head = ["", "**Coding advisories**", "", "| Kind | Code | Advisory | Confidence | Evidence |", "|------|------|----------|------------|----------|"]
    return head + [_advisory(a) for a in report.advisories]


def _tail(report: Report) -> list[str]:
    out: list[str] = []
    g = report.global_period
    if g:
        out += ["", f"**Global period:** {g.days} days, {md_escape(g.starts)} to {md_escape(g.ends)} (date of service {md_escape(g.date_of_service)})."]
    fee = fee_sentence(getattr(report, "fee", None))
    if fee:
        out += ["", f"**Fee context:** {md_escape(fee)}"]
    out += ["", f"_opnote {md_escape(report.opnote_version)}, checklist {md_escape(report.checklist_version)}: a documentation aid, not a coding decision._"]
    return out


def render_markdown(report: Report, text: str | None = None) -> str:
    """The report as Markdown: case, verdict, checklist table, evidence, diagnosis, advisories.

    ``text`` is accepted for symmetry with the HTML renderer; the Markdown report quotes only the
    evidence spans (with their character offsets), never the whole note.
    """
    _ = text
    out = [
        *_head(report),
        *_checklist(report),
        *_why(report),
        *_evidence(report),
        *_diagnosis(report.diagnosis),
        *_advisories(report),
        *_tail(report),
    ]
    return "\n".join(out) + "\n"
