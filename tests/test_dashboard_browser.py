"""The batch dashboard as a compliance lead opens it: index.html in headless Chromium.

One batch over every development note (plus a binary and an empty note, which cannot be
checked), written by ``opnote check --format html --group-by month``. The page as Chromium
renders it must show the counts computed here from summary.csv; its filters must change the
visible rows and download them as summary.csv lines; and it must make no network request.
Skipped when Chromium is not installed (see test_browser.py).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opnote import rules
from opnote.cli import app

from clirun import sharing
from test_browser import CHROMIUM, chromium, dump_dom, read_png
from test_dashboard import Node, dom

try:  # the test tiers: fail instead of skipping where the CI requires a browser
    from conftest import skip_or_fail
except ImportError:  # pragma: no cover - a checkout before the tiers

    def skip_or_fail(reason: str, require_env: str) -> None:
        pytest.skip(reason)


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _needs_chromium():  # module scope: before the module's batch and its rendering
    if not CHROMIUM:
        skip_or_fail("headless Chromium is not installed (Debian package 'chromium', /usr/bin/chromium)", "OPNOTE_REQUIRE_BROWSER")

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "sample_notes" / "dev"
# The development notes up to round 8: fewer than the 500 rows the table shows at a time, so every
# filter below sees all its rows (the long table has its own test).
_ROUND = re.compile(r"r(\d+)_")


def _up_to_round_8(path: Path) -> bool:
    m = _ROUND.match(path.relative_to(DEV).parts[0])
    return m is None or int(m.group(1)) <= 8


DEV_NOTES = [p for p in sorted(DEV.rglob("*.txt")) if _up_to_round_8(p)]
ITEMS = [it.id for it in rules.checklist("27365").items]
GAPS = ("missing", "partial", "conflict")
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


@pytest.fixture(scope="module")
def batch(checker, tmp_path_factory) -> Path:
    """``opnote check`` over the development notes up to round 8 (one folder) and two notes it cannot read."""
    import opnote.api

    notes = tmp_path_factory.mktemp("notes")
    for path in DEV_NOTES:
        shutil.copyfile(path, notes / "__".join(path.relative_to(DEV).parts))
    (notes / "zz_binary.txt").write_bytes(b"abc\x00def")
    (notes / "zz_empty.txt").write_text("", encoding="utf-8")
    out = tmp_path_factory.mktemp("batch") / "out"

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(opnote.api, "Checker", sharing(checker, opnote.api.Checker))
        res = CliRunner().invoke(app, ["check", str(notes), "--out", str(out), "--format", "html", "--group-by", "month"])
    assert res.exit_code == 2, res.stderr  # two notes could not be read
    assert "Traceback" not in res.stderr
    return out


@pytest.fixture(scope="module")
def summary(batch) -> list[dict[str, str]]:
    with open(batch / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rendered(batch, tmp_path_factory) -> Node:
    """The index as Chromium rendered it (the page's own script run, its policy in force)."""
    return dom(dump_dom(tmp_path_factory.mktemp("chromium"), batch / "index.html"))


def counts(rows, key):
    return Counter(key(r) for r in rows)


@pytest.fixture(scope="module")
def checked(summary) -> list[dict[str, str]]:
    rows = [r for r in summary if not r["error"]]
    n = len(DEV_NOTES)  # every note of the batch, and the two unreadable ones
    assert 150 < n < 498 and len(summary) == n + 2 and len(rows) == n
    return rows


def test_the_verdict_tiles_and_bar_show_the_counts_of_summary_csv(rendered, summary):
    verdicts = counts(summary, lambda r: "error" if r["error"] else r["verdict"])
    assert verdicts["error"] == 2 and verdicts["not_supported"] > 10 and verdicts["at_risk"] > 10
    tiles = [li for li in rendered.all("li", class_="tile") if "data-verdict" in li.attrs]
    assert len(tiles) == 4
    for li in tiles:
        v = li.attrs["data-verdict"]
        assert li.full_text().split()[-2:] == [str(verdicts[v]), f"{round(100 * verdicts[v] / len(summary))}%"]
    bar = {r.attrs["data-kind"]: r for r in rendered.one(id="chart-verdicts").all("rect")}
    assert {k: int(r.attrs["data-count"]) for k, r in bar.items()} == {k: n for k, n in verdicts.items() if n}
    for k, r in bar.items():
        assert float(r.attrs["width"].rstrip("%")) == pytest.approx(100 * verdicts[k] / len(summary), abs=0.01)


def test_the_gaps_per_item_are_those_of_summary_csv(rendered, checked):
    bars = rendered.one(id="chart-items").all("g", class_="bar")
    assert sorted(g.attrs["data-key"] for g in bars) == sorted(ITEMS)
    totals = [int(g.attrs["data-count"]) for g in bars]
    assert totals == sorted(totals, reverse=True)  # most gaps first
    for g in bars:
        item = g.attrs["data-key"]
        by_status = counts([r for r in checked if r[item] in GAPS], lambda r, item=item: r[item])
        total = sum(by_status.values())
        assert int(g.attrs["data-count"]) == total
        assert {s.attrs["data-kind"]: int(s.attrs["data-count"]) for s in g.all("rect", class_="seg")} == dict(by_status)
        value = g.one("text", class_="val").full_text()
        assert value.startswith(f"{total} ({round(100 * total / len(checked))}%)")
        assert all(f"{n} {status}" in value for status, n in by_status.items())
        sole = sum(1 for r in checked if r["verdict_reason"] == "gaps" and [i for i in ITEMS if r[i] in GAPS] == [item])
        assert value.endswith(f"only gap in {sole}") if sole else "only gap" not in value


def test_the_reasons_are_those_of_summary_csv(rendered, checked):
    ns = [r for r in checked if r["verdict"] == "not_supported"]
    shown = {g.attrs["data-key"]: g for g in rendered.one(id="chart-reasons").all("g", class_="bar")}
    assert {k: int(g.attrs["data-count"]) for k, g in shown.items()} == dict(counts(ns, lambda r: r["verdict_reason"]))
    for reason, g in shown.items():
        codes = Counter(a.split(":", 1)[1] for r in ns if r["verdict_reason"] == reason
                        for a in dict.fromkeys(x.strip() for x in r["advisories"].split(";")) if a.startswith("code_selection:"))
        if reason != "conflict" and codes:
            code, n = codes.most_common(1)[0]
            assert f"reads like {code} ×{n}" in g.one("text", class_="val").full_text()


def test_the_advisories_are_those_of_summary_csv(rendered, checked):
    adv = {g.attrs["data-key"]: int(g.attrs["data-count"]) for g in rendered.one(id="chart-advisories").all("g", class_="bar")}
    per_note = [{x.strip() for x in r["advisories"].split(";") if x.strip()} for r in checked]
    assert {"code_selection", "modifier", "bundling"} <= set(adv)
    for key, n in adv.items():
        if key.endswith("…"):  # the rest of a kind's codes, in one row
            continue
        if ":" in key:  # one code, or "kind:" the kind without a code
            expected = sum(1 for s in per_note if key.rstrip(":") in s)
        else:  # any advisory of the kind
            expected = sum(1 for s in per_note if any(a.split(":")[0] == key for a in s))
        assert n == expected, key


def test_the_amount_at_stake_and_the_months_are_those_of_summary_csv(rendered, summary, checked):
    amounts = [float(r["amount_at_stake"]) for r in summary if r["amount_at_stake"]]
    assert amounts, "the dev notes dated 2026 have a fee figure"
    stake = rendered.one(id="stake").full_text()
    assert f"${sum(amounts):,.2f}" in stake and f"in {len(amounts)} note(s)" in stake
    months = counts(checked, lambda r: r["date_of_service"][:7] or "no date")
    cols = {g.attrs["data-key"]: int(g.attrs["data-count"]) for g in rendered.one(id="chart-time").all("g", class_="col")}
    assert cols == dict(months) and len(cols) > 12


# --- filters and download -----------------------------------------------------------------------

SCENARIOS = """
(async function(){
var out={},f=document.getElementById('filters');
function E(name){return f.elements.namedItem(name);}
function rows(){return Array.prototype.filter.call(document.querySelectorAll('#notes tbody tr'),function(tr){return !tr.hidden;}).map(function(tr){return +tr.getAttribute('data-order');});}
function set(name,value){E(name).value=value;E(name).dispatchEvent(new Event(name==='q'?'input':'change',{bubbles:true}));}
function clear(){f.reset();E('q').dispatchEvent(new Event('input',{bubbles:true}));}
out.all=rows();
set('verdict','not_supported');out.not_supported=rows();out.shown=document.getElementById('shown').textContent;
clear();set('verdict','error');out.error=rows();
clear();set('reason','operation');out.operation=rows();
clear();set('item','informed_consent');out.consent=rows();out.consent_status=E('status').value;
set('status','missing');out.consent_missing=rows();
clear();set('advisory','code_selection:27645');out.like_27645=rows();
clear();set('advisory','modifier');out.modifier=rows();
clear();set('q','TIBIA');out.tibia=rows();
clear();set('verdict','at_risk');set('reason','gaps');set('q','femur');out.combined=rows();
var link=document.getElementById('download');
link.addEventListener('click',function(e){e.preventDefault();});
link.click();out.csv_at_risk=await (await fetch(link.href)).text();
clear();link.click();out.csv_all=await (await fetch(link.href)).text();
var bar=document.querySelector('#chart-items g.bar[data-key="frozen_section"]');
bar.dispatchEvent(new MouseEvent('click',{bubbles:true,cancelable:true}));out.drill=rows();out.drill_filters=[E('item').value,E('status').value];
var pre=document.createElement('pre');pre.id='results';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
})();
"""


def test_filters_change_the_visible_rows_and_download_them(batch, summary, tmp_path):
    page = CSP.sub("", (batch / "index.html").read_text(encoding="utf-8"))  # let the test's own script run
    probe = tmp_path / "index.html"  # beside nothing: the download must not need summary.csv
    probe.write_text(page.replace("</body>", f"<script>{SCENARIOS}</script></body>"), encoding="utf-8")
    got = json.loads(re.search(r'<pre id="results">(.*?)</pre>', dump_dom(tmp_path, probe), re.S).group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"'))

    def where(test):
        return [i for i, r in enumerate(summary) if test(r)]

    assert got["all"] == list(range(len(summary)))
    assert got["not_supported"] == where(lambda r: r["verdict"] == "not_supported" and not r["error"])
    assert got["shown"] == f"Showing {len(got['not_supported'])} of {len(summary)} note(s)"
    assert got["error"] == where(lambda r: bool(r["error"])) and len(got["error"]) == 2
    assert got["operation"] == where(lambda r: r["verdict_reason"] == "operation" and not r["error"]) and got["operation"]
    # choosing an item alone lists its gaps (the status filter says so)
    assert got["consent_status"] == "gap"
    assert got["consent"] == where(lambda r: r["informed_consent"] in GAPS)
    assert got["consent_missing"] == where(lambda r: r["informed_consent"] == "missing")
    assert 0 < len(got["consent_missing"]) < len(got["consent"])
    assert got["like_27645"] == where(lambda r: "code_selection:27645" in r["advisories"].split("; ")) and got["like_27645"]
    assert got["modifier"] == where(lambda r: any(a.split(":")[0] == "modifier" for a in r["advisories"].split("; ")))
    assert got["tibia"] == where(lambda r: "tibia" in (r["file"] + " " + r["id"] + " " + r["case"]).lower()) and got["tibia"]
    assert got["combined"] and got["combined"] == where(lambda r: r["verdict"] == "at_risk" and r["verdict_reason"] == "gaps" and not r["error"]
                                    and "femur" in (r["file"] + r["case"]).lower())
    # a click on a bar of the summary lists that item's gaps
    assert got["drill_filters"] == ["frozen_section", "gap"]
    assert got["drill"] == where(lambda r: r["frozen_section"] in GAPS)
    # the download is summary.csv: the filtered lines, or every line when nothing is filtered
    text = (batch / "summary.csv").read_text(encoding="utf-8")
    assert got["csv_all"] == text
    lines = text.splitlines(keepends=True)
    assert got["csv_at_risk"] == lines[0] + "".join(lines[i + 1] for i in got["combined"])


# --- no network --------------------------------------------------------------------------------


def page_requests(tmp_path: Path, page: Path) -> list[str]:
    """The URLs requested by the page (not by the browser itself), from Chromium's network log."""
    log = tmp_path / f"{page.stem}.netlog.json"
    # a proxy nobody listens on: nothing leaves the machine, and every request is still logged
    chromium(tmp_path, "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", f"--log-net-log={log}",
             "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    text = log.read_text(encoding="utf-8")
    try:
        net = json.loads(text)
    except json.JSONDecodeError:  # a log cut short at exit
        net = json.loads(text.rstrip().rstrip(",") + "]}")
    start = net["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for e in net["events"]:
        params = e.get("params") or {}
        # the browser's own background requests carry no initiating origin; a page's do ("null" for a file)
        if e["type"] == start and "url" in params and params.get("initiator") != "not an origin":
            urls.append(params["url"])
    return urls


def test_the_page_makes_no_network_request(batch, tmp_path):
    html = (batch / "index.html").read_text(encoding="utf-8")
    as_written = tmp_path / "as_written.html"
    as_written.write_text(html, encoding="utf-8")
    # without its policy too: the page needs nothing from anywhere, it is not merely blocked
    unguarded = CSP.sub("", html)
    bare = tmp_path / "bare.html"
    bare.write_text(unguarded.replace("</body>", "<script>addEventListener('load',function(){document.body.setAttribute("
                                      "'data-resources',performance.getEntriesByType('resource').length);});</script></body>"), encoding="utf-8")
    control = tmp_path / "control.html"  # the same check sees a request when there is one
    control.write_text(unguarded.replace("</body>", '<img src="http://opnote-probe.invalid/pixel.png" alt=""></body>'), encoding="utf-8")
    assert page_requests(tmp_path, as_written) == []
    assert page_requests(tmp_path, bare) == []
    assert page_requests(tmp_path, control) == ["http://opnote-probe.invalid/pixel.png"]
    assert 'data-resources="0"' in dump_dom(tmp_path, bare)  # no file, font or image loaded either
    for attr in re.findall(r'\b(?:src|href|action|xlink:href)="([^"#][^"]*)"', html):
        parsed = urllib.parse.urlparse(attr)
        assert not parsed.scheme and not parsed.netloc, attr  # only the reports beside it and summary.csv


PAGING = """
var out={},f=document.getElementById('filters');
function visible(){return Array.prototype.filter.call(document.querySelectorAll('#notes tbody tr'),function(tr){return !tr.hidden;}).map(function(tr){return +tr.getAttribute('data-order');});}
function note(k){var o=document.getElementById('shown');out[k]={rows:visible(),text:o.textContent,matched:+o.getAttribute('data-matched'),more:!document.getElementById('more').hidden};}
out.display=getComputedStyle(document.getElementById('notes')).display;
note('first');
document.getElementById('more').click();note('more');
document.getElementById('all').click();note('all');
var v=f.elements.namedItem('verdict');v.value='at_risk';v.dispatchEvent(new Event('change',{bubbles:true}));note('at_risk');
var link=document.getElementById('download'),made=URL.createObjectURL;link.addEventListener('click',function(e){e.preventDefault();});
URL.createObjectURL=function(blob){out.csv_bytes=blob.size;return made.call(URL,blob);};link.click();
document.querySelectorAll('button.sort')[1].click();note('by_score');
var pre=document.createElement('pre');pre.id='results';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
"""


def test_a_long_table_shows_500_rows_at_a_time(tmp_path):
    """A 10,000-note table is laid out a page at a time; the filters and the download still see every row."""
    from opnote.render.html import render_index

    verdicts = ["ready", "at_risk", "not_supported"]
    rows = [{"file": f"n{i:04d}.txt", "score": (i * 37) % 101, "verdict": verdicts[i % 3], "verdict_reason": "gaps", "error": ""}
            for i in range(1200)]
    page = tmp_path / "index.html"
    page.write_text(CSP.sub("", render_index(rows)).replace("</body>", f"<script>{PAGING}</script></body>"), encoding="utf-8")
    got = json.loads(re.search(r'<pre id="results">(.*?)</pre>', dump_dom(tmp_path, page), re.S).group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert got["display"] == "table"
    assert got["first"]["rows"] == list(range(500)) and got["first"]["more"]
    assert got["first"]["text"] == "Showing the first 500 of 1200 matching note(s) (1200 in all)"
    assert got["more"]["rows"] == list(range(1000))
    assert got["all"]["rows"] == list(range(1200)) and not got["all"]["more"] and got["all"]["text"] == "Showing 1200 of 1200 note(s)"
    at_risk = [i for i in range(1200) if i % 3 == 1]
    assert got["at_risk"]["rows"] == at_risk[:400] + at_risk[400:] and got["at_risk"]["matched"] == 400  # 400 fit in a page
    # the download is every matching row, not the page shown: summary.csv's lines for them
    from opnote.render.table import summary_cells, summary_fields

    fields = summary_fields()
    lines = [",".join(fields)] + [",".join(summary_cells(rows[i], fields)) for i in at_risk]
    assert got["csv_bytes"] == len(("\n".join(lines) + "\n").encode("utf-8"))
    by_score = sorted(at_risk, key=lambda i: ((i * 37) % 101, i))
    assert got["by_score"]["rows"] == by_score


def test_without_its_script_the_table_shows_every_row(tmp_path):
    """A viewer that strips scripts (or blocks them) still shows the whole table."""
    from opnote.render.html import render_index

    rows = [{"file": f"n{i:04d}.txt", "score": 50, "verdict": "at_risk", "error": ""} for i in range(600)]
    html = render_index(rows).replace("</head>", "<style>#summary{display:none}</style></head>")  # the table at the top
    stripped = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    assert "<script" not in stripped
    for name, text in (("with", html), ("without", stripped)):
        page = tmp_path / f"{name}.html"
        page.write_text(text, encoding="utf-8")
        shot = tmp_path / f"{name}.png"
        chromium(tmp_path, "--window-size=1000,800", "--virtual-time-budget=3000", f"--screenshot={shot}", page.as_uri())
        width, height, pixels, ch = read_png(shot)
        badges = sum(1 for line in pixels for x in range(0, len(line), ch) if line[x: x + 3] == bytes.fromhex("fef3c7"))
        assert badges > 2000, f"{name} its script: the rows' AT RISK badges are not painted"
    # without the script every row is there (and none hidden); with it, the first 500
    assert not re.search(r"<tr[^>]*\bhidden", dump_dom(tmp_path, tmp_path / "without.html"))


def test_the_download_saves_summary_csv_under_the_page_policy(batch, tmp_path):
    """A real click, under the page's own policy (one more hash lets the click's script run): the
    saved file is summary.csv, byte for byte."""
    import base64
    import hashlib
    import os
    import subprocess
    import time

    click = "setTimeout(function(){document.getElementById('download').click();},100);"
    digest = base64.b64encode(hashlib.sha256(click.encode("utf-8")).digest()).decode("ascii")
    html = (batch / "index.html").read_text(encoding="utf-8")
    assert html.count("script-src 'sha256-") == 1
    page = tmp_path / "index.html"
    page.write_text(html.replace("script-src '", f"script-src 'sha256-{digest}' '", 1).replace("</body>", f"<script>{click}</script></body>"),
                    encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--proxy-server=http://127.0.0.1:9", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, timeout=180, stdin=subprocess.DEVNULL, env={**os.environ, "HOME": str(home)})
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    saved = home / "Downloads" / "opnote-notes.csv"
    for _ in range(50):
        if saved.exists():
            break
        time.sleep(0.1)
    assert saved.read_bytes() == (batch / "summary.csv").read_bytes()
