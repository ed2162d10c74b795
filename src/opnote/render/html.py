"""The surgeon-facing HTML report: one self-contained page per note, and a batch index.

Every page is a single file with inline CSS and no external resources (no scripts, fonts, images
or style sheets are fetched), so it opens offline from an e-mail attachment or an EHR viewer. The
per-note report has no script at all; the index has one small inline sorting script and is fully
readable without it. A Content-Security-Policy meta tag forbids any network load and, on the
report, any script, as a second line of defence behind HTML escaping.

Evidence highlighting in the note text
--------------------------------------
Each *distinct* evidence span (a distinct ``(start, end)`` pair over all checklist items) becomes
exactly one ``<mark class="hl" data-item="..." data-start=.. data-end=..>`` element, so the number
of ``<mark>`` elements equals the number of distinct spans:

* a span cited by several items (e.g. the histology word for both ``pathology`` and
  ``diagnosis_code``) is one ``<mark>`` whose ``data-item`` lists every item, in checklist order,
  shaded in their colours and linking to each of them;
* a span inside another span is a ``<mark>`` nested inside the other's ``<mark>``;
* a span that *crosses* another's boundary (starts inside it, ends after it) is split at that
  boundary: its first piece is its ``<mark>``, the remainder continues in
  ``<span class="hl cont">`` elements with the same colour, so the markup stays properly nested
  and the ``<mark>`` count is unchanged.

Each ``<mark>`` carries ``id="ev-N"`` (back-link target from its item's card); a span's last piece
(its ``<mark>``, or for a split span its last continuation) ends with small superscript item
numbers linking to the item(s) (``<sup class="tags"><a href="#item-<id>">``), which also keep the
highlights readable when printed in black and white. The superscripts are not selectable, so
copying the note copies only its text.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from .. import __version__
from ..schema import Evidence, Report

# --- shared labels (also used by the Markdown renderer) ----------------------------------------

STATUS_LABEL = {
    "met": "MET",
    "partial": "PARTIAL",
    "missing": "MISSING",
    "conflict": "CONFLICT",
    "not_applicable": "N/A",
}
STATUS_ICON = {"met": "✓", "partial": "◐", "missing": "✗", "conflict": "⚠", "not_applicable": "–"}
VERDICT_LABEL = {"ready": "READY", "at_risk": "AT RISK", "not_supported": "NOT SUPPORTED"}
VERDICT_ICON = {"ready": "✓", "at_risk": "!", "not_supported": "✗"}
VERDICT_RANK = {"not_supported": 0, "at_risk": 1, "ready": 2}
ADVISORY_LABEL = {
    "code_selection": "Code selection",
    "modifier": "Modifier",
    "bundling": "Bundling",
    "laterality": "Laterality",
}
CATEGORY_LABEL = {
    "primary_malignant_bone": "primary malignant bone tumor",
    "metastatic_bone": "metastatic bone tumor",
    "benign_aggressive_bone": "benign aggressive bone tumor",
    "uncertain_behavior_bone": "bone tumor of uncertain behavior",
    "soft_tissue_sarcoma": "soft-tissue sarcoma",
    "hematologic": "hematologic (myeloma / plasmacytoma / lymphoma)",
    "unknown": "not determined",
}
GAP_STATUSES = ("partial", "missing", "conflict")

# Item colours by checklist position: (highlight background, strong border/text colour).
PALETTE = [
    ("#cfe2ff", "#1d4ed8"),  # blue
    ("#ffd9b0", "#b45309"),  # orange
    ("#c6eec6", "#15803d"),  # green
    ("#ffcfe0", "#be185d"),  # pink
    ("#c0ede7", "#0f766e"),  # teal
    ("#e2d3fa", "#6d28d9"),  # purple
    ("#fdec8f", "#854d0e"),  # yellow
    ("#e9d5c1", "#7c3f12"),  # brown
    ("#d3dbe7", "#334155"),  # slate
]


def esc(s: Any) -> str:
    """HTML-escape any value (quotes too, so the result is safe in attribute values)."""
    return _html.escape("" if s is None else str(s), quote=True)


def _short(s: str, n: int = 90) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _colour(idx: int) -> tuple[str, str]:
    return PALETTE[idx % len(PALETTE)]


# --- evidence spans -----------------------------------------------------------------------------


@dataclass
class _Span:
    start: int
    end: int
    items: list[int] = field(default_factory=list)  # checklist positions, in order
    ident: str = ""


def evidence_spans(report: Report, text: str | None) -> list[_Span]:
    """The distinct evidence spans of the checklist, sorted by (start, -end), with ids ``ev-N``.

    A span is kept only if it lies inside ``text`` and ``text[start:end]`` is its evidence text
    (the contract guarantees this; the check keeps a mismatched report from mis-highlighting).
    """
    if text is None:
        return []
    by_key: dict[tuple[int, int], _Span] = {}
    for idx, item in enumerate(report.checklist):
        for ev in item.evidence:
            if not (0 <= ev.start <= ev.end <= len(text)) or text[ev.start:ev.end] != ev.text:
                continue
            sp = by_key.setdefault((ev.start, ev.end), _Span(ev.start, ev.end))
            if idx not in sp.items:
                sp.items.append(idx)
    spans = sorted(by_key.values(), key=lambda s: (s.start, -s.end))
    for n, sp in enumerate(spans, 1):
        sp.ident = f"ev-{n}"
    return spans


def _mark_style(sp: _Span) -> str:
    cols = [_colour(i) for i in sp.items]
    if len(cols) == 1:
        return f"--bg:{cols[0][0]};--bd:{cols[0][1]}"
    n = len(cols)
    stops = ",".join(f"{c[0]} {k * 100 // n}% {(k + 1) * 100 // n}%" for k, c in enumerate(cols))
    return f"--bg:{cols[0][0]};--bd:{cols[0][1]};background:linear-gradient(180deg,{stops})"


def _highlight(text: str, spans: list[_Span], report: Report) -> str:
    """The escaped note text with properly nested highlight elements (see the module docstring)."""
    items = report.checklist
    points = sorted({p for s in spans for p in (s.start, s.end)} | {0, len(text)})
    starts: dict[int, list[_Span]] = {}
    for s in spans:
        starts.setdefault(s.start, []).append(s)
    out: list[str] = []
    stack: list[_Span] = []  # open elements (innermost last)
    opened: set[str] = set()  # spans whose <mark> was already opened
    closed: set[str] = set()  # ... and closed

    def open_el(sp: _Span) -> None:
        titles = "; ".join(f"{i + 1}. {items[i].title or items[i].id} ({STATUS_LABEL.get(items[i].status, items[i].status)})" for i in sp.items)
        ids = " ".join(items[i].id for i in sp.items)
        if sp.ident in opened:
            out.append(f'<span class="hl cont" data-cont="{esc(sp.ident)}" style="{_mark_style(sp)}">')
        else:
            opened.add(sp.ident)
            out.append(
                f'<mark class="hl" id="{esc(sp.ident)}" data-item="{esc(ids)}" data-start="{sp.start}" '
                f'data-end="{sp.end}" style="{_mark_style(sp)}" title="{esc(titles)}">'
            )
        stack.append(sp)

    def close_el(sp: _Span, at: int) -> None:
        if at == sp.end:  # the span's last piece ends with the links to its item(s)
            tags = "".join(
                f'<a class="tag" href="#item-{esc(items[i].id)}" style="--bd:{_colour(i)[1]}" '
                f'aria-label="checklist item {i + 1}: {esc(items[i].title or items[i].id)}">{i + 1}</a>'
                for i in sp.items
            )
            out.append(f'<sup class="tags">{tags}</sup>')
        if sp.ident not in closed:  # the first piece is the <mark>
            closed.add(sp.ident)
            out.append("</mark>")
        else:
            out.append("</span>")

    pos = 0
    for p in points:
        if p > pos:
            out.append(esc(text[pos:p]))
            pos = p
        # close every open element that ends here, reopening (as continuations) the ones above
        # it that go on past this point
        ending = [s for s in stack if s.end == p]
        if ending:
            deepest = min(stack.index(s) for s in ending)
            popped = stack[deepest:]
            del stack[deepest:]
            for sp in reversed(popped):
                close_el(sp, p)
            reopen = [sp for sp in popped if sp.end > p]
        else:
            reopen = []
        new = starts.get(p, [])
        empties = [s for s in new if s.end == s.start]
        for sp in sorted(reopen + [s for s in new if s.end > s.start], key=lambda s: (-s.end, s.ident not in opened)):
            open_el(sp)
        for sp in empties:
            open_el(sp)
            stack.pop()
            close_el(sp, p)
    if pos < len(text):
        out.append(esc(text[pos:]))
    return "".join(out)


# --- report page --------------------------------------------------------------------------------

_CSS = """
:root{color-scheme:light;--ink:#1f2937;--muted:#5b6472;--line:#d7dce3;--paper:#fff;--wash:#f5f7fa}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--wash);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1040px;margin:0 auto;padding:20px 20px 48px}
h1{font-size:1.15rem;margin:0;font-weight:600;word-break:break-all}
h2{font-size:1.1rem;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
a{color:#1d4ed8}
.meta{color:var(--muted);font-size:.85rem;margin-top:2px}
.sheet{background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.verdict{display:flex;gap:18px;align-items:center;flex-wrap:wrap;border-width:2px;border-left-width:10px;margin-top:12px}
.verdict .v{font-size:1.6rem;font-weight:800;letter-spacing:.02em;padding:4px 14px;border-radius:6px;border:2px solid currentColor;white-space:nowrap}
.v-ready{color:#14532d;border-color:#15803d}.v-ready .v{background:#dcfce7}
.v-at_risk{color:#713f12;border-color:#b45309}.v-at_risk .v{background:#fef3c7}
.v-not_supported{color:#7f1d1d;border-color:#b91c1c}.v-not_supported .v{background:#fee2e2}
.score{min-width:150px;color:var(--ink)}
.score b{font-size:1.5rem}
.bar{height:8px;background:#e5e7eb;border-radius:4px;overflow:hidden;margin-top:4px;border:1px solid #cbd5e1}
.bar i{display:block;height:100%;background:#475569}
.summary{flex:1 1 320px;font-size:1.02rem;color:var(--ink);font-weight:500}
.counts{color:var(--muted);font-size:.88rem;margin-top:4px;font-weight:400}
.badge{display:inline-block;min-width:8.4em;text-align:center;font-weight:700;font-size:.78rem;letter-spacing:.04em;padding:2px 8px;border-radius:4px;border:1.5px solid;white-space:nowrap}
.s-met{background:#e7f6ec;color:#14532d;border-color:#15803d}
.s-partial{background:#fff4d6;color:#713f12;border-color:#b45309}
.s-missing{background:#fde4e3;color:#7f1d1d;border-color:#b91c1c}
.s-conflict{background:#991b1b;color:#fff;border-color:#7f1d1d}
.s-not_applicable{background:#f1f5f9;color:#475569;border-color:#94a3b8;border-style:dashed}
.items{list-style:none;margin:0;padding:0;display:grid;gap:8px}
.item{background:var(--paper);border:1px solid var(--line);border-left:7px solid var(--st);border-radius:6px;padding:8px 12px;scroll-margin-top:12px}
.item:target{outline:3px solid #2563eb;outline-offset:1px}
.st-met{--st:#15803d}.st-partial{--st:#d97706}.st-missing{--st:#dc2626}.st-conflict{--st:#7f1d1d}.st-not_applicable{--st:#94a3b8}
.item.st-partial{background:#fffcf2;border-color:#ecd9b0;border-left-color:var(--st)}
.item.st-missing,.item.st-conflict{background:#fff8f7;border-color:#efc2be;border-left-color:var(--st)}
.ihead{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.num{display:inline-block;width:1.6em;height:1.6em;line-height:1.45em;text-align:center;border-radius:50%;background:var(--bg);border:2px solid var(--bd);font-weight:700;font-size:.85rem;flex:none}
.ititle{font-weight:650;font-size:1rem}
.sev{color:var(--muted);font-size:.8rem}
.msg{margin:4px 0 0 2.3em}
.why{margin:6px 0 0 2.3em;color:#374151;font-size:.92rem}
.why b,.dict b{color:var(--ink)}
.dict{margin:6px 0 2px 2.3em;padding:7px 10px;background:#f8fafc;border:1px dashed #64748b;border-radius:4px;font-size:.95rem}
.dict q{quotes:none;font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.9rem}
.evs{margin:5px 0 0 2.3em;font-size:.88rem;color:var(--muted)}
.evs a,.evs span.q{display:inline-block;margin:1px 6px 1px 0;padding:0 5px;border-radius:3px;background:var(--bg);border-bottom:2px solid var(--bd);color:var(--ink);text-decoration:none}
.evs a:hover{text-decoration:underline}
.evs small{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--paper)}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.dx th{width:210px}
.codes code{font-weight:700;font-size:.95rem;margin-right:6px}
.problems{margin:0;padding-left:18px;color:#7f1d1d}
.conf{display:inline-block;font-size:.75rem;font-weight:700;padding:0 6px;border-radius:3px;border:1px solid}
.conf-verified{background:#e7f6ec;color:#14532d;border-color:#15803d}
.conf-likely{background:#f1f5f9;color:#334155;border-color:#94a3b8;border-style:dashed}
.quote{font-size:.85rem;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.82rem;margin:0 0 8px;padding:0;list-style:none}
.legend a{color:var(--ink);text-decoration:none}
.legend .lst{font-size:.68rem;font-weight:700;padding:0 4px;border-radius:3px;border:1px solid}
.legend .sw{display:inline-block;width:1.9em;text-align:center;border-radius:3px;background:var(--bg);border-bottom:3px solid var(--bd);font-weight:700;margin-right:4px}
.note{white-space:pre-wrap;overflow-wrap:anywhere;font:15px/1.7 Georgia,"DejaVu Serif","Liberation Serif",serif;margin:0;background:var(--paper);border:1px solid var(--line);border-radius:8px;padding:16px 18px}
mark.hl,span.hl{background:var(--bg);color:inherit;border-bottom:2px solid var(--bd);border-radius:2px;padding:1px 0;scroll-margin-top:40px;-webkit-box-decoration-break:clone;box-decoration-break:clone}
mark.hl:target{outline:3px solid #2563eb}
mark.hl mark.hl{border-bottom-width:3px;box-shadow:inset 0 -1px 0 var(--bd)}
sup.tags{font:700 .62rem/1 system-ui,"DejaVu Sans",sans-serif;margin-left:1px;user-select:none;-webkit-user-select:none;vertical-align:super}
a.tag{display:inline-block;min-width:1.35em;padding:1px 2px;margin-left:1px;text-align:center;border:1px solid var(--bd);border-radius:3px;background:#fff;color:var(--bd);text-decoration:none}
.nonote{color:var(--muted);font-style:italic}
footer{margin-top:30px;color:var(--muted);font-size:.8rem}
.skip{position:absolute;left:-9999px}
@media (max-width:640px){main{padding:10px}.msg,.why,.dict,.evs{margin-left:0}}
@media screen and (min-width:1380px){
  main{max-width:1760px}
  .cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:24px;align-items:start}
  .col-note{position:sticky;top:0;max-height:100vh;overflow:auto;padding-bottom:12px}
  .col-note .note{font-size:14.5px}
}
@media print{
  @page{margin:14mm}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{background:#fff;font-size:10.5pt}
  main{max-width:none;padding:0}
  .sheet,.item,.note{border-color:#999}
  .item,.verdict,tr,.dict{break-inside:avoid}
  h2{break-after:avoid}
  .note-sec{break-before:page}
  .note{font-size:10.5pt;line-height:1.6;border:none;padding:0}
  a{color:inherit;text-decoration:none}
  a.tag{color:#000;border-color:#000}
  mark.hl,span.hl{border-bottom-color:#000}
  .item:target,mark.hl:target{outline:none}
}
"""

_CSP_REPORT = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'"


def _evidence_links(evs: Sequence[Evidence], ids: Mapping[tuple[int, int], str], colour: tuple[str, str] | None = None) -> str:
    parts = []
    for ev in evs:
        label = f"“{esc(_short(ev.text, 70))}” <small>chars {ev.start}–{ev.end}</small>"
        ident = ids.get((ev.start, ev.end))
        style = f' style="--bg:{colour[0]};--bd:{colour[1]}"' if colour else ""
        if ident:
            parts.append(f'<a href="#{ident}"{style} title="show in the note">{label}</a>')
        else:
            parts.append(f'<span class="q"{style}>{label}</span>')
    return "".join(parts)


def _item_html(n: int, item: Any, ids: Mapping[tuple[int, int], str]) -> str:
    bg, bd = _colour(n)
    st = item.status
    gap = st in GAP_STATUSES
    cls = "item" + (" gap" if gap else "") + f" st-{esc(st)}"
    h = [f'<li class="{cls}" id="item-{esc(item.id)}" data-status="{esc(st)}" style="--bg:{bg};--bd:{bd}">']
    h.append('<div class="ihead">')
    h.append(f'<span class="num" title="item {n + 1}; its highlight colour in the note">{n + 1}</span>')
    h.append(f'<span class="badge s-{esc(st)}">{STATUS_ICON.get(st, "")} {esc(STATUS_LABEL.get(st, st))}</span>')
    h.append(f'<span class="ititle">{esc(item.title or item.id)}</span>')
    if item.severity != "required":
        h.append(f'<span class="sev">({esc(item.severity)})</span>')
    h.append("</div>")
    h.append(f'<div class="msg">{esc(item.message)}</div>')
    if item.evidence:
        h.append(f'<div class="evs">In the note: {_evidence_links(item.evidence, ids)}</div>')
    if gap and item.suggestion:
        h.append(f'<div class="dict"><b>Dictate:</b> <q>{esc(item.suggestion)}</q></div>')
    if gap and item.why:
        h.append(f'<div class="why"><b>Why it matters:</b> {esc(item.why)}</div>')
    h.append("</li>")
    return "".join(h)


def _diagnosis_html(report: Report, ids: Mapping[tuple[int, int], str]) -> str:
    d = report.diagnosis
    rows = [
        ("Tumor type", esc(d.tumor_type) if d.tumor_type else "<em>not documented</em>"),
        ("Category", esc(CATEGORY_LABEL.get(d.category, d.category))),
        ("Side", esc(d.laterality) if d.laterality else "<em>not documented</em>"),
    ]
    if d.site:
        rows.append(("Site", esc(d.site)))
    if d.certainty != "none":
        rows.append(("Diagnosis certainty", esc(d.certainty)))
    exp = "".join(f"<code>{esc(c)}</code>" for c in d.expected_icd10) or "<em>no neoplasm code supported</em>"
    rows.append(("Codes the note supports", f'<span class="codes">{exp}</span>'))
    claim = "".join(f"<code>{esc(c)}</code>" for c in d.claim_icd10) or "<em>none given (pass the claim's codes with --icd10 to compare)</em>"
    rows.append(("Codes on the claim", f'<span class="codes">{claim}</span>'))
    if d.consistent is not None:
        ok = "✓ consistent with the note" if d.consistent else "✗ NOT consistent with the note"
        rows.append(("Claim vs note", f"<strong>{ok}</strong>"))
    if d.problems:
        rows.append(("Problems", '<ul class="problems">' + "".join(f"<li>{esc(p)}</li>" for p in d.problems) + "</ul>"))
    if d.evidence:
        rows.append(("Evidence", f'<span class="evs" style="margin:0">{_evidence_links(d.evidence, ids, ("#eef1f5", "#94a3b8"))}</span>'))
    body = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="dx">{body}</table>'


def _advisories_html(report: Report, ids: Mapping[tuple[int, int], str]) -> str:
    if not report.advisories:
        return '<p class="nonote">No coding advisories.</p>'
    head = "<tr><th>Kind</th><th>Code</th><th>Advisory</th><th>Confidence</th><th>Evidence</th></tr>"
    rows = []
    for a in report.advisories:
        src = f'<div class="quote">Source: {esc(a.source)}</div>' if a.source else ""
        ev = f'<span class="evs" style="margin:0">{_evidence_links(a.evidence, ids, ("#eef1f5", "#94a3b8"))}</span>' if a.evidence else "—"
        rows.append(
            f"<tr data-kind=\"{esc(a.kind)}\"><td>{esc(ADVISORY_LABEL.get(a.kind, a.kind))}</td>"
            f"<td><code>{esc(a.code) if a.code else '—'}</code></td><td>{esc(a.message)}{src}</td>"
            f"<td><span class=\"conf conf-{esc(a.confidence)}\">{esc(a.confidence.upper())}</span></td><td>{ev}</td></tr>"
        )
    return f'<table class="adv"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _legend(report: Report) -> str:
    lis = []
    for n, it in enumerate(report.checklist):
        bg, bd = _colour(n)
        lis.append(
            f'<li><a href="#item-{esc(it.id)}"><span class="sw" style="--bg:{bg};--bd:{bd}">{n + 1}</span>'
            f"{esc(it.title or it.id)} <span class=\"lst s-{esc(it.status)}\">{STATUS_ICON.get(it.status, '')} {esc(STATUS_LABEL.get(it.status, it.status))}</span></a></li>"
        )
    return f'<ul class="legend" aria-label="highlight colours">{"".join(lis)}</ul>'


def render_html(report: Report, text: str | None = None) -> str:
    """One self-contained HTML page for a report; with ``text``, the note with its evidence highlighted."""
    spans = evidence_spans(report, text)
    ids = {(s.start, s.end): s.ident for s in spans}
    verdict = report.verdict
    vlabel = VERDICT_LABEL.get(verdict, str(verdict).upper())
    source = report.source or "note"
    counts: dict[str, int] = {}
    for it in report.checklist:
        counts[it.status] = counts.get(it.status, 0) + 1
    count_txt = ", ".join(f"{counts[s]} {STATUS_LABEL[s].lower()}" for s in STATUS_LABEL if counts.get(s))
    title = f"{vlabel} {report.score}/100 · CPT {report.code} · {source}"

    h: list[str] = []
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    h.append(f'<meta http-equiv="Content-Security-Policy" content="{_CSP_REPORT}">\n')
    h.append('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    h.append('<meta name="generator" content="opnote ' + esc(report.opnote_version or __version__) + '">\n')
    h.append(f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")
    h.append('<a class="skip" href="#note">Skip to the note</a>\n<main>\n<header>\n')
    h.append(f"<h1>Operative note documentation check · CPT {esc(report.code)}</h1>\n")
    h.append(f'<div class="meta">{esc(source)}</div>\n')
    h.append(f'<section class="sheet verdict v-{esc(verdict)}" aria-label="verdict" data-verdict="{esc(verdict)}">')
    h.append(f'<div class="v">{VERDICT_ICON.get(verdict, "")} {esc(vlabel)}</div>')
    h.append(
        f'<div class="score" data-score="{report.score}">Score <b>{report.score}</b>/100'
        f'<div class="bar" role="img" aria-label="score {report.score} of 100"><i style="width:{max(0, min(100, report.score))}%"></i></div></div>'
    )
    h.append(f'<div class="summary">{esc(report.summary)}<div class="counts">Checklist: {esc(count_txt)}</div></div>')
    h.append("</section>\n</header>\n")

    h.append('<div class="cols"><div class="col-main">\n')
    h.append('<section aria-labelledby="h-items"><h2 id="h-items">Documentation checklist</h2>\n<ol class="items">')
    for n, item in enumerate(report.checklist):
        h.append(_item_html(n, item, ids))
    h.append("</ol></section>\n")

    h.append('<section aria-labelledby="h-dx"><h2 id="h-dx">Diagnosis and ICD-10-CM</h2>')
    h.append(_diagnosis_html(report, ids))
    h.append("</section>\n")

    h.append('<section aria-labelledby="h-adv"><h2 id="h-adv">Coding advisories</h2>')
    h.append(_advisories_html(report, ids))
    h.append("</section>\n")

    if report.global_period:
        g = report.global_period
        h.append('<section aria-labelledby="h-gp"><h2 id="h-gp">Global surgical period</h2><p class="sheet">')
        h.append(
            f"{g.days}-day global period from <strong>{esc(g.starts)}</strong> to <strong>{esc(g.ends)}</strong> "
            f"(date of service {esc(g.date_of_service)})."
        )
        if g.evidence:
            h.append(f' <span class="evs" style="margin:0">{_evidence_links(g.evidence, ids, ("#eef1f5", "#94a3b8"))}</span>')
        h.append("</p></section>\n")

    h.append('</div>\n<div class="col-note">\n')
    h.append('<section class="note-sec" aria-labelledby="h-note"><h2 id="h-note">The note, with the evidence for each item</h2>\n')
    if text is None:
        h.append('<p class="nonote" id="note">The note text was not included in this report.</p>')
    else:
        h.append(_legend(report))
        h.append(f'<pre class="note" id="note" data-spans="{len(spans)}">{_highlight(text, spans, report)}</pre>')
    h.append("</section>\n</div></div>\n")
    h.append(
        f"<footer>opnote {esc(report.opnote_version or __version__)} · checklist {esc(report.checklist_version or '?')} · "
        f"report schema v{esc(report.schema_version)}. A documentation aid, not a coding decision: "
        "check codes against current payer and coding guidance.</footer>\n"
    )
    h.append("</main>\n</body>\n</html>\n")
    return "".join(h)


# --- batch index --------------------------------------------------------------------------------

_INDEX_JS = """(function(){
var t=document.getElementById('notes');if(!t||!t.tBodies.length)return;
var body=t.tBodies[0],ths=t.tHead.rows[0].cells;
function key(tr,k){var v=tr.getAttribute('data-'+k);return k==='file'?(v||''):parseFloat(v);}
for(var i=0;i<ths.length;i++)(function(th){
 var k=th.getAttribute('data-sort');if(!k)return;
 var b=document.createElement('button');b.type='button';b.className='sort';
 while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
 b.addEventListener('click',function(){
  var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  for(var j=0;j<ths.length;j++)ths[j].removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,c){var x=key(a,k),y=key(c,k);
   if(x<y)return -dir;if(x>y)return dir;return key(a,'order')-key(c,'order');});
  rows.forEach(function(r){body.appendChild(r);});
 });
})(ths[i]);
document.documentElement.className+=' js';
})();"""

_INDEX_CSS = """
:root{color-scheme:light;--ink:#1f2937;--muted:#5b6472;--line:#d7dce3}
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:var(--ink);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",Arial,sans-serif}
main{max-width:1300px;margin:0 auto;padding:20px}
h1{font-size:1.3rem;margin:0 0 6px}
h2{font-size:1.05rem;margin:24px 0 8px}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0 4px;padding:0;list-style:none}
.totals li{background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 12px}
.totals b{font-size:1.2rem}
.hint{color:var(--muted);font-size:.85rem;margin:4px 0 10px}
.js .nojs{display:none}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid var(--line);padding:5px 7px;text-align:left;vertical-align:top}
thead th{background:#eef1f5;position:sticky;top:0;z-index:1}
th.it,td.it{text-align:center;width:3.6em;padding:4px 2px}
th.it{font-size:.78rem;font-weight:600}
th.it abbr{text-decoration:none}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-weight:700}
td.file{word-break:break-all}
button.sort{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit;text-decoration:underline dotted}
th[aria-sort=ascending] button.sort::after{content:" ▲"}
th[aria-sort=descending] button.sort::after{content:" ▼"}
.badge{display:inline-block;font-weight:700;font-size:.75rem;letter-spacing:.03em;padding:1px 7px;border-radius:4px;border:1.5px solid;white-space:nowrap}
.v-ready{background:#dcfce7;color:#14532d;border-color:#15803d}
.v-at_risk{background:#fef3c7;color:#713f12;border-color:#b45309}
.v-not_supported{background:#fee2e2;color:#7f1d1d;border-color:#b91c1c}
.st{display:inline-block;min-width:1.7em;font-weight:700;border-radius:3px;border:1px solid}
.s-met{background:#e7f6ec;color:#14532d;border-color:#15803d}
.s-partial{background:#fff4d6;color:#713f12;border-color:#b45309}
.s-missing{background:#fde4e3;color:#7f1d1d;border-color:#b91c1c}
.s-conflict{background:#991b1b;color:#fff;border-color:#7f1d1d}
.s-not_applicable{background:#f1f5f9;color:#475569;border-color:#94a3b8;border-style:dashed}
.legend{font-size:.82rem;color:var(--muted);margin:6px 0 0}
.legend .st{margin:0 3px 0 10px;text-align:center}
.failed td{background:#fff7f7}
footer{margin-top:24px;color:var(--muted);font-size:.8rem}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}body{background:#fff;font-size:9pt}main{max-width:none;padding:0}
 thead th{position:static}tr{break-inside:avoid}a{color:inherit;text-decoration:none}button.sort{text-decoration:none}
 th[aria-sort] button.sort::after{content:""}}
"""

_SHORT = {
    "tumor_location": "Site",
    "margin_intent": "Margin",
    "resection_dimensions": "Size",
    "frozen_section": "Frozen",
    "preop_imaging": "Imaging",
    "pathology": "Path.",
    "diagnosis_code": "ICD",
    "reconstruction": "Recon.",
    "informed_consent": "Consent",
}
_ITEM_IDS = ["tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging", "pathology", "diagnosis_code", "reconstruction", "informed_consent"]


def _index_items(code: str, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    try:
        from .. import rules

        return [(it.id, it.title) for it in rules.checklist(code).items]
    except Exception:  # noqa: BLE001 - an unknown code still gets an index
        return [(i, i.replace("_", " ")) for i in _ITEM_IDS]


def _csp_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def render_index(rows: Sequence[Mapping[str, Any]], code: str = "27365") -> str:
    """One page listing every note of a batch (sortable by score, verdict and file name).

    ``rows`` are the dicts ``opnote check --out`` builds: ``file``, ``id``, ``score``, ``verdict``,
    one key per checklist item id (its status), ``report`` (the report's file name in the same
    folder) and ``error`` (non-empty for a note that could not be checked).
    """
    items = _index_items(code, rows)
    ok = [r for r in rows if not r.get("error") and r.get("verdict") is not None]
    failed = [r for r in rows if r.get("error") or r.get("verdict") is None]
    by_verdict = {v: sum(1 for r in ok if r.get("verdict") == v) for v in VERDICT_LABEL}
    scores = [r["score"] for r in ok if isinstance(r.get("score"), (int, float))]

    h: list[str] = []
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{_csp_hash(_INDEX_JS)}'; base-uri 'none'; form-action 'none'"
    h.append(f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n')
    h.append('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    h.append(f"<title>opnote batch · CPT {esc(code)} · {len(rows)} note(s)</title>\n<style>{_INDEX_CSS}</style>\n</head>\n<body>\n<main>\n")
    h.append(f"<h1>Operative note documentation check · CPT {esc(code)}</h1>\n")
    h.append('<ul class="totals">')
    h.append(f"<li><b>{len(rows)}</b> note(s)</li>")
    for v, lab in VERDICT_LABEL.items():
        h.append(f'<li><span class="badge v-{v}">{VERDICT_ICON[v]} {lab}</span> <b>{by_verdict[v]}</b></li>')
    if failed:
        h.append(f'<li><span class="badge v-not_supported">✗ COULD NOT CHECK</span> <b>{len(failed)}</b></li>')
    if scores:
        h.append(f"<li>mean score <b>{sum(scores) / len(scores):.0f}</b>/100</li>")
    h.append("</ul>\n")

    if failed:
        h.append(f'<h2 id="failed">Notes that could not be checked ({len(failed)})</h2>\n')
        h.append('<table class="failed"><thead><tr><th>File</th><th>Error</th></tr></thead><tbody>')
        for r in failed:
            h.append(f'<tr><td class="file">{esc(r.get("file"))}</td><td>{esc(r.get("error") or "not checked")}</td></tr>')
        h.append("</tbody></table>\n")

    h.append(f'<h2 id="checked">Checked notes ({len(ok)})</h2>\n')
    h.append('<p class="hint"><span class="nojs">Listed in input order. </span>Click a column heading to sort; click a file to open its report.</p>\n')
    head = ['<th data-sort="file" scope="col">File</th>', '<th data-sort="score" scope="col">Score</th>', '<th data-sort="verdict" scope="col">Verdict</th>']
    for n, (iid, ititle) in enumerate(items, 1):
        head.append(f'<th class="it" scope="col"><abbr title="{n}. {esc(ititle)}">{esc(_SHORT.get(iid, str(n)))}</abbr></th>')
    h.append(f'<table id="notes"><thead><tr>{"".join(head)}</tr></thead><tbody>')
    for order, r in enumerate(ok):
        verdict = str(r.get("verdict"))
        score = r.get("score")
        name = r.get("report")
        file_txt = esc(r.get("file"))
        file_cell = f'<a href="{esc(quote(str(name)))}">{file_txt}</a>' if name else file_txt
        cells = [
            f'<td class="file">{file_cell}</td>',
            f'<td class="num">{esc(score)}</td>',
            f'<td><span class="badge v-{esc(verdict)}">{VERDICT_ICON.get(verdict, "")} {esc(VERDICT_LABEL.get(verdict, verdict))}</span></td>',
        ]
        for iid, ititle in items:
            st = r.get(iid)
            if st:
                st = str(st)
                cells.append(
                    f'<td class="it" data-status="{esc(st)}"><span class="st s-{esc(st)}" title="{esc(ititle)}: {esc(STATUS_LABEL.get(st, st))}">'
                    f"{STATUS_ICON.get(st, '?')}</span></td>"
                )
            else:
                cells.append('<td class="it"></td>')
        sort_score = score if isinstance(score, (int, float)) else -1
        h.append(
            f'<tr data-order="{order}" data-score="{sort_score}" data-verdict="{VERDICT_RANK.get(verdict, -1)}" '
            f'data-file="{esc(r.get("file"))}">{"".join(cells)}</tr>'
        )
    h.append("</tbody></table>\n")
    leg = "".join(f'<span class="st s-{s}">{STATUS_ICON[s]}</span>{STATUS_LABEL[s]}' for s in STATUS_LABEL)
    cols = " · ".join(f"{esc(_SHORT.get(i, str(n)))} = {esc(t)}" for n, (i, t) in enumerate(items, 1))
    h.append(f'<p class="legend">Status: {leg}</p><p class="legend">Columns: {cols}</p>\n')
    h.append(f"<footer>opnote {esc(__version__)}. Verdict sort order: not supported, at risk, ready.</footer>\n")
    h.append(f"</main>\n<script>{_INDEX_JS}</script>\n</body>\n</html>\n")
    return "".join(h)
