"""The live page in headless Chromium: a note typed sentence by sentence, items turning met.

A real ``opnote serve`` application (uvicorn, in a thread of this process) serves the page;
Chromium is driven over the DevTools protocol (``tests/cdp.py``): it types into the text area
as a keyboard or dictation would, and the test reads what the page shows after each sentence.
Needs the Debian package ``chromium`` and the serve extra; skipped without them.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed: pip install -e '.[test]'")

import uvicorn  # noqa: E402

from cdp import CHROMIUM, Browser  # noqa: E402
from conftest import skip_or_fail  # noqa: E402
from notes import READY_NOTE  # noqa: E402
from opnote.serve import Settings, _listen  # noqa: E402
from opnote.serve.app import build_app  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_chromium():
    if not CHROMIUM:
        skip_or_fail("headless Chromium is not installed (Debian package 'chromium', /usr/bin/chromium)", "OPNOTE_REQUIRE_BROWSER")

STATUSES = "[...document.querySelectorAll('#items li')].map(li => [li.dataset.item, li.dataset.status])"


@pytest.fixture(scope="module")
def server(checker):
    sock = _listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(build_app(checker, Settings()), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def shown_for(browser: Browser, text: str) -> list[list[str]]:
    """The checklist the page shows once it has caught up with ``text``."""
    length = len(text.encode("utf-16-le")) // 2
    browser.wait_for(f"document.body.dataset.state === 'current' && document.getElementById('note').value.length === {length}")
    return browser.js(STATUSES)


def test_typing_a_note_turns_the_items_from_missing_to_met_in_order(server, checker, tmp_path):
    text = READY_NOTE.read_text(encoding="utf-8")
    parts: list[str] = []
    for m in re.finditer(r".+?(?:[.!?](?=\s)|\n|$)\s*", text, re.S):
        if parts and not m.group(0).strip():
            parts[-1] += m.group(0)
        elif m.group(0):
            parts.append(m.group(0))
    assert "".join(parts) == text and len(parts) > 20
    with Browser() as browser:
        browser.open(server + "/")
        assert browser.js("document.body.dataset.state") == "empty"
        browser.js("document.getElementById('note').focus()")
        typed, history = "", []
        for part in parts:
            browser.type(part)
            typed += part
            shown = shown_for(browser, typed)
            want = checker.check(typed)
            # the page shows what a full check of the text typed so far says, item by item
            assert shown == [[i.id, i.status] for i in want.checklist], typed[-80:]
            history.append(dict(shown))
        report = checker.check(typed)
        assert report.verdict == "ready"
        assert browser.js("document.getElementById('verdict-badge').textContent") == "✓ READY"
        assert browser.js("document.getElementById('case').textContent") == "Right distal femur, bone, current tumor, radical resection"

        # Every item starts missing (or partial), turns met once and stays met; they turn one
        # or two at a time, in the order the note documents them.
        ids = [i.id for i in report.checklist]
        became_met = {}
        for step, statuses in enumerate(history):
            for item in ids:
                if statuses[item] == "met":
                    became_met.setdefault(item, step)
                else:
                    assert item not in became_met, f"{item} went back from met at step {step}"
        assert set(became_met) == set(ids)
        assert sum(s == "missing" for s in history[0].values()) >= 5
        assert len(set(became_met.values())) >= 5, became_met  # not all at once
        order = sorted(ids, key=lambda i: (became_met[i], ids.index(i)))
        assert order[0] == "tumor_location" and order[-1] in ("informed_consent", "pathology", "frozen_section"), order

        # the evidence is highlighted where it is in the note, and nothing came from elsewhere
        marks = browser.js("[...document.querySelectorAll('#backdrop mark')].map(m => m.textContent)")
        quotes = {typed[e.start:e.end] for i in report.checklist for e in i.evidence}
        assert marks and set(marks) <= {q[a:b] for q in quotes for a in range(len(q)) for b in range(a + 1, len(q) + 1)}
        assert browser.js("document.getElementById('backdrop').textContent") == typed + "\n"
        assert all(url.startswith(server + "/") for url in browser.requests())

        # a correction in the middle: another side in one place is a side conflict
        at = typed.index("right distal femoral replacement")
        browser.js(f"document.getElementById('note').setSelectionRange({at}, {at + len('right')})")
        browser.type("left")
        edited = typed[:at] + "left" + typed[at + len("right"):]
        assert shown_for(browser, edited) == [[i.id, i.status] for i in checker.check(edited).checklist]
        assert "SIDE CONFLICT" in browser.js("document.getElementById('case').textContent")
        browser.screenshot(tmp_path / "live.png")
        assert (tmp_path / "live.png").stat().st_size > 20_000


def test_a_gap_sentence_is_inserted_with_one_click(server, checker):
    text = "PREOPERATIVE DIAGNOSIS: Osteosarcoma of the right distal femur.\nPROCEDURE: Radical resection of the right distal femur.\n"
    with Browser() as browser:
        browser.open(server + "/")
        browser.js("document.getElementById('note').focus()")
        browser.type(text)
        shown_for(browser, text)
        assert browser.js("document.querySelector('[data-item=\"frozen_section\"]').dataset.status") == "missing"
        browser.js("document.querySelector('[data-item=\"frozen_section\"] .suggestion button').click()")
        suggestion = next(i.suggestion for i in checker.check(text).checklist if i.id == "frozen_section")
        after = browser.wait_for("document.getElementById('note').value.includes('Frozen section') && document.getElementById('note').value")
        assert after == text + suggestion + "\n"
        assert shown_for(browser, after) == [[i.id, i.status] for i in checker.check(after).checklist]
