"""What ``opnote serve`` is started with (imports nothing of FastAPI or uvicorn)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SERVE_MAX_BYTES", "Settings"]

#: The service's default largest request (256 KiB; real operative notes are well under 100 kB).
#: Lower than the command line's 2 MiB: a request past --timeout is answered with an error, but
#: its check runs to its end and holds the pipeline meanwhile (see docs/live.md).
SERVE_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Settings:
    """What ``opnote serve`` is started with (each has a command-line option of the same name)."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None  # bearer token every /v1 request must carry
    max_bytes: int = SERVE_MAX_BYTES  # largest request body, and so largest note
    timeout: float = 10.0  # seconds one request may take
    session_ttl: float = 900.0  # seconds a session lives after its last use
    max_sessions: int = 64
    code: str = "27365"
    model: Path | None = None
    access_log: bool = True
    debug: bool = False  # tracebacks of internal errors on standard error

    @property
    def local(self) -> bool:
        """Is the service reachable from this machine only?"""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
