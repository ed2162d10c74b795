"""The FastAPI application of ``opnote serve`` (needs the serve extra; see ``docs/live.md``).

Requests carry the note in their body, never in the URL, so an access log (which names the
method, the path and the status) holds no note text; query strings are left out of it anyway,
and an internal error is logged as one line naming the exception's type, never its message.
Every response that carries a report says ``Cache-Control: no-store``.

Typed errors become HTTP statuses (:data:`STATUS`) with the CLI's one-line message::

    {"error": {"code": "E101", "message": "[E101] <text>: the note is empty"}}
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from importlib.resources import files
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import (
    AuthError,
    CodeError,
    InputError,
    NoteTimeoutError,
    NoteTooLargeError,
    OpnoteError,
    RequestError,
    RuleFileError,
    SessionClosedError,
    SessionLimitError,
)
from ..io import decode
from ..schema import Report, report_json_schema
from .page import page_view
from .settings import Settings
from .store import SessionStore

__all__ = ["STATUS", "build_app", "log_config"]

log = logging.getLogger("opnote.serve")
T = TypeVar("T")


class UnsupportedMediaError(RequestError):
    """A body that is neither JSON nor plain text (HTTP 415)."""


#: HTTP status of each typed error; the first class an error is an instance of wins.
STATUS: tuple[tuple[type[OpnoteError], int], ...] = (
    (NoteTooLargeError, 413),
    (NoteTimeoutError, 503),
    (InputError, 422),
    (CodeError, 422),
    (RuleFileError, 422),  # an unknown CPT code in the request
    (SessionClosedError, 404),
    (SessionLimitError, 503),
    (AuthError, 401),
    (UnsupportedMediaError, 415),
    (RequestError, 400),
    (OpnoteError, 500),
)

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATIC = {"live.js": "text/javascript; charset=utf-8", "live.css": "text/css; charset=utf-8"}


class Format(StrEnum):
    json = "json"
    fhir = "fhir"
    page = "page"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckRequest(_Body):
    """``POST /v1/check``: a note and what to check it against."""

    text: str
    icd10: list[str] | str | None = None
    code: str | None = None
    source: str | None = None


class SessionRequest(_Body):
    """``POST /v1/sessions``: what every update of the session is checked against, and optionally the note so far."""

    icd10: list[str] | str | None = None
    code: str | None = None
    source: str | None = None
    text: str | None = None


class UpdateRequest(_Body):
    """``PATCH /v1/sessions/{id}``: the whole note so far."""

    text: str


class SessionOpened(BaseModel):
    id: str
    expires_in: float
    report: dict[str, Any] | None = None


def _status(e: OpnoteError) -> int:
    return next(status for cls, status in STATUS if isinstance(e, cls))


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _opnote_error(e: OpnoteError) -> JSONResponse:
    status = _status(e)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "5"} if status == 503 else None
    return _error_response(status, e.code, str(e), headers)


# ------------------------------------------------------------------------------------ bodies
async def _read(request: Request, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes (from its Content-Length, or as it arrives)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise NoteTooLargeError(f"<request>: {int(length)} bytes is over the limit of {limit} bytes (--max-bytes)")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise NoteTooLargeError(f"<request>: more than {limit} bytes is over the limit of {limit} bytes (--max-bytes)")
        parts.append(chunk)
    return b"".join(parts)


def _codes(values: list[str]) -> list[str] | None:
    codes = [c.strip() for v in values for c in v.split(",") if c.strip()]
    return codes or None


def _fields(request: Request, body: bytes, limit: int) -> dict[str, Any]:
    """The body's fields: a JSON object, or plain text (the note) with the other fields in the query string."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RequestError("<request>: the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise RequestError(f"<request>: the body must be a JSON object, not {type(data).__name__}")
        return data
    if media == "text/plain" or (not media and body):
        q = request.query_params
        fields: dict[str, Any] = {k: q[k] for k in ("code", "source") if k in q}
        # decoded as a note file is (UTF-8, UTF-16 with a byte-order mark, else Windows-1252)
        fields["text"] = decode(body, q.get("source") or "<text>", limit).text if body else ""
        if "icd10" in q:
            fields["icd10"] = _codes(q.getlist("icd10"))
        return fields
    if not body:
        return {}
    raise UnsupportedMediaError(f"<request>: send the note as application/json or text/plain, not {media}")


def _model(model: type[T], data: dict[str, Any]) -> T:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestError(f"<request>: {where}: {first['msg']}") from None


async def _parse(request: Request, settings: Settings, model: type[T]) -> T:
    return _model(model, _fields(request, await _read(request, settings.max_bytes), settings.max_bytes))


async def _work(fn: Callable[[], T], timeout: float) -> T:
    """``fn()`` in a worker thread; :class:`NoteTimeoutError` after ``timeout`` seconds (the work itself runs on)."""
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    except TimeoutError:
        raise NoteTimeoutError(f"<request>: not checked within {timeout:g} s (--timeout)") from None


def _respond(report: Report, fmt: Format, text: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if fmt is Format.fhir:
        return Response(json.dumps(report.to_fhir(text), ensure_ascii=False), media_type="application/fhir+json", headers=headers)
    if fmt is Format.page:
        return JSONResponse(page_view(report), headers=headers)
    return Response(report.model_dump_json(), media_type="application/json", headers=headers)


def _request_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body read by hand: JSON of ``model``, or the note as plain text."""
    return {"requestBody": {"required": model is not SessionRequest, "content": {
        "application/json": {"schema": model.model_json_schema()},
        "text/plain": {"schema": {"type": "string", "description": "the note (other fields in the query string)"}},
    }}}


REPORT_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The report (the contract of `opnote schema`), a FHIR R4B Bundle with `format=fhir`, or the live page's view with `format=page`.",
    "content": {"application/json": {"schema": {"type": "object", "title": "Report"}}, "application/fhir+json": {"schema": {"type": "object"}}},
}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/json": {"example": {"error": {"code": code, "message": f"[{code}] ..."}}}}}
    for status, code, description in (
        (400, "E510", "not JSON, or a missing or mistyped field"), (401, "E511", "a missing or wrong bearer token"),
        (404, "E501", "no such session (closed, expired or never opened)"), (413, "E104", "over --max-bytes"),
        (415, "E510", "neither JSON nor plain text"), (422, "E101", "a note that cannot be checked, or a bad code"),
        (503, "E108", "not checked within --timeout, or --max-sessions open"),
    )
}


# ------------------------------------------------------------------------------- the app
def build_app(checker: Any, settings: Settings) -> FastAPI:  # noqa: ANN401 - an opnote.Checker or None
    """The application around ``checker`` (a new one, from ``settings``, when None)."""
    if checker is None:
        from ..api import Checker

        checker = Checker(settings.model, code=settings.code, max_bytes=settings.max_bytes)
    store = SessionStore(checker, ttl=settings.session_ttl, limit=settings.max_sessions)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_expire(store, min(30.0, max(1.0, settings.session_ttl / 4))))
        try:
            yield
        finally:
            task.cancel()
            store.close_all()

    app = FastAPI(
        title="opnote", version=__version__, lifespan=lifespan,
        description="Checks operative notes against a CPT documentation checklist, one note at a time or live while it is written. See docs/live.md.",
    )
    app.state.store, app.state.checker, app.state.settings = store, checker, settings
    _handlers(app)
    app.add_middleware(CatchAll, debug=settings.debug)
    app.include_router(_api(store, checker, settings), dependencies=[Depends(_auth(settings.token))])
    app.include_router(_pages(store))
    return app


async def _expire(store: SessionStore, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        store.expire()


def _auth(token: str | None) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise AuthError("<request>: a bearer token is required (Authorization: Bearer ...)")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise AuthError("<request>: wrong bearer token")

    return check


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(OpnoteError)
    async def opnote_error(_: Request, e: OpnoteError) -> JSONResponse:
        return _opnote_error(e)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        return _opnote_error(RequestError(f"<request>: {where}: {first.get('msg', 'invalid')}"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        return _error_response(e.status_code, RequestError.code, f"[{RequestError.code}] <request>: {request.method} {request.url.path}: {e.detail}")


class CatchAll:
    """Any other exception becomes a 500 with ``[E900] internal error (TypeName)`` and one log line.

    Starlette's own last-resort handler re-raises the exception after answering, so the server
    would log its traceback, whose message can quote the note; this middleware keeps it in.
    """

    def __init__(self, app: ASGIApp, debug: bool = False) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as e:  # noqa: BLE001 - every failure is answered the same way
            route = getattr(scope.get("route"), "path", None) or "?"
            log.error("[E900] internal error (%s) in %s %s", type(e).__name__, scope.get("method", "?"), route)
            if self.debug:
                import traceback

                traceback.print_exception(e, file=sys.stderr)
            if not started:
                await _error_response(500, "E900", f"[E900] internal error ({type(e).__name__})")(scope, receive, send)


def _api(store: SessionStore, checker: Any, settings: Settings) -> APIRouter:  # noqa: ANN401, C901 - one closure per route
    api = APIRouter(prefix="/v1", responses=ERRORS)
    timeout = settings.timeout

    @api.post("/check", responses=REPORT_RESPONSE, openapi_extra=_request_body(CheckRequest), summary="Check one note")
    async def check(request: Request, format: Format = Query(Format.json)) -> Response:  # noqa: A002 - the query parameter's name
        body = await _parse(request, settings, CheckRequest)
        report = await _work(lambda: checker.check(body.text, body.icd10, source=body.source, code=body.code), timeout)
        return _respond(report, format, body.text)

    @api.post("/sessions", status_code=201, response_model=SessionOpened, openapi_extra=_request_body(SessionRequest), summary="Open a live session")
    async def open_session(request: Request, response: Response) -> SessionOpened:
        body = await _parse(request, settings, SessionRequest)
        sid, session = await _work(lambda: store.open(code=body.code, icd10=_list(body.icd10), source=body.source), timeout)
        report = None
        if body.text is not None:
            text = body.text
            try:
                report = (await _work(lambda: session.update(text), timeout)).model_dump(mode="json")
            except OpnoteError:
                store.close(sid)
                raise
        response.headers["Location"] = f"/v1/sessions/{sid}"
        response.headers["Cache-Control"] = "no-store"
        return SessionOpened(id=sid, expires_in=settings.session_ttl, report=report)

    @api.patch("/sessions/{sid}", responses=REPORT_RESPONSE, openapi_extra=_request_body(UpdateRequest), summary="Update a session with the whole note so far")
    async def update_session(sid: str, request: Request, format: Format = Query(Format.json)) -> Response:  # noqa: A002
        session = store.get(sid)
        body = await _parse(request, settings, UpdateRequest)
        report = await _work(lambda: session.update(body.text), timeout)
        return _respond(report, format, body.text)

    @api.delete("/sessions/{sid}", status_code=204, summary="Close a session and forget its note")
    async def close_session(sid: str) -> Response:
        store.close(sid)
        return Response(status_code=204)

    @api.get("/schema", summary="The JSON Schema of the report")
    async def schema() -> dict[str, Any]:
        return report_json_schema()

    return api


def _list(icd10: list[str] | str | None) -> list[str] | None:
    return [icd10] if isinstance(icd10, str) else icd10


def _pages(store: SessionStore) -> APIRouter:
    pages = APIRouter()
    security = {"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    @pages.get("/healthz", summary="Liveness: the version and the number of open sessions")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "sessions": len(store)}

    @pages.get("/", include_in_schema=False)
    async def live_page() -> Response:
        html = files("opnote.serve").joinpath("static/live.html").read_text(encoding="utf-8")
        return Response(html.replace("{{version}}", __version__), media_type="text/html; charset=utf-8", headers=security)

    @pages.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(404, "Not Found")
        data = files("opnote.serve").joinpath(f"static/{name}").read_bytes()
        return Response(data, media_type=STATIC[name], headers=security)

    return pages


# ------------------------------------------------------------------------------- logging
class NoQuery(logging.Filter):
    """uvicorn's access log without query strings (the API takes no note text there, but a client could send one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`NoQuery` on its access log, and opnote's logger."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    config.setdefault("filters", {})["no_query"] = {"()": "opnote.serve.app.NoQuery"}
    config["handlers"]["access"]["filters"] = ["no_query"]
    config["loggers"]["opnote.serve"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
