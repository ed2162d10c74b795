"""``opnote serve``: the HTTP API as a scribe tool uses it, its limits, errors and logs.

Requests go through FastAPI's test client (in process) and, for the logs and the command line,
through a real ``opnote serve`` process. Every report the service returns is compared with
``Checker.check`` of the same text.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[test]'")

with warnings.catch_warnings():  # starlette would rather see httpx2 (not installed): the test client works the same
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from notes import READY_NOTE, SECRET, SECRET_NOTE  # noqa: E402
from opnote.errors import EmptyNoteError  # noqa: E402
from opnote.schema import report_json_schema  # noqa: E402
from opnote.serve import Settings, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEV = sorted((ROOT / "sample_notes" / "dev").glob("*.txt"))
VAGUE = ROOT / "sample_notes" / "dev" / "right_femur_chondrosarcoma_narrative_vague.txt"


@pytest.fixture(scope="module")
def client(checker):
    with TestClient(create_app(checker, Settings())) as c:
        yield c


def client_with(checker, **settings):
    return TestClient(create_app(checker, Settings(**settings)))


def error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


# ------------------------------------------------------------------------------ checking
def test_check_returns_the_report_contract(client, checker):
    text = VAGUE.read_text(encoding="utf-8")
    got = client.post("/v1/check", json={"text": text, "icd10": ["C41.9"], "source": "vague.txt"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.text == checker.check(text, ["C41.9"], source="vague.txt").model_dump_json()
    assert got.headers["cache-control"] == "no-store"
    plain = client.post("/v1/check?icd10=C41.9&source=vague.txt", content=text.encode("utf-8"), headers={"content-type": "text/plain"})
    assert plain.text == got.text
    fhir = client.post("/v1/check?format=fhir", json={"text": text})
    assert fhir.headers["content-type"] == "application/fhir+json"
    assert fhir.json() == json.loads(json.dumps(checker.check(text).to_fhir(text)))


def test_schema_health_and_openapi(client):
    assert client.get("/v1/schema").json() == report_json_schema()
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and isinstance(health["sessions"], int)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/check", "/v1/sessions", "/v1/sessions/{sid}", "/v1/schema", "/healthz"} <= set(paths)
    assert "text/plain" in paths["/v1/check"]["post"]["requestBody"]["content"]


# ------------------------------------------------------------------------------ sessions
def test_a_note_dictated_over_http_gives_the_full_check_at_every_step(client, checker):
    text = DEV[20].read_text(encoding="utf-8")
    opened = client.post("/v1/sessions", json={"icd10": "C40.21", "source": "dictation"})
    assert opened.status_code == 201
    sid = opened.json()["id"]
    assert opened.headers["location"] == f"/v1/sessions/{sid}" and len(sid) >= 20
    cuts = [m.end() for m in re.finditer(r"[.!?]\s+|\n", text)][::3] + [len(text)]
    for cut in cuts:
        got = client.patch(f"/v1/sessions/{sid}", json={"text": text[:cut]})
        assert got.status_code == 200
        assert got.text == checker.check(text[:cut], ["C40.21"], source="dictation").model_dump_json()
    # a correction in the middle, then a deleted sentence
    for edited in (text.replace("the", "THE", 1), text[:200] + text[400:]):
        got = client.patch(f"/v1/sessions/{sid}", content=edited.encode(), headers={"content-type": "text/plain"})
        assert got.text == checker.check(edited, ["C40.21"], source="dictation").model_dump_json()
    assert client.delete(f"/v1/sessions/{sid}").status_code == 204
    assert error(client.patch(f"/v1/sessions/{sid}", json={"text": text}))[:2] == (404, "E501")
    assert error(client.delete(f"/v1/sessions/{sid}"))[:2] == (404, "E501")


def test_a_session_opened_with_text_and_the_page_format(client, checker):
    text = READY_NOTE.read_text(encoding="utf-8")
    opened = client.post("/v1/sessions", json={"text": text}).json()
    assert json.dumps(opened["report"], separators=(",", ":")) == json.dumps(checker.check(text).model_dump(mode="json"), separators=(",", ":"))
    view = client.patch(f"/v1/sessions/{opened['id']}?format=page", json={"text": text}).json()
    assert view["case_line"] == "Right distal femur, bone, current tumor, radical resection"
    assert view["verdict"] == "ready" and [i["status"] for i in view["items"]] == ["met"] * 9
    quotes = [text[e["start"]:e["end"]] for i in view["items"] for e in i["evidence"]]
    assert "distal femur" in quotes
    # a session whose first text cannot be checked is not left open
    before = client.get("/healthz").json()["sessions"]
    assert error(client.post("/v1/sessions", json={"text": " "}))[:2] == (422, "E101")
    assert client.get("/healthz").json()["sessions"] == before


def test_sessions_expire_and_forget_their_note(checker):
    clock = [0.0]
    app = create_app(checker, Settings(session_ttl=60))
    store = app.state.store
    store._clock = lambda: clock[0]
    with TestClient(app) as c:
        sid = c.post("/v1/sessions", json={"text": SECRET_NOTE}).json()["id"]
        session = store.get(sid)
        clock[0] = 30
        assert c.patch(f"/v1/sessions/{sid}", json={"text": SECRET_NOTE}).status_code == 200  # used: expiry starts again
        clock[0] = 89
        assert store.expire() == 0
        clock[0] = 91
        assert store.expire() == 1 and session.closed
        assert error(c.patch(f"/v1/sessions/{sid}", json={"text": SECRET_NOTE}))[:2] == (404, "E501")
        assert c.get("/healthz").json()["sessions"] == 0


def test_at_most_max_sessions_are_open(checker):
    with client_with(checker, max_sessions=2) as c:
        ids = [c.post("/v1/sessions").json()["id"] for _ in range(2)]
        full = c.post("/v1/sessions")
        assert error(full)[:2] == (503, "E502") and full.headers["retry-after"]
        c.delete(f"/v1/sessions/{ids[0]}")
        assert c.post("/v1/sessions").status_code == 201


# -------------------------------------------------------------------------------- errors
def test_errors_are_typed_with_the_clis_one_line_messages(client, checker):
    with pytest.raises(EmptyNoteError) as empty:
        checker.check("   ")
    assert error(client.post("/v1/check", json={"text": "   "})) == (422, "E101", str(empty.value))
    assert error(client.post("/v1/check", json={"text": "Left femur.", "icd10": ["C99.999"]}))[:2] == (422, "E200")
    assert error(client.post("/v1/check", json={"text": "Left femur.", "code": "99999"}))[:2] == (422, "E300")
    assert error(client.post("/v1/check", json={"text": "Left femur.\x00"}))[:2] == (422, "E102")
    assert error(client.post("/v1/check", content=b"{not json", headers={"content-type": "application/json"}))[:2] == (400, "E510")
    assert error(client.post("/v1/check", json=["a list"]))[:2] == (400, "E510")
    assert error(client.post("/v1/check", json={"text": 12}))[2] == "[E510] <request>: text: Input should be a valid string"
    assert error(client.post("/v1/check", json={"note": "x"}))[:2] == (400, "E510")
    assert error(client.post("/v1/check", content=b"x", headers={"content-type": "application/pdf"}))[:2] == (415, "E510")
    assert error(client.post("/v1/check?format=xml", json={"text": "x"}))[:2] == (400, "E510")
    assert error(client.get("/v1/nothing"))[:2] == (404, "E510")
    for got in (client.post("/v1/check", json={"text": "x"}), client.post("/v1/check", json={"text": ""})):
        assert "Traceback" not in got.text and got.headers["content-type"] == "application/json"


def test_request_size_and_time_limits(checker):
    text = READY_NOTE.read_text(encoding="utf-8")
    with client_with(checker, max_bytes=1000) as c:
        status, code, message = error(c.post("/v1/check", json={"text": text}))
        assert (status, code) == (413, "E104") and "over the limit of 1000 bytes" in message

        def chunks():  # no Content-Length: counted as it arrives
            for i in range(0, len(text), 200):
                yield text[i:i + 200].encode()

        assert error(c.post("/v1/check", content=chunks(), headers={"content-type": "text/plain"}))[:2] == (413, "E104")
    with client_with(checker, timeout=0.001) as c:
        slow = c.post("/v1/check", json={"text": text})
        assert error(slow)[:2] == (503, "E108") and "not checked within 0.001 s (--timeout)" in error(slow)[2]


def test_bearer_token(checker):
    with client_with(checker, token="s3cret-token") as c:
        assert error(c.post("/v1/check", json={"text": "Left femur."}))[:2] == (401, "E511")
        wrong = c.post("/v1/sessions", headers={"authorization": "Bearer nope"})
        assert error(wrong)[:2] == (401, "E511") and wrong.headers["www-authenticate"] == "Bearer"
        ok = c.post("/v1/check", json={"text": "Left femur."}, headers={"authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200  # no note, no token


def test_an_internal_error_is_one_line_without_the_note(checker, caplog, monkeypatch):
    app = create_app(checker, Settings())

    def broken(*args, **kw):
        raise ValueError(f"could not read {SECRET}")

    with TestClient(app) as c:
        monkeypatch.setattr(checker, "check", broken)
        with caplog.at_level(logging.INFO, logger="opnote.serve"):
            got = c.post("/v1/check", json={"text": SECRET_NOTE})
    assert error(got) == (500, "E900", "[E900] internal error (ValueError)")
    assert [r.getMessage() for r in caplog.records] == ["[E900] internal error (ValueError) in POST /v1/check"]
    assert SECRET not in caplog.text


# --------------------------------------------------------------------------- the page
def test_the_live_page_loads_nothing_from_elsewhere(client):
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    html = page.text
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["/static/live.css", "/static/live.js", "/docs"]
    assert "<script>" not in html and "style=" not in html
    for name in ("live.js", "live.css"):
        body = client.get(f"/static/{name}").text
        assert "http://" not in body and "https://" not in body and "@import" not in body
    assert client.get("/static/../app.py").status_code == 404


# ----------------------------------------------------------------- a real opnote serve
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str, body: object = None, raw: bytes | None = None, ctype: str = "application/json") -> tuple[int, str]:
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.slow
def test_a_served_session_logs_no_note_text(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "opnote", "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if call(base + "/healthz", "GET")[0] == 200:
                    break
            except OSError:
                time.sleep(0.25)
        status, body = call(base + "/v1/check", "POST", {"text": SECRET_NOTE})
        assert status == 200 and json.loads(body)["verdict"] == "ready"
        sid = json.loads(call(base + "/v1/sessions", "POST", {"text": SECRET_NOTE[:300]})[1])["id"]
        assert call(f"{base}/v1/sessions/{sid}?format=page", "PATCH", {"text": SECRET_NOTE})[0] == 200
        assert call(f"{base}/v1/sessions/{sid}", "PATCH", raw=SECRET_NOTE.encode(), ctype="text/plain")[0] == 200
        assert call(f"{base}/v1/check", "POST", raw=b'{"text": "' + SECRET.encode() + b'"')[0] == 400  # broken JSON
        assert call(f"{base}/v1/check?source={SECRET.split()[2]}", "POST", {"text": SECRET, "icd10": ["bad"]})[0] == 422
        assert call(f"{base}/v1/sessions/{sid}", "DELETE")[0] == 204
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    log = (out + err).decode("utf-8", "replace")
    assert f"serving http://127.0.0.1:{port}/" in log and '"PATCH /v1/sessions/' in log and '"POST /v1/check HTTP/1.1" 422' in log
    for word in ("Zebulon", "Quartermaine", "Vasquez"):
        assert word not in log
    assert "Traceback" not in log
    assert proc.returncode == 130  # Ctrl-C, as for every opnote command


def run_opnote(*args: str, code: str = "") -> subprocess.CompletedProcess:
    prelude = code + "import sys; from opnote.cli import main; sys.argv = ['opnote', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", prelude, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_serve_without_the_extra_says_so_in_one_line():
    proc = run_opnote("serve", code="import sys; sys.modules['fastapi'] = None; ")
    assert proc.returncode == 3
    assert proc.stderr == "opnote: error: opnote serve needs the serve extra (fastapi is not installed): pip install 'opnote[serve]'\n"
    proc = run_opnote("serve", code="import sys; sys.modules['uvicorn'] = None; ")
    assert proc.returncode == 3 and "(uvicorn is not installed)" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_help_lists_serve_without_importing_fastapi():
    script = (
        "import sys; from opnote.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'fastapi' in sys.modules, 'uvicorn' in sys.modules, 'spacy' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "serve" in proc.stdout and "LOADED False False False" in proc.stdout


@pytest.mark.slow
def test_a_port_in_use_is_one_line_and_status_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        proc = run_opnote("serve", "--port", str(busy.getsockname()[1]))
    assert proc.returncode == 2
    assert re.fullmatch(r"opnote: error: cannot listen on 127\.0\.0\.1:\d+ \([^)]+\)\n", proc.stderr), proc.stderr
