"""The batch dashboard at the top of index.html (issue 17): its numbers against summary.csv, the
``--group-by`` view, the page's data for filters and download, and rows that never break it.

The same page in headless Chromium (charts, filters, no network) is in test_dashboard_browser.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opnote import rules
from opnote.render.dashboard import period_key
from opnote.render.html import render_index

from notes import note

ITEMS = [it.id for it in rules.checklist("27365").items]
GAPS = ("missing", "partial", "conflict")
CURETTAGE = "PROCEDURE: Curettage of the right distal femur with cementation."


# --- reading the page ----------------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Every node under this one with ``tag`` and these attribute values (``class_`` matches one class)."""
        found = []
        for child in self.children:
            if _matches(child, tag, attrs):
                found.append(child)
            found += child.all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}>"
        return found[0]

    def full_text(self) -> str:
        return self.text + "".join(c.full_text() for c in self.children)


def _matches(node: Node, tag: str | None, attrs: dict[str, str]) -> bool:
    if tag and node.tag != tag:
        return False
    for k, v in attrs.items():
        if k == "class_":
            if v not in node.attrs.get("class", "").split():
                return False
        elif node.attrs.get(k.replace("_", "-")) != v:
            return False
    return True


VOID = {"br", "meta", "input", "img", "hr", "link", "col", "wbr", "area", "base", "source", "track", "embed"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag == "br":
            node.text = " "  # a line break reads as a space
        elif tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.cur))

    def handle_endtag(self, tag: str) -> None:
        node = self.cur
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data: str) -> None:
        last = self.cur.children[-1] if self.cur.children else None
        if last is not None and last.tag == "#text":
            last.text += data
        else:
            self.cur.children.append(Node("#text", {}, self.cur))
            self.cur.children[-1].text = data


def dom(page: str) -> Node:
    b = _Builder()
    b.feed(page)
    b.close()
    return b.root


def read_summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def page_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="rows-data">(.*?)</script>', page, re.S)
    assert m, "the page has no row data"
    return json.loads(m.group(1))


def bar_counts(root: Node, chart: str) -> dict[str, int]:
    return {g.attrs["data-key"]: int(g.attrs["data-count"]) for g in root.one(id=chart).all("g", class_="bar")}


# --- summary.csv and the page share their rows ---------------------------------------------------


def write_notes(folder: Path, notes: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in notes.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def dated(text: str, day: str) -> str:
    return text + f"\nDATE OF SERVICE: {day}\n"


BATCH = {
    "a_ready.txt": dated(note(), "01/15/2025"),
    "b_ready.txt": dated(note(), "03/02/2025"),
    "c_at_risk.txt": dated(note(ind=None), "01/20/2025"),
    "d_at_risk.txt": dated(note(ind=None), "03/18/2025"),
    "e_curettage.txt": dated(note(proc=CURETTAGE), "03/30/2025"),
    "f_undated.txt": note(ind=None),
}


def test_summary_csv_and_the_page_have_the_same_rows(run, tmp_path):
    notes = write_notes(tmp_path / "notes", BATCH)
    (notes / "g_binary.txt").write_bytes(b"abc\x00def")
    out = tmp_path / "out"
    res = run(notes, "--out", out, "--format", "html")
    assert res.exit_code == 2, res.stderr  # one note could not be read; the others were checked
    assert "Traceback" not in res.stderr
    rows = read_summary(out)
    assert [r["date_of_service"] for r in rows] == ["2025-01-15", "2025-03-02", "2025-01-20", "2025-03-18", "2025-03-30", "", ""]
    page = (out / "index.html").read_text(encoding="utf-8")
    data = page_data(page)
    # the page's download writes exactly summary.csv's cells, in its columns
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    assert data["fields"] == lines[0] and data["rows"] == lines[1:]
    assert data["items"] == ITEMS
    root = dom(page)
    # the note that could not be checked is counted as such, and has its row in the table
    assert root.one("li", class_="tile", data_verdict="error").full_text().split()[-2:] == ["1", "14%"]
    assert sum(1 for tr in root.one("table", id="notes").all("tr") if "data-order" in tr.attrs) == 7
    assert "Over time" not in page  # without --group-by


def test_summary_csv_gives_the_date_of_service_in_every_format(run, tmp_path):
    notes = write_notes(tmp_path / "notes", {"a.txt": BATCH["e_curettage.txt"], "b.txt": BATCH["f_undated.txt"]})
    dates = {}
    for fmt in ("json", "html", "text"):
        out = tmp_path / fmt
        assert run(notes, "--out", out, "--format", fmt).exit_code == 1
        dates[fmt] = [r["date_of_service"] for r in read_summary(out)]
    assert dates["json"] == dates["html"] == dates["text"] == ["2025-03-30", ""]


def test_group_by_month_shows_verdicts_and_gap_rates_per_month(run, tmp_path):
    notes = write_notes(tmp_path / "notes", BATCH)
    (notes / "g_binary.txt").write_bytes(b"abc\x00def")
    out = tmp_path / "out"
    res = run(notes, "--out", out, "--format", "html", "--group-by", "month")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    rows = [r for r in read_summary(out) if not r["error"]]
    months: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        months.setdefault(r["date_of_service"][:7] or "no date", []).append(r)
    assert sorted(months) == ["2025-01", "2025-03", "no date"]
    root = dom((out / "index.html").read_text(encoding="utf-8"))
    section = root.one("section", id="over-time")
    assert "by month of the date of service" in section.full_text()
    assert "1 note(s) give no date of service" in section.full_text()
    cols = {g.attrs["data-key"]: g for g in section.one(id="chart-time").all("g", class_="col")}
    assert list(cols) == ["2025-01", "2025-03", "no date"]  # in time order, the undated last
    table = section.one("table", id="rates")
    heads = [th.full_text() for th in table.all("th", scope="col")][1:]
    assert heads == list(cols)
    for i, (month, group) in enumerate(sorted(months.items())):
        n = len(group)
        assert int(cols[month].attrs["data-count"]) == n
        verdicts = Counter(r["verdict"] for r in group)
        shown = {rect.attrs["data-kind"]: int(rect.attrs["data-count"]) for rect in cols[month].all("rect")}
        assert shown == {v: c for v, c in verdicts.items() if c}
        assert table.one("tr", data_row="notes").all("td")[i].full_text() == str(n)
        for v in ("ready", "at_risk", "not_supported"):
            assert table.one("tr", data_row=v).all("td")[i].full_text() == f"{round(100 * verdicts[v] / n)}%"
        for item in ITEMS:
            gaps = sum(1 for r in group if r[item] in GAPS)
            cell = table.one("tr", data_row=item).all("td")[i]
            assert cell.full_text() == f"{round(100 * gaps / n)}%" and cell.attrs["title"] == f"{gaps} of {n}"
    # the consent and imaging gaps of the at-risk notes: half of January, a third of March
    assert table.one("tr", data_row="informed_consent").all("td")[0].full_text() == "50%"
    assert table.one("tr", data_row="informed_consent").all("td")[1].full_text() == "33%"


def test_group_by_week_uses_iso_weeks():
    assert period_key(dt.date(2024, 12, 30), "week") == ("2025-W01", "2025-W01")  # ISO week 1 of 2025
    assert period_key(dt.date(2025, 3, 9), "week") == ("2025-W10", "2025-W10")
    assert period_key(dt.date(2025, 3, 9), "month") == ("2025-03", "2025-03")
    assert period_key(None, "week")[1] == "no date"
    page = render_index([{"file": "a", "verdict": "ready", "score": 100, "date_of_service": "2024-12-30"}], group_by="week")
    assert 'data-key="2025-W01"' in page and "by week of the date of service" in page


@pytest.mark.parametrize("args", [("--group-by", "month"), ("--format", "json", "--group-by", "week"), ("--group-by", "year", "--format", "html")])
def test_group_by_needs_an_html_batch_and_a_known_period(run, tmp_path, args):
    notes = write_notes(tmp_path / "notes", {"a.txt": BATCH["a_ready.txt"]})
    out = tmp_path / "out"
    res = run(notes, *args, *(("--out", out) if "json" in args else ()))
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert "--group-by" in res.stderr or "group-by" in res.output
    assert not out.exists()  # stopped before anything was written


# --- the summary's numbers ----------------------------------------------------------------------


def row(file: str, verdict: str, reason: str, statuses: dict[str, str] | None = None, **more: object) -> dict[str, object]:
    base: dict[str, object] = {"file": file, "id": "", "score": 80, "verdict": verdict, "verdict_reason": reason, "error": ""}
    base.update({i: "met" for i in ITEMS})
    base.update(statuses or {})
    base.update(more)
    return base


HAND_ROWS = [
    row("1.txt", "ready", "ready", advisories="modifier:RT; bundling"),
    row("2.txt", "at_risk", "gaps", {"informed_consent": "missing"}, advisories="modifier:RT", amount_at_stake=1837.05),
    row("3.txt", "at_risk", "gaps", {"informed_consent": "partial", "frozen_section": "missing"}, advisories="modifier:LT; modifier:LT"),
    row("4.txt", "not_supported", "operation", {"informed_consent": "missing"}, advisories="code_selection:27355; modifier:RT", amount_at_stake=1837.05),
    row("5.txt", "not_supported", "operation", advisories="code_selection:27355"),
    row("6.txt", "not_supported", "site", advisories="code_selection:27645", amount_at_stake=""),
    row("7.txt", "not_supported", "conflict", {"tumor_location": "conflict"}),
    {"file": "8.txt", "error": "[E101] 8.txt: the note is empty"},
]


def test_the_summary_counts_every_row_once():
    root = dom(render_index(HAND_ROWS))
    tiles = {li.attrs["data-verdict"]: li.full_text().split() for li in root.all("li", class_="tile") if "data-verdict" in li.attrs}
    assert {v: t[-2] for v, t in tiles.items()} == {"ready": "1", "at_risk": "2", "not_supported": "4", "error": "1"}
    assert tiles["not_supported"][-1] == "50%"
    bar = {r.attrs["data-kind"]: int(r.attrs["data-count"]) for r in root.one(id="chart-verdicts").all("rect")}
    assert bar == {"ready": 1, "at_risk": 2, "not_supported": 4, "error": 1}
    # gaps per item, most first; consent: 2 missing + 1 partial of 7 checked; the only gap of note 2
    items = root.one(id="chart-items").all("g", class_="bar")
    assert [g.attrs["data-key"] for g in items[:3]] == ["informed_consent", "tumor_location", "frozen_section"]
    consent = items[0]
    assert {r.attrs["data-kind"]: int(r.attrs["data-count"]) for r in consent.all("rect", class_="seg")} == {"missing": 2, "partial": 1}
    assert consent.one("text", class_="val").full_text() == "3 (43%): 2 missing, 1 partial · only gap in 1"
    assert items[1].one("text", class_="val").full_text() == "1 (14%): 1 conflict"
    # why not supported: operation x2 (both read like 27355), site, conflict (the item named)
    assert bar_counts(root, "chart-reasons") == {"operation": 2, "site": 1, "conflict": 1}
    reasons = {g.attrs["data-key"]: g.one("text", class_="val").full_text() for g in root.one(id="chart-reasons").all("g", class_="bar")}
    assert reasons["operation"] == "2 (50%) · reads like 27355 ×2"
    assert reasons["conflict"] == "1 (25%) · in conflict: Tumor location and side ×1"
    # advisories: notes (a note counts once), by kind then code
    adv = bar_counts(root, "chart-advisories")
    assert adv["code_selection"] == 3 and adv["code_selection:27355"] == 2 and adv["code_selection:27645"] == 1
    assert adv["modifier"] == 4 and adv["modifier:RT"] == 3 and adv["modifier:LT"] == 1 and adv["bundling"] == 1
    # at stake: the two notes with a figure; the other four not ready have none
    stake = root.one(id="stake").full_text()
    assert "$3,674.10" in stake and "in 2 note(s)" in stake and "4 not ready without a fee figure for their year" in stake


def test_the_summary_of_an_empty_or_all_failed_batch():
    for rows in ([], [{"file": "x.txt", "error": "[E101] x.txt: the note is empty"}]):
        page = render_index(rows)
        root = dom(page)
        assert "No checked notes." in page and "No note is not supported." in page
        assert not root.all(id="stake")


def test_the_row_data_cannot_end_its_script_element():
    evil = "</script><script>document.title='PWNED'</script><!--"
    page = render_index([row(evil, "at_risk", "gaps", case=evil, advisories="modifier:" + evil)])
    assert page.count("<script") == 2  # the data block and the page's own script
    data = page_data(page)
    assert data["rows"][0][0] == evil and data["rows"][0][data["fields"].index("case")] == evil
    assert "&lt;/script&gt;&lt;script&gt;" in page  # shown in the table as text


def test_no_note_text_beyond_the_summary_row_is_in_the_page():
    secret = "Zebulon Quartermaine-Vasquez"
    r = row("a.txt", "at_risk", "gaps", summary=secret, text=secret, message=secret)
    assert secret not in render_index([r])


# Bad input never gives a traceback: any values, any missing keys.
values = st.one_of(st.none(), st.text(max_size=12), st.integers(), st.floats(allow_nan=True), st.booleans(),
                   st.sampled_from(["ready", "at_risk", "not_supported", "missing", "partial", "conflict", "2025-02-30", "2025-03-01", "nan", "1e309"]))
keys = st.sampled_from(["file", "id", "score", "verdict", "verdict_reason", "case", "date_of_service", "advisories", "amount_at_stake", "report", "error", *ITEMS])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(keys, values, max_size=8), max_size=6), st.sampled_from([None, "month", "week"]))
def test_any_rows_give_a_page(rows, group_by):
    page = render_index(rows, group_by=group_by)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert len(page_data(page)["rows"]) == len(rows)


def test_the_charts_read_without_colour():
    """Each fill a chart uses is a pattern that differs from the others of its chart in shape or in
    lightness (so in black-and-white print), and every bar has its numbers written out."""
    page = render_index(HAND_ROWS, group_by="month")
    patterns = dict(re.findall(r'<pattern id="p-(\w+)"[^>]*>(.*?)</pattern>', page))

    def grey(body: str) -> tuple[str, int]:
        shape = re.sub(r'(fill|stroke)="#[0-9a-f]{6}"', "", body)
        r, g, b = (int(re.search(r'fill="#([0-9a-f]{6})"', body).group(1)[i:i + 2], 16) for i in (0, 2, 4))
        return shape, round((0.299 * r + 0.587 * g + 0.114 * b) / 64)  # four levels of grey

    for group in (("ready", "at_risk", "not_supported", "error"), ("missing", "partial", "conflict")):
        assert len({grey(patterns[k]) for k in group}) == len(group), group
    root = dom(page)
    for rect in root.all("rect", class_="seg"):
        assert rect.attrs["fill"].startswith("url(#p-") and rect.attrs["fill"][7:-1] in patterns
    for chart in ("chart-items", "chart-reasons", "chart-advisories"):
        for g in root.one(id=chart).all("g", class_="bar"):
            assert g.one("text", class_="val").full_text().startswith(g.attrs["data-count"] + " (")
