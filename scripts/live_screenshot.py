"""Take the live page's screenshot for the README and docs/live.md (docs/live-screenshot.png).

    .venv/bin/python scripts/live_screenshot.py [OUT.png]

Serves the live page from this checkout (uvicorn in a thread), types the first part of a dev
sample note into it in headless Chromium (``tests/cdp.py``), waits for the checklist to catch
up, and saves a 1400 x 900 screenshot. Needs the serve extra and the Debian package chromium.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

NOTE = ROOT / "sample_notes" / "dev" / "right_distal_femur_osteosarcoma_dfr_templated.txt"
CHARS = 1500  # about: up to the consent discussion, where some items are met and some are not


def main(out: Path) -> None:
    import uvicorn
    from cdp import Browser

    from opnote.serve import Settings, _listen
    from opnote.serve.app import build_app

    sock = _listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(build_app(None, Settings()), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    note = NOTE.read_text(encoding="utf-8")
    text = note[:note.rfind(". ", 0, CHARS) + 1]
    try:
        with Browser(1400, 900) as browser:
            browser.open(f"http://127.0.0.1:{sock.getsockname()[1]}/")
            browser.js("document.getElementById('note').focus()")
            browser.type(text)
            browser.wait_for(f"document.body.dataset.state === 'current' && document.getElementById('note').value.length === {len(text)}")
            browser.js("document.getElementById('note').blur(); document.getElementById('note').scrollTop = 0")
            time.sleep(0.3)
            browser.screenshot(out)
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "live-screenshot.png")
