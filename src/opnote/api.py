"""The Python API: ``Checker().check(text)`` returns a :class:`~opnote.schema.Report`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spacy.language import Language
from spacy.tokens import Doc

from . import rules as rule_files
from ._gc import gc_paused
from .anchor import reanchor
from .assess import check_checklist
from .coding import validate_claim_codes
from .errors import CodeError
from .io import DEFAULT_MAX_BYTES, Note, check_text, decode, read_note
from .normalize import USER_DATA_KEY, Canonical, canonical, from_user_data, to_user_data
from .pipeline import load_nlp
from .schema import Report
from .scoring import evaluate

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

__all__ = ["Checker", "process", "report_from_doc"]


def _claim_codes(icd10: object, source: str | None = None) -> list[str]:
    """Validate the claim's ICD-10-CM codes: a list of strings (one string is one code).

    Anything else, or a string that is not a code, is a :class:`CodeError`; with ``source`` the
    message names the note.
    """
    if not icd10:
        return []
    codes = [icd10] if isinstance(icd10, str) else icd10
    try:
        if not isinstance(codes, (list, tuple)) or not all(isinstance(c, str) for c in codes):
            raise CodeError(f"icd10 must be a list of ICD-10-CM code strings (got {type(icd10).__name__})")
        return validate_claim_codes(list(codes))
    except CodeError as e:
        if source is None:
            raise
        raise CodeError(f"{source}: {e.args[0]}") from None


def report_from_doc(
    doc: Doc,
    *,
    code: str = "27365",
    icd10: list[str] | None = None,
    source: str | None = None,
    encoding: str | None = None,
) -> Report:
    """Turn a Doc processed by the opnote components into a :class:`Report`."""
    findings = doc._.opnote_findings if Doc.has_extension("opnote_findings") else None
    if findings is None:
        raise ValueError("this Doc was not processed by the opnote_findings component")
    claim = _claim_codes(icd10, source)
    canon = from_user_data(doc.text, doc.user_data.get(USER_DATA_KEY))
    return reanchor(_evaluate_doc(doc, doc.text, code=code, icd10=claim, source=source, encoding=encoding), canon)


def process(nlp: Language, text: str) -> Doc:
    """Run an opnote pipeline on a note the way :class:`Checker` does: on its canonical text.

    The Doc's text is the canonical text (one space between words, headings on lines of their
    own, standard spelling); :func:`report_from_doc` maps every offset back to ``text``.
    """
    canon = canonical(text)
    doc = nlp(canon.text)
    if canon.changed:
        doc.user_data[USER_DATA_KEY] = to_user_data(canon)
    return doc


def _evaluate_doc(doc: Doc, text: str, **kw: Any) -> Report:
    """The report of a processed Doc whose text is ``text``."""
    ext = doc._
    return evaluate(text, ext.opnote_findings, ext.opnote_cues or [], sentences=getattr(ext, "opnote_sents", None),
                    sections=getattr(ext, "opnote_sections", None), **kw)


class Checker:
    """Checks operative notes against a CPT documentation checklist.

    The pipeline is built (or loaded from ``model``) once, when the Checker is made; a Checker
    can be shared by threads. ``code`` picks the checklist (``27365`` by default; ``27645``).
    """

    def __init__(self, model: str | Path | None = None, *, code: str = "27365", max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        check_checklist(rule_files.checklist(code))  # fail early on an unknown code or item
        self.code = code
        self.max_bytes = max_bytes
        self.nlp: Language = load_nlp(model)
        self._lock = threading.Lock()

    # -- single notes ---------------------------------------------------------------
    def check(self, text: str, icd10: list[str] | None = None, *, source: str | None = None, code: str | None = None) -> Report:
        """Check one note's text. Raises :class:`InputError` for an empty note, :class:`CodeError` for a bad code."""
        note = check_text(text, source or "<text>")
        return self._check_note(note, icd10, code, source)

    def check_bytes(self, data: bytes, icd10: list[str] | None = None, *, source: str | None = None, code: str | None = None) -> Report:
        """Check a note given as bytes (UTF-8, UTF-16 with BOM, or Windows-1252)."""
        note = decode(data, source or "<bytes>", self.max_bytes)
        return self._check_note(note, icd10, code, source)

    def check_file(self, path: str | Path, icd10: list[str] | None = None, *, code: str | None = None) -> Report:
        """Read, decode and check one note file."""
        note = read_note(path, self.max_bytes)
        return self._check_note(note, icd10, code, str(path))

    def _check_note(self, note: Note, icd10: list[str] | None, code: str | None, source: str | None) -> Report:
        source = None if source is None else str(source)  # a Path is fine as a source
        return self._check_note_text(note.text, icd10, source, note.encoding if note.encoding != "str" else None, code)

    def _check_note_text(self, text: str, icd10: list[str] | None, source: str | None, encoding: str | None, code: str | None = None) -> Report:
        claim = _claim_codes(icd10, source)
        self._check_size(text, source)
        with gc_paused():
            canon = canonical(text)
            return self._report(self._run(canon.text), canon, claim, source, encoding, code)

    def _check_size(self, text: str, source: str | None) -> None:
        if len(text) > self.max_bytes:
            from .errors import NoteTooLargeError

            raise NoteTooLargeError(f"{source or '<text>'}: {len(text)} characters is over the limit of {self.max_bytes} (max_bytes)")

    def _report(self, doc: Doc, canon: Canonical, claim: list[str], source: str | None, encoding: str | None, code: str | None) -> Report:
        """The report of a Doc processed from ``canon.text``, its spans mapped back to the note."""
        report = _evaluate_doc(doc, canon.text, code=code or self.code, icd10=claim, source=source, encoding=encoding)
        return reanchor(report, canon)

    def _run(self, text: str) -> Doc:
        # spaCy pipelines are not documented as thread-safe; one lock keeps shared use correct.
        with self._lock:
            return self.nlp(text)

    # -- a note being written ---------------------------------------------------------
    def session(self, *, code: str | None = None, icd10: list[str] | None = None, source: str | None = None) -> Session:
        """A live session for one note being dictated or typed: ``session.update(text)``, with the
        whole note so far, returns what ``check(text, icd10, code=code, source=source)`` returns,
        reusing the work of the parts of the note that did not change (``docs/live.md``).

        The codes are checked here: an unknown CPT code raises :class:`RuleFileError`, a bad
        ICD-10-CM code :class:`CodeError`.
        """
        from .session import Session

        source = None if source is None else str(source)
        claim = _claim_codes(icd10, source)
        code = code or self.code
        check_checklist(rule_files.checklist(code))
        return Session(self, code=code, claim=claim, source=source)

    # -- many notes -------------------------------------------------------------------
    def check_many(
        self,
        texts: Iterable[str],
        icd10: list[str] | None = None,
        *,
        batch_size: int = 32,
        code: str | None = None,
    ) -> Iterator[Report]:
        """Check many note texts through ``nlp.pipe``, yielding reports in input order.

        Every text must be a valid note: the first that is not raises its :class:`InputError`
        (naming it ``<text N>``, counted from 0). :func:`opnote.batch.run_jobs` gives an error
        per note instead.
        """
        import itertools

        claim = _claim_codes(icd10)
        checked = (canonical(check_text(t, f"<text {i}>").text) for i, t in enumerate(texts))
        # One batch at a time: memory stays bounded, and the lock is not held while the caller
        # handles a report (so it may use this Checker inside the loop).
        while True:
            batch = list(itertools.islice(checked, batch_size))
            if not batch:
                return
            with self._lock:
                docs = list(self.nlp.pipe([c.text for c in batch], batch_size=batch_size))
            for canon, doc in zip(batch, docs, strict=True):
                yield reanchor(_evaluate_doc(doc, canon.text, code=code or self.code, icd10=claim), canon)

    def explain(self, text: str) -> Doc:
        """The processed Doc for a note (findings in ``doc.spans["opnote_findings"]``)."""
        text = check_text(text).text
        with self._lock:
            return process(self.nlp, text)


def check(text: str, icd10: list[str] | None = None, *, code: str = "27365") -> Report:
    """One-off check with a module-level Checker (built on first use)."""
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.code != code:
        _DEFAULT = Checker(code=code)
    return _DEFAULT.check(text, icd10)


_DEFAULT: Checker | None = None
