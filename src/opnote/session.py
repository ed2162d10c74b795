"""Live sessions: the report of a note while it is being written, after every edit.

A scribe tool holds the note as dictated so far and, after each sentence (or correction), calls
``session.update(text)`` with the whole text. The report is the one ``Checker.check(text)``
returns for that text, always: same JSON, byte for byte. What makes it cheaper is
:class:`~opnote.incremental.IncrementalPipeline`, which keeps the tokens, target matches and
dimensions of the note's lines and sentences from one update to the next and redoes them only
for the parts that changed; everything that reads the whole note (the canonical text, sections,
abbreviations, ConText, findings, the case model, the assessors) is recomputed each time.

A session holds the note's latest text, pieces of it and its latest report until
:meth:`Session.close` (or the end of a ``with`` block), which forgets them all.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .errors import SessionClosedError
from .incremental import IncrementalPipeline, Stats
from .io import check_text
from .normalize import canonical
from .schema import Report

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from .api import Checker

__all__ = ["Session", "SessionClosedError"]



class Session:
    """One note being written; made by :meth:`opnote.Checker.session`.

    Safe to share between threads (updates are serialized); a session is for one note at a time.
    """

    def __init__(self, checker: Checker, *, code: str, claim: list[str], source: str | None) -> None:
        self._checker = checker
        self.code = code
        self.icd10 = list(claim)
        self.source = source
        self._pipeline: IncrementalPipeline | None = IncrementalPipeline(checker.nlp)
        self._text: str | None = None
        self._json: str | None = None  # the latest report, as JSON (the caller may change the object it got)
        self._lock = threading.Lock()
        self.updates = 0
        self.last_update = time.monotonic()

    # -- the API ------------------------------------------------------------------------------
    def update(self, text: str) -> Report:
        """The report of the note whose whole text so far is ``text`` (what ``check`` returns).

        Raises what ``check`` raises for the same text (:class:`~opnote.errors.InputError` for an
        empty or oversized note, ...), and :class:`SessionClosedError` after :meth:`close`; a
        failed update leaves the session as it was.
        """
        with self._lock:
            pipeline = self._pipeline
            if pipeline is None:
                raise SessionClosedError(f"{self.source or '<session>'}: the session is closed")
            self.last_update = time.monotonic()
            if self._json is not None and text == self._text:
                return Report.model_validate_json(self._json)
            note = check_text(text, self.source or "<text>")
            checker = self._checker
            checker._check_size(note.text, self.source)
            canon = canonical(note.text)
            with checker._lock:
                doc = pipeline.process(canon.text)
            report = checker._report(doc, canon, self.icd10, self.source, None, self.code)
            self._text, self._json = note.text, report.model_dump_json()
            self.updates += 1
            return report

    def close(self) -> None:
        """Forget the note: its text, the pieces kept for reuse and the latest report."""
        with self._lock:
            if self._pipeline is not None:
                self._pipeline.clear()
            self._pipeline = None
            self._text = None
            self._json = None

    @property
    def closed(self) -> bool:
        return self._pipeline is None

    @property
    def stats(self) -> Stats:
        """What the latest update reused (chunks, windows and lines that were new, ...)."""
        return self._pipeline.stats if self._pipeline is not None else Stats()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
