"""Typed errors. The library raises these; only the CLI turns them into exit codes."""

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
    code = "E101"


class BinaryInputError(InputError):
    code = "E102"


class DecodeError(InputError):
    code = "E103"


class NoteTooLargeError(InputError):
    code = "E104"


class UnreadableError(InputError):
    code = "E105"


class CodeError(OpnoteError):
    """An ``--icd10`` value that is not an ICD-10-CM code, or an unknown CPT code."""

    code = "E200"


class RuleFileError(OpnoteError):
    """A rule or checklist data file that does not validate."""

    code = "E300"


class ModelLoadError(OpnoteError):
    """A saved pipeline that cannot be loaded."""

    code = "E301"
