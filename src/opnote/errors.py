"""Typed errors. The library raises these; only the CLI turns them into exit codes.

Every error's message starts with its code in brackets (``[E101] notes/a.txt: the note is
empty``), names the note (a path, ``<stdin>``, ``<text>`` or a record id) and, where it helps,
a byte or character offset: never the note's words. ``docs/errors.md`` lists them all.

The classes form a tree, so callers catch as broadly as they like::

    OpnoteError (E000)
    ├── InputError (E100)           the note cannot be checked; the other notes of a batch still are
    │   ├── EmptyNoteError (E101)
    │   ├── BinaryInputError (E102)
    │   ├── DecodeError (E103)
    │   ├── NoteTooLargeError (E104)
    │   ├── UnreadableError (E105)
    │   ├── NoNotesError (E106)
    │   ├── NotTextError (E107)     also a TypeError
    │   └── NoteTimeoutError (E108)
    ├── CodeError (E200)
    ├── RuleFileError (E300)
    ├── ModelLoadError (E301)
    ├── OutputError (E400)          the output folder cannot be used: a usage error, exit 2
    ├── SessionError (E500)         a live session (opnote.session, opnote serve)
    │   ├── SessionClosedError (E501)
    │   └── SessionLimitError (E502)
    ├── RequestError (E510)         an HTTP request opnote serve does not take
    │   └── AuthError (E511)
    └── InternalError (E900)
"""

from __future__ import annotations


class OpnoteError(Exception):
    """Base class of every error opnote raises on purpose."""

    code = "E000"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"[{self.code}] {super().__str__()}"


class InputError(OpnoteError):
    """A note that cannot be checked (empty, binary, undecodable, too large, unreadable)."""

    code = "E100"


class EmptyNoteError(InputError):
    """The note is empty or holds only white space."""

    code = "E101"


class BinaryInputError(InputError):
    """The note holds NUL bytes or characters: binary data, not text."""

    code = "E102"


class DecodeError(InputError):
    """Bytes that are not UTF-8, UTF-16/32 with a byte-order mark, or Windows-1252; or a str with an unpaired surrogate."""

    code = "E103"


class NoteTooLargeError(InputError):
    """The note is over the size limit (``--max-bytes`` / ``Checker(max_bytes=...)``, default 2 MB)."""

    code = "E104"


class UnreadableError(InputError):
    """The path cannot be read: missing, permission denied, a directory, a symbolic-link loop."""

    code = "E105"


class NoNotesError(InputError):
    """A folder or pattern given on the command line holds no notes."""

    code = "E106"


class NotTextError(InputError, TypeError):
    """The API was given something other than a ``str`` as note text (use ``check_bytes`` for bytes)."""

    code = "E107"


class NoteTimeoutError(InputError):
    """The note was not checked within the time limit (``--timeout``); the batch goes on."""

    code = "E108"


class CodeError(OpnoteError):
    """An ``--icd10`` value that is not an ICD-10-CM code, or an unknown CPT code."""

    code = "E200"


class RuleFileError(OpnoteError):
    """A rule or checklist data file that does not validate, or an unknown CPT checklist."""

    code = "E300"


class ModelLoadError(OpnoteError):
    """A saved pipeline that cannot be loaded."""

    code = "E301"


class OutputError(OpnoteError):
    """The ``--out`` folder cannot be used: not a folder, not writable, another tool's files, an input inside it."""

    code = "E400"


class SessionError(OpnoteError):
    """A live session that cannot be used (``Checker.session``, ``opnote serve``)."""

    code = "E500"


class SessionClosedError(SessionError):
    """The session was closed, expired, or never opened (HTTP 404 from ``opnote serve``)."""

    code = "E501"


class SessionLimitError(SessionError):
    """``opnote serve`` holds as many open sessions as ``--max-sessions`` allows (HTTP 503)."""

    code = "E502"


class RequestError(OpnoteError):
    """An HTTP request ``opnote serve`` does not take: not JSON, a missing or mistyped field (HTTP 400 or 422)."""

    code = "E510"


class AuthError(RequestError):
    """A missing or wrong bearer token, when ``opnote serve`` was started with one (HTTP 401)."""

    code = "E511"


class InternalError(OpnoteError):
    """A bug: an unexpected exception while checking a note (the CLI shows its traceback with ``--debug``)."""

    code = "E900"
