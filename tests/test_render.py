"""The HTML, Markdown and batch-index renderers, and `opnote check --format html/markdown --out`."""

from __future__ import annotations

import csv
import html
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from opnote.cli import app
from opnote.render.html import render_html, render_index
from opnote.render.markdown import md_escape, render_markdown
from opnote.schema import Evidence, Report

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "sample_notes" / "dev"
VAGUE = DEV / "right_femur_chondrosarcoma_narrative_vague.txt"
DEV_NOTES = sorted(DEV.glob("*.txt"))
ITEM_IDS = ["tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging", "pathology", "diagnosis_code", "reconstruction", "informed_consent"]

INJECTION = (
    "Right distal femur osteosarcoma <script>document.title='PWNED'</script> treated with a wide resection. "
    '<img src=x onerror="alert(1)"> MRI reviewed & "quoted" | *stars* [link](http://example.invalid) `tick`.\n'
)


def distinct_spans(report: Report) -> set[tuple[int, int]]:
    return {(e.start, e.end) for it in report.checklist for e in it.evidence}


class _Tree(HTMLParser):
    """Checks that every element closes in order, and collects the note's visible text."""

    VOID = {"meta", "br", "img", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.errors: list[str] = []
        self.note_text: list[str] = []
        self.marks: list[dict] = []
        self.mark_text: dict[str, list[str]] = {}

    def _in(self, pred) -> bool:
        return any(pred(t, a) for t, a in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "mark":
            self.marks.append(a)
        if tag not in self.VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        in_note = self._in(lambda t, a: t == "pre" and a.get("id") == "note")
        in_tags = self._in(lambda t, a: "tags" in (a.get("class") or "").split())
        if in_note and not in_tags:
            self.note_text.append(data)
            for t, a in self.stack:  # a split span's text: its <mark> plus its continuations
                if t == "mark" or a.get("data-cont"):
                    self.mark_text.setdefault(a.get("id") or a["data-cont"], []).append(data)


def parse(page: str) -> _Tree:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    return tree


@pytest.fixture(scope="module")
def vague(checker):
    text = VAGUE.read_text(encoding="utf-8")
    return checker.check(text, source=VAGUE.name), text


@pytest.fixture(scope="module")
def injected(checker):
    return checker.check(INJECTION, source="<b>evil</b>.txt"), INJECTION


# --- HTML report ---------------------------------------------------------------------------------


def test_html_escapes_note_text(injected):
    report, text = injected
    page = render_html(report, text=text)
    assert "<script" not in page.lower()  # the report page has no script at all, and none injected
    assert "<img" not in page.lower()
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "<b>evil</b>" not in page and "&lt;b&gt;evil&lt;/b&gt;" in page
    # the visible note text is exactly the note, character for character
    tree = parse(page)
    assert not tree.errors
    assert "".join(tree.note_text) == text


def test_html_escapes_every_report_string(vague):
    report, text = vague
    bad = "<i>x</i>"
    items = [it.model_copy(update={"message": bad + "m", "suggestion": bad + "s", "why": bad + "w", "title": bad + "t"}) for it in report.checklist]
    diag = report.diagnosis.model_copy(update={"tumor_type": bad + "tumor", "problems": [bad + "problem"]})
    advs = [a.model_copy(update={"message": bad + "adv", "source": bad + "src"}) for a in report.advisories]
    evil = report.model_copy(update={"checklist": items, "diagnosis": diag, "advisories": advs, "summary": bad + "summary", "source": bad + "source"})
    page = render_html(evil, text=text)
    assert "<i>" not in page
    for suffix in ("m", "s", "w", "t", "tumor", "problem", "adv", "src", "summary", "source"):
        assert f"&lt;i&gt;x&lt;/i&gt;{suffix}" in page
    assert not parse(page).errors


def test_html_is_self_contained(vague):
    report, text = vague
    page = render_html(report, text=text)
    low = page.lower()
    assert "<script" not in low and "<link" not in low and "<img" not in low and "@import" not in low
    assert "url(" not in low
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", low)
    assert "<style>" in page and "@media print" in page
    assert "default-src 'none'" in page  # CSP: nothing may be fetched


def test_html_top_shows_verdict_score_summary(vague):
    report, text = vague
    page = render_html(report, text=text)
    top = page[: page.index('id="h-items"')]
    assert "AT RISK" in top and f"<b>{report.score}</b>/100" in top
    assert html.escape(report.summary, quote=True) in top


def test_html_lists_all_nine_items_with_text_badges(vague):
    report, text = vague
    page = render_html(report, text=text)
    labels = {"met": "MET", "partial": "PARTIAL", "missing": "MISSING", "conflict": "CONFLICT", "not_applicable": "N/A"}
    assert [it.id for it in report.checklist] == ITEM_IDS
    for it in report.checklist:
        card = re.search(rf'<li class="[^"]*" id="item-{it.id}".*?</li>', page, re.S)
        assert card, it.id
        assert f'class="badge s-{it.status}">' in card.group(0)
        assert labels[it.status] in card.group(0)  # status as text, not only colour
        assert html.escape(it.message, quote=True) in card.group(0)


def test_html_gaps_show_why_and_suggestion(vague):
    report, text = vague
    page = render_html(report, text=text)
    gaps = report.gaps
    assert len(gaps) >= 3
    for it in gaps:
        card = re.search(rf'id="item-{it.id}".*?</li>', page, re.S).group(0)
        assert "Dictate:" in card and html.escape(it.suggestion, quote=True) in card
        assert "Why it matters:" in card and html.escape(it.why, quote=True) in card
    for it in report.checklist:
        if it.status == "met":
            card = re.search(rf'id="item-{it.id}".*?</li>', page, re.S).group(0)
            assert "Dictate:" not in card


def test_html_diagnosis_and_advisories(vague):
    report, text = vague
    page = render_html(report, text=text)
    dx = page[page.index('id="h-dx"'): page.index('id="h-adv"')]
    assert report.diagnosis.tumor_type in dx
    for code in report.diagnosis.expected_icd10:
        assert f"<code>{code}</code>" in dx
    adv = page[page.index('id="h-adv"'): page.index('id="h-note"')]
    assert report.advisories
    for a in report.advisories:
        assert html.escape(a.message, quote=True) in adv
        assert a.confidence.upper() in adv
        for e in a.evidence:
            assert f"chars {e.start}–{e.end}" in adv


@pytest.mark.parametrize("note", DEV_NOTES, ids=lambda p: p.stem)
def test_html_one_highlight_per_distinct_span(checker, note: Path):
    text = note.read_text(encoding="utf-8")
    report = checker.check(text)
    page = render_html(report, text=text)
    tree = parse(page)
    assert not tree.errors, tree.errors[:3]
    spans = distinct_spans(report)
    assert len(tree.marks) == page.count("<mark") == len(spans)
    assert {(int(m["data-start"]), int(m["data-end"])) for m in tree.marks} == spans
    # highlighting does not change the note's text, and each span's pieces hold exactly its text
    assert "".join(tree.note_text) == text
    for m in tree.marks:
        assert "".join(tree.mark_text.get(m["id"], [])) == text[int(m["data-start"]): int(m["data-end"])]


def test_html_highlights_link_to_items_and_back(vague):
    report, text = vague
    page = render_html(report, text=text)
    tree = parse(page)
    by_span = {}
    for n, it in enumerate(report.checklist):
        for e in it.evidence:
            by_span.setdefault((e.start, e.end), []).append(it.id)
    for m in tree.marks:
        key = (int(m["data-start"]), int(m["data-end"]))
        assert m["data-item"].split() == by_span[key]
        mark_html = re.search(rf'<mark [^>]*id="{m["id"]}".*?</mark>', page, re.S).group(0)
        assert 'class="hl cont"' not in mark_html  # (no split spans in this note)
        for item_id in by_span[key]:
            assert f'href="#item-{item_id}"' in mark_html  # highlight -> item
    for it in report.checklist:
        card = re.search(rf'id="item-{it.id}".*?</li>', page, re.S).group(0)
        for e in it.evidence:
            ident = next(m["id"] for m in tree.marks if (int(m["data-start"]), int(m["data-end"])) == (e.start, e.end))
            assert f'href="#{ident}"' in card  # item -> highlight


def _with_evidence(report: Report, spans_by_item: dict[str, list[tuple[int, int]]], text: str) -> Report:
    items = [it.model_copy(update={"evidence": [Evidence(start=s, end=e, text=text[s:e]) for s, e in spans_by_item.get(it.id, [])]}) for it in report.checklist]
    return report.model_copy(update={"checklist": items})


def test_html_overlapping_spans_stay_nested(vague):
    """Nested, identical, crossing and empty spans: valid nesting, one <mark> per distinct span."""
    report, _ = vague
    text = "The right distal femur osteosarcoma was resected with a wide margin of 3 cm."
    spans = {
        "tumor_location": [(4, 22), (10, 22)],  # "right distal femur" contains "distal femur"
        "pathology": [(17, 35)],  # "femur osteosarcoma" crosses "right distal femur"
        "diagnosis_code": [(17, 35), (4, 22)],  # identical to other items' spans
        "margin_intent": [(56, 60), (56, 67), (60, 60)],  # "wide" in "wide margin"; one empty span
        "resection_dimensions": [(61, 75)],  # "margin of 3 cm" crosses "wide margin"
    }
    assert text[56:67] == "wide margin" and text[61:75] == "margin of 3 cm"
    rep = _with_evidence(report, spans, text)
    page = render_html(rep, text=text)
    tree = parse(page)
    assert not tree.errors, tree.errors
    distinct = distinct_spans(rep)
    assert len(distinct) == 7
    assert len(tree.marks) == page.count("<mark") == len(distinct)
    assert "".join(tree.note_text) == text
    shared = [m for m in tree.marks if (m["data-start"], m["data-end"]) == ("4", "22")]
    assert len(shared) == 1 and shared[0]["data-item"] == "tumor_location diagnosis_code"
    assert 'class="hl cont"' in page  # the crossing spans continue after the boundary
    # the item links sit at the end of each span: "femur osteosarcoma" ends with its items' numbers
    assert re.search(r'osteosarcoma<sup class="tags"><a class="tag" href="#item-pathology"[^>]*>6</a><a class="tag" href="#item-diagnosis_code"', page)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 40), st.integers(0, 12)), max_size=14))
def test_html_any_overlap_of_spans_stays_valid(vague, raw):
    """Whatever the spans (shared, nested, crossing, empty): valid nesting, one <mark> each, text intact."""
    report, _ = vague
    text = "Wide resection <of> the right distal femur & chondrosarcoma, margins negative."
    spans: dict[str, list[tuple[int, int]]] = {}
    for item, start, length in raw:
        end = min(start + length, len(text))
        spans.setdefault(ITEM_IDS[item], []).append((start, end))
    rep = _with_evidence(report, spans, text)
    page = render_html(rep, text=text)
    tree = parse(page)
    assert not tree.errors
    assert len(tree.marks) == len(distinct_spans(rep))
    assert "".join(tree.note_text) == text
    for m in tree.marks:
        assert "".join(tree.mark_text.get(m["id"], [])) == text[int(m["data-start"]): int(m["data-end"])]


def test_html_without_text_still_reports(vague):
    report, _ = vague
    page = render_html(report)
    assert "<mark" not in page
    assert all(f'id="item-{i}"' in page for i in ITEM_IDS)
    assert "not included" in page


# --- Markdown ------------------------------------------------------------------------------------


def test_markdown_table_and_sections(vague):
    report, text = vague
    md = render_markdown(report, text=text)
    lines = md.splitlines()
    head = lines.index("| # | Item | Status | Finding | Dictate to complete |")
    rows = lines[head + 2: head + 11]
    assert len(rows) == 9 and all(r.startswith("| ") and r.endswith(" |") for r in rows)
    for n, (row, it) in enumerate(zip(rows, report.checklist), 1):
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 5, row
        assert cells[0].strip() == str(n)
        assert {"met": "MET", "partial": "PARTIAL", "missing": "MISSING", "conflict": "CONFLICT", "not_applicable": "N/A"}[it.status] in cells[2]
        if it.status in ("partial", "missing", "conflict"):
            assert f"`{it.suggestion}`" in cells[4]
    assert "**AT RISK**" in md and f"{report.score}/100" in md
    for it in report.checklist:
        for e in it.evidence:
            assert f"(chars {e.start}–{e.end})" in md
    for a in report.advisories:
        assert md_escape(a.message) in md
    assert "Why the gaps matter" in md


def test_markdown_escapes_note_text(injected):
    report, _ = injected
    md = render_markdown(report, text=INJECTION)
    assert "<script" not in md and "<b>" not in md
    assert "\\<b\\>evil\\</b\\>" in md
    assert md_escape("a | b <script> *x* [y](z) & $1") == "a \\| b \\<script\\> \\*x\\* \\[y\\](z) \\& \\$1"
    # table rows keep their five cells whatever the note says
    assert md_escape("left|right") == "left\\|right"
    assert md_escape("two\nlines") == "two lines"


# --- batch index ---------------------------------------------------------------------------------


def test_index_lists_every_row_and_error():
    rows = [
        {"file": "a/one.txt", "id": None, "score": 65, "verdict": "at_risk", "error": "", "report": "one.html", **{i: "met" for i in ITEM_IDS}},
        {"file": "a/two.txt", "id": None, "score": 100, "verdict": "ready", "error": "", "report": "two.html", **{i: "met" for i in ITEM_IDS}},
        {"file": "a/<three>.txt", "id": None, "score": 30, "verdict": "not_supported", "error": "", "report": "_three_.html", **{i: "missing" for i in ITEM_IDS}},
        {"file": "a/broken.txt", "error": "[E102] a/broken.txt: binary data (NUL byte at offset 3), not a text note"},
    ]
    page = render_index(rows)
    tree = parse(page)
    assert not tree.errors
    for r in rows[:3]:
        assert f'href="{r["report"]}"' in page
        assert f'data-score="{r["score"]}"' in page
    assert "a/&lt;three&gt;.txt" in page and "<three>" not in page
    failed = page[page.index('id="failed"'): page.index('id="checked"')]
    assert "a/broken.txt" in failed and "binary data (NUL byte at offset 3)" in failed
    assert "Notes that could not be checked (1)" in page
    body = page[page.index("<tbody", page.index('id="notes"')):page.index("</tbody>", page.index('id="notes"'))]
    assert body.count("<tr ") == 4  # the note that could not be checked has its row too, counted as such
    assert body.count("COULD NOT CHECK") == 1 and "binary data (NUL byte at offset 3)" in body
    assert "AT RISK" in page and "NOT SUPPORTED" in page and "READY" in page
    # sortable with the inline script, but the table is plain HTML without it
    assert 'data-sort="score"' in page and 'data-sort="verdict"' in page
    assert page.count("<script>") == 1 and "sha256-" in page


def test_index_links_cannot_escape_the_folder():
    rows = [{"file": "x.txt", "score": 50, "verdict": "at_risk", "error": "", "report": "javascript:alert(1)"}]
    page = render_index(rows)
    assert 'href="javascript:' not in page


# --- CLI -----------------------------------------------------------------------------------------


def _notes(tmp_path: Path, names: list[str]) -> Path:
    d = tmp_path / "notes"
    d.mkdir()
    for n in names:
        (d / n).write_text((DEV / n).read_text(encoding="utf-8"), encoding="utf-8")
    return d


@pytest.mark.parametrize("fmt,suffix", [("html", ".html"), ("markdown", ".md")])
def test_cli_out_writes_one_report_per_note(tmp_path, fmt, suffix):
    names = [VAGUE.name, "left_distal_femur_osteosarcoma_dictation_complete.txt"]
    d = _notes(tmp_path, names)
    (d / "bad.txt").write_bytes(b"abc\x00def")
    out = tmp_path / "reports"
    res = CliRunner().invoke(app, ["check", str(d), "--out", str(out), "--format", fmt])
    assert res.exit_code == 2  # one note could not be read; the others were still reported
    for n in names:
        assert (out / (Path(n).stem + suffix)).is_file()
    assert not (out / ("bad" + suffix)).exists()
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == 3
    assert [r["error"] for r in summary if r["file"].endswith("bad.txt")][0].startswith("[E102]")
    page = (out / (VAGUE.stem + suffix)).read_text(encoding="utf-8")
    if fmt == "html":
        assert page.count("<mark") > 0 and "AT RISK" in page
        index = (out / "index.html").read_text(encoding="utf-8")
        for n in names:
            assert f'href="{Path(n).stem}.html"' in index
        assert "bad.txt" in index and "[E102]" in index
    else:
        assert "| # | Item | Status |" in page
        assert not (out / "index.html").exists()
    assert "checking notes" not in res.stderr  # no progress bar when stderr is not a terminal


def test_cli_single_note_html_to_stdout():
    res = CliRunner().invoke(app, ["check", str(VAGUE), "--format", "html"])
    assert res.exit_code == 1
    assert res.stdout.startswith("<!DOCTYPE html>") and res.stdout.count("<mark") > 0


def test_cli_bad_jsonl_record_is_listed_in_the_index(tmp_path):
    out = tmp_path / "r"
    data = '{"id": "n1", "text": "Right distal femur osteosarcoma, wide resection."}\nnot json\n'
    res = CliRunner().invoke(app, ["check", "-", "--out", str(out), "--format", "html"], input=data)
    assert res.exit_code == 2
    assert (out / "n1.html").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;stdin&gt;:2" in index and "not a JSON note record" in index
    assert "wrote 1 report(s)" in res.stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_cli_progress_bar_only_on_a_terminal(tmp_path):
    import pty

    d = _notes(tmp_path, [VAGUE.name, "left_distal_femur_osteosarcoma_dictation_complete.txt", "right_distal_femur_osteosarcoma_dfr_templated.txt"])
    cmd = [sys.executable, "-m", "opnote", "check", str(d), "--out", str(tmp_path / "r"), "--format", "html"]
    # stderr on a pseudo-terminal: the bar is drawn there, and never on stdout
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, timeout=300, env={**os.environ, "NO_COLOR": "1"})
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    tty_err = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 1
    assert "checking notes" in tty_err and "3/3" in tty_err  # a Rich progress bar
    assert b"checking notes" not in proc.stdout
    # stderr piped: no bar at all
    piped = subprocess.run(cmd, capture_output=True, timeout=300)
    assert piped.returncode == 1
    assert b"checking notes" not in piped.stderr and b"\r" not in piped.stderr
    assert b"wrote 3 report(s)" in piped.stderr


# --- terminal text -------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hand_report(**update) -> Report:
    """A small report built by hand (no pipeline), for exact-output tests."""
    from opnote.schema import Advisory, ChecklistItem, Diagnosis

    items = [
        ChecklistItem(id="tumor_location", status="met", title="Tumor location and side", message="Tumor site (femur) and side (right) are documented.", evidence=[Evidence(start=0, end=18, text="Right distal femur")]),
        ChecklistItem(
            id="frozen_section", status="missing", title="Intraoperative frozen section",
            message="No frozen section of the margins is documented; the pathologist's reading of the bone marrow margin is needed.",
            suggestion="Frozen section of the ___ margin was ___.", why="Payers ask how the margin was assessed.",
        ),
        ChecklistItem(id="informed_consent", status="not_applicable", title="Informed consent", severity="recommended", message="Not needed here."),
    ]
    report = Report(
        source="note.txt", score=65, verdict="at_risk", summary="At risk: 1 item to complete (intraoperative frozen section).", checklist=items,
        diagnosis=Diagnosis(tumor_type="osteosarcoma", category="primary_malignant_bone", laterality="right", site="distal_femur", expected_icd10=["C40.21"], problems=["The claim has no code."]),
        advisories=[Advisory(kind="modifier", code="RT", message="Append RT for the right side.", confidence="verified")],
    )
    return report.model_copy(update=update)


TEXT_WIDE = """\
note.txt  CPT 27365  score 65/100  AT RISK
Case: Right distal femur
At risk: 1 item to complete (intraoperative frozen section).

  [   MET   ] Tumor location and side        Tumor site (femur) and side (right) are documented.
                                             ↳ chars 0-18: "Right distal femur"
  [ MISSING ] Intraoperative frozen section  No frozen section of the margins is documented; the pathologist's reading
                                             of the bone marrow margin is needed.
                                             dictate: Frozen section of the ___ margin was ___.
                                             why: Payers ask how the margin was assessed.
  [   N/A   ] Informed consent               Not needed here.

Diagnosis: osteosarcoma (primary malignant bone), side right; supports C40.21
  - The claim has no code.

Advisories
  - [modifier RT] Append RT for the right side. (verified)
"""

TEXT_NARROW = """\
note.txt  CPT 27365  score 65/100  AT RISK
Case: Right distal femur
At risk: 1 item to complete (intraoperative frozen section).

  [   MET   ] Tumor location and side
              Tumor site (femur) and side (right) are documented.
              ↳ chars 0-18: "Right distal femur"
  [ MISSING ] Intraoperative frozen section
              No frozen section of the margins is documented; the pathologist's
              reading of the bone marrow margin is needed.
              dictate: Frozen section of the ___ margin was ___.
              why: Payers ask how the margin was assessed.
  [   N/A   ] Informed consent
              Not needed here.

Diagnosis: osteosarcoma (primary malignant bone), side right; supports C40.21
  - The claim has no code.

Advisories
  - [modifier RT] Append RT for the right side. (verified)
"""


@pytest.mark.parametrize("columns,expected", [("120", TEXT_WIDE), ("80", TEXT_NARROW)], ids=["wide", "narrow"])
def test_text_plain_output_is_pinned(monkeypatch, columns, expected):
    from opnote.render.text import render_text

    monkeypatch.setenv("COLUMNS", columns)
    assert render_text(hand_report()) == expected


def test_text_colour_is_the_plain_text_with_terminal_styles(monkeypatch):
    from opnote.render.text import render_text

    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")  # the caller decides (--color); the renderer does not second-guess it
    coloured = render_text(hand_report(), color=True)
    assert "\x1b[1;33mAT RISK\x1b[0m" in coloured  # verdict in bold yellow
    assert "\x1b[31m[ MISSING ]\x1b[0m" in coloured and "\x1b[32m[   MET   ]\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == TEXT_WIDE


def test_cli_text_is_plain_when_piped_and_coloured_on_request():
    piped = CliRunner().invoke(app, ["check", str(VAGUE)])
    assert piped.exit_code == 1
    assert "\x1b" not in piped.stdout and "[ MISSING ]" in piped.stdout
    coloured = CliRunner().invoke(app, ["check", str(VAGUE), "--color"])
    assert "\x1b[31m[ MISSING ]\x1b[0m" in coloured.stdout
    assert ANSI.sub("", coloured.stdout) == piped.stdout


# --- the case line -------------------------------------------------------------------------------

CASE = {
    "operation": {"value": "radical_resection", "evidence": [{"start": 40, "end": 57, "text": "radical resection"}]},
    "amputation_level": {"value": None, "evidence": []},
    "tissue": {"value": "bone", "evidence": []},
    "tumor_status": {"value": "current", "evidence": []},
    "side": {
        "value": "right",
        "evidence": [{"start": 0, "end": 5, "text": "Right"}],
        "conflicts": [{"value": "left", "place": "implants", "evidence": [{"start": 90, "end": 94, "text": "left"}]}],
    },
}
CASE_LINE = "Right distal femur, bone, current tumor, radical resection"
CONFLICT_LINE = "Right distal femur (⚠ SIDE CONFLICT: left in implants), bone, current tumor, radical resection"


class WithCase:
    """A report with a ``case`` block, as the report model will have (delegates everything else)."""

    def __init__(self, report: Report, case) -> None:
        self._report = report
        self.case = case

    def __getattr__(self, name):
        return getattr(self._report, name)


def as_attributes(value):
    """The case block as nested objects (the shape a pydantic model gives) instead of dicts."""
    from types import SimpleNamespace

    if isinstance(value, dict):
        return SimpleNamespace(**{k: as_attributes(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_attributes(v) for v in value]
    return value


def without_conflict(case: dict) -> dict:
    return {**case, "side": {k: v for k, v in case["side"].items() if k != "conflicts"}}


@pytest.mark.parametrize("shape", [dict, as_attributes], ids=["dicts", "attributes"])
def test_case_line_from_the_case_block(shape):
    from opnote.render import case_line

    report = hand_report()
    assert case_line(WithCase(report, shape(without_conflict(CASE)))) == CASE_LINE
    assert case_line(WithCase(report, shape(CASE))) == CONFLICT_LINE


def test_case_line_before_the_report_has_a_case_block():
    from opnote.render import case_line
    from opnote.schema import Diagnosis

    report = hand_report()  # no case block (or an empty one, once the report model has it)
    assert case_line(report) == "Right distal femur"  # from the diagnosis: side and site
    left_only = report.model_copy(update={"diagnosis": Diagnosis(laterality="left")})
    assert case_line(left_only) == "Left side"
    site_only = report.model_copy(update={"diagnosis": Diagnosis(site="proximal_tibia")})
    assert case_line(site_only) == "Proximal tibia, side not stated"
    assert case_line(report.model_copy(update={"diagnosis": Diagnosis()})) is None


def test_case_line_names_the_amputation_level_and_skips_unknowns():
    from opnote.render import case_line

    case = {
        "operation": {"value": "amputation"},
        "amputation_level": {"value": "transfemoral"},
        "tissue": {"value": "soft_tissue_invading_bone"},
        "tumor_status": {"value": "unknown"},
        "side": {"value": None, "conflicts": []},
    }
    assert case_line(WithCase(hand_report(), case)) == "Right distal femur, soft tissue invading bone, amputation, transfemoral (above-knee)"


def test_case_line_at_the_top_of_every_report(monkeypatch):
    from opnote.render.text import render_text

    monkeypatch.setenv("COLUMNS", "120")
    report = WithCase(hand_report(), CASE)
    page = render_html(report)
    top = page[: page.index('aria-label="verdict"')]
    assert f'<div class="case case-conflict">Case: <b>{CONFLICT_LINE}</b></div>' in top  # words and symbol, not colour alone
    text = render_text(report)
    assert text.splitlines()[1] == f"Case: {CONFLICT_LINE}"
    coloured = render_text(report, color=True)
    assert f"\x1b[1;35m{CONFLICT_LINE}\x1b[0m" in coloured and ANSI.sub("", coloured) == text
    md = render_markdown(report)
    assert md.index(f"**Case:** {CONFLICT_LINE}") < md.index("**AT RISK**")
    plain = render_html(WithCase(hand_report(), without_conflict(CASE)))
    assert f'<div class="case">Case: <b>{CASE_LINE}</b></div>' in plain and "SIDE CONFLICT" not in plain


def test_case_line_is_escaped(monkeypatch):
    evil = {**CASE, "side": {**CASE["side"], "conflicts": [{"value": "left", "place": "<b>implants</b> | *x*"}]}}
    report = WithCase(hand_report(), evil)
    page = render_html(report)
    assert "<b>implants</b>" not in page and "left in &lt;b&gt;implants&lt;/b&gt; | *x*" in page
    assert "left in \\<b\\>implants\\</b\\> \\| \\*x\\*" in render_markdown(report)


def test_no_case_line_when_nothing_is_known(monkeypatch):
    from opnote.render.text import render_text
    from opnote.schema import Diagnosis

    monkeypatch.setenv("COLUMNS", "120")
    bare = hand_report(diagnosis=Diagnosis())
    assert 'class="case' not in render_html(bare)
    assert "**Case:**" not in render_markdown(bare)
    assert "Case:" not in render_text(bare)


def test_templates_and_static_files_are_shipped_with_the_package():
    """Every template, style sheet and script the pages inline is matched by pyproject's package-data
    (a file left out would make an installed opnote fail to render HTML)."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["opnote"]
    pkg = ROOT / "src" / "opnote"
    shipped = [p for d in ("render/templates", "render/static") for p in (pkg / d).iterdir() if p.is_file()]
    assert {p.suffix for p in shipped} == {".html", ".css", ".js"}
    for path in shipped:
        rel = path.relative_to(pkg).as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not in package-data"
