"""``opnote serve``: the checker as a local HTTP service, with live sessions and a live page.

Needs the ``serve`` extra (FastAPI and uvicorn): ``pip install 'opnote[serve]'``. This package
imports neither until a service is made, so ``import opnote.serve`` works without the extra and
:func:`require` says what is missing in one line.

* :func:`create_app` builds the ASGI application (``opnote.serve.app``) around one
  :class:`~opnote.Checker`: ``POST /v1/check``, ``POST/PATCH/DELETE /v1/sessions``,
  ``GET /v1/schema``, ``GET /healthz``, the live page at ``/`` and the OpenAPI document.
* :func:`run` serves it with uvicorn (what ``opnote serve`` calls).

``docs/live.md`` describes the HTTP API, its limits and what is kept in memory for how long.
"""

from __future__ import annotations

import gc
import socket
from typing import TYPE_CHECKING

from ..console import notice
from .settings import SERVE_MAX_BYTES, Settings

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from ..api import Checker

__all__ = ["INSTALL_HINT", "SERVE_MAX_BYTES", "ServeNotInstalledError", "Settings", "create_app", "require", "run"]

INSTALL_HINT = "pip install 'opnote[serve]'"


class ServeNotInstalledError(ImportError):
    """FastAPI or uvicorn is not installed (the ``serve`` extra)."""


def require() -> None:
    """Raise :class:`ServeNotInstalledError`, naming what is missing, unless the serve extra is installed."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ServeNotInstalledError(f"opnote serve needs the serve extra ({e.name or 'fastapi'} is not installed): {INSTALL_HINT}") from None


def create_app(checker: Checker | None = None, settings: Settings | None = None) -> FastAPI:
    """The ASGI application (a new :class:`~opnote.Checker` unless one is given)."""
    require()
    from .app import build_app

    return build_app(checker, settings or Settings())


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (OSError when it cannot be had: in use, no such address)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run(settings: Settings, checker: Checker | None = None) -> None:
    """Serve until interrupted (``opnote serve``); OSError when the address cannot be listened on."""
    require()
    import uvicorn

    from .app import build_app, log_config

    sock = _listen(settings.host, settings.port)  # before the pipeline is built: a port in use fails at once
    if not settings.local and settings.token is None:
        notice(f"serving on {settings.host} without --token: anyone who can reach this port can send notes and read reports")
    app = build_app(checker, settings)
    # The pipeline is a few hundred thousand objects that live as long as the process; Python's
    # full garbage collections would walk them all (about 0.2 s, measured), at whatever request
    # happened to trigger one. Frozen, they are never walked again.
    gc.collect()
    gc.freeze()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    notice(f"serving http://{shown}:{port}/ (the live page; the API under /v1, its description at /docs); Ctrl-C stops")
    config = uvicorn.Config(
        app, log_config=log_config(), access_log=settings.access_log, timeout_graceful_shutdown=5, server_header=False,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
