"""The open live sessions of ``opnote serve``: ids, expiry and a limit.

A session is known by an id of 128 random bits (whoever holds it can read the note's report,
so it is never logged or guessable). It expires ``ttl`` seconds after its last use and is then
closed like one a client deletes: :meth:`opnote.session.Session.close` forgets the note's text,
the pieces kept for reuse and the latest report.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import SessionClosedError, SessionLimitError

if TYPE_CHECKING:  # pragma: no cover
    from ..api import Checker
    from ..session import Session

__all__ = ["SessionStore"]


@dataclass
class _Entry:
    session: Session
    last_used: float


class SessionStore:
    """Open sessions by id; thread-safe."""

    def __init__(self, checker: Checker, *, ttl: float, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.checker = checker
        self.ttl = ttl
        self.limit = limit
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def open(self, *, code: str | None, icd10: list[str] | None, source: str | None) -> tuple[str, Session]:
        """A new session and its id; :class:`SessionLimitError` when ``limit`` are open."""
        session = self.checker.session(code=code, icd10=icd10, source=source)  # checks the codes first
        self.expire()
        with self._lock:
            if len(self._entries) >= self.limit:
                session.close()
                raise SessionLimitError(f"<request>: {self.limit} sessions are open (--max-sessions); close one or try again later")
            sid = secrets.token_urlsafe(16)
            self._entries[sid] = _Entry(session, self._clock())
        return sid, session

    def get(self, sid: str) -> Session:
        """The open session ``sid`` (its expiry starts again); :class:`SessionClosedError` if there is none."""
        now = self._clock()
        expired = None
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None and now - entry.last_used > self.ttl:
                expired = self._entries.pop(sid)
                entry = None
            if entry is not None:
                entry.last_used = now
        if expired is not None:
            expired.session.close()
        if entry is None:
            raise SessionClosedError("<session>: no such session (closed, expired, or never opened)")
        return entry.session

    def close(self, sid: str) -> None:
        """Close ``sid`` and forget its note; :class:`SessionClosedError` if it is not open."""
        with self._lock:
            entry = self._entries.pop(sid, None)
        if entry is None:
            raise SessionClosedError("<session>: no such session (closed, expired, or never opened)")
        entry.session.close()

    def expire(self) -> int:
        """Close the sessions unused for ``ttl`` seconds; how many were closed."""
        now = self._clock()
        with self._lock:
            stale = [sid for sid, e in self._entries.items() if now - e.last_used > self.ttl]
            entries = [self._entries.pop(sid) for sid in stale]
        for entry in entries:
            entry.session.close()
        return len(entries)

    def close_all(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            entry.session.close()
