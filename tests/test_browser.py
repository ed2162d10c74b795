"""The HTML reports as a browser shows them: headless Chromium renders, screenshots and DOM dumps.

Needs the Debian package ``chromium`` (``/usr/bin/chromium``); skipped when it is not installed.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import pytest
from conftest import skip_or_fail

from opnote.render.html import render_html, render_index

ROOT = Path(__file__).resolve().parents[1]
VAGUE = ROOT / "sample_notes" / "dev" / "right_femur_chondrosarcoma_narrative_vague.txt"
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_chromium():
    if not CHROMIUM:
        skip_or_fail("headless Chromium is not installed (Debian package 'chromium', /usr/bin/chromium)", "OPNOTE_REQUIRE_BROWSER")

INJECTED = (
    "<script>document.title='PWNED';document.documentElement.setAttribute('data-pwned','1')</script>"
    '<img src="x" onerror="document.title=\'PWNED\'"><b id="pwned">bold?</b>\n\n'
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--force-color-profile=srgb", "--hide-scrollbars", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    return proc


def dump_dom(tmp_path: Path, page: Path) -> str:
    proc = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    return proc.stdout.decode("utf-8")


def read_png(path: Path) -> tuple[int, int, list[bytes], int]:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG with the standard library: (w, h, rows, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, ch = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos: pos + 8])
        body = data[pos + 8: pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6)
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * ch
    prev = bytearray(stride)
    rows, i = [], 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1: i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(ch, stride):
                line[x] = (line[x] + line[x - ch]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for x in range(stride):
                left = line[x - ch] if x >= ch else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, ch


@pytest.fixture(scope="module")
def vague(checker):
    text = VAGUE.read_text(encoding="utf-8")
    return checker.check(text, source=VAGUE.name), text


def test_report_screenshot_is_not_blank(vague, tmp_path):
    report, text = vague
    page = tmp_path / "report.html"
    page.write_text(render_html(report, text=text), encoding="utf-8")
    shot = tmp_path / "shot.png"
    # A virtual-time budget lets layout and paint finish before the shot (without it a loaded
    # machine sometimes captured a half-painted page); the window is tall enough that the first
    # MISSING card is in view whatever the fonts.
    chromium(tmp_path, "--window-size=800,1000", "--virtual-time-budget=3000", f"--screenshot={shot}", page.as_uri())
    width, height, rows, ch = read_png(shot)
    assert (width, height) == (800, 1000)
    colours = Counter(row[x: x + 3] for row in rows for x in range(0, len(row), ch))
    assert len(colours) > 200, "the page looks blank or unstyled"
    assert colours.most_common(1)[0][1] < 0.8 * width * height
    # the AT RISK verdict box and a MISSING badge are painted in their colours
    assert report.verdict == "at_risk" and colours[bytes.fromhex("fef3c7")] > 2000
    assert colours[bytes.fromhex("fde4e3")] > 200


def test_rendered_page_has_one_highlight_per_span_and_runs_no_injected_script(checker, tmp_path):
    base = VAGUE.read_text(encoding="utf-8")
    cut = base.index("\n\n") + 2
    text = base[:cut] + INJECTED + base[cut:]
    report = checker.check(text, source="injected.txt")
    spans = {(e.start, e.end) for it in report.checklist for e in it.evidence}
    assert len(spans) >= 5
    page = tmp_path / "injected.html"
    page.write_text(render_html(report, text=text), encoding="utf-8")
    dom = dump_dom(tmp_path, page)
    assert "</pre>" in dom and 'id="item-informed_consent"' in dom  # the page was rendered
    assert dom.count("<mark ") == len(spans)
    assert "PWNED" not in dom.split("</title>")[0]
    assert not re.search(r"<html[^>]*data-pwned", dom)
    assert "<script" not in dom and "<img" not in dom and '<b id="pwned"' not in dom
    # the would-be markup is shown as the note's text
    assert "&lt;script&gt;document.title='PWNED'" in dom
    assert "&lt;b id=\"pwned\"&gt;bold?&lt;/b&gt;" in dom


def test_index_sorting_script_runs(tmp_path):
    rows = [
        {"file": "a.txt", "score": 65, "verdict": "at_risk", "error": "", "report": "a.html", "tumor_location": "met"},
        {"file": "b.txt", "score": 100, "verdict": "ready", "error": "", "report": "b.html", "tumor_location": "met"},
        {"file": "c.txt", "error": "[E101] c.txt: the note is empty"},
        {"file": "d.txt", "score": 30, "verdict": "not_supported", "error": "", "report": "d.html", "tumor_location": "missing"},
    ]
    page = tmp_path / "index.html"
    page.write_text(render_index(rows), encoding="utf-8")
    dom = dump_dom(tmp_path, page)
    # the inline script was allowed by the page's policy and turned the headings into sort buttons
    assert dom.count('<button type="button" class="sort">') == 3
    assert 'href="a.html"' in dom and 'href="b.html"' in dom and "the note is empty" in dom
    # clicking "Score" puts the lowest score first, clicking it again the highest (the note that
    # could not be checked, which has no score, below every score)
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)  # let the test's click run
    for clicks, order in ((1, ["-1", "30", "65", "100"]), (2, ["100", "65", "30", "-1"])):
        clicked = tmp_path / f"clicked{clicks}.html"
        clicked.write_text(html.replace("</body>", "<script>var b=document.querySelectorAll('button.sort')[1];" + "b.click();" * clicks + "</script></body>"), encoding="utf-8")
        assert re.findall(r'<tr data-order="\d+" data-score="(-?\d+)"', dump_dom(tmp_path, clicked)) == order
