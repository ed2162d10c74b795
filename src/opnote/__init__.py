"""opnote: does this operative note support CPT 27365, and what is missing?

>>> from opnote import Checker
>>> report = Checker().check(text)          # doctest: +SKIP
>>> report.verdict, report.score            # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

__all__ = [
    "__version__",
    "Checker",
    "check",
    "Report",
    "ChecklistItem",
    "Finding",
    "Evidence",
    "Diagnosis",
    "Advisory",
    "report_from_doc",
    "process",
    "OpnoteError",
    "InputError",
    "CodeError",
    "RuleFileError",
    "ModelLoadError",
]

if TYPE_CHECKING:  # pragma: no cover
    from .api import Checker, check, process, report_from_doc
    from .errors import CodeError, InputError, ModelLoadError, OpnoteError, RuleFileError
    from .schema import Advisory, ChecklistItem, Diagnosis, Evidence, Finding, Report

_LAZY = {
    "Checker": "api", "check": "api", "report_from_doc": "api", "process": "api",
    "Report": "schema", "ChecklistItem": "schema", "Finding": "schema", "Evidence": "schema",
    "Diagnosis": "schema", "Advisory": "schema",
    "OpnoteError": "errors", "InputError": "errors", "CodeError": "errors", "RuleFileError": "errors",
    "ModelLoadError": "errors",
}


def __getattr__(name: str) -> Any:
    # Imports are lazy so `opnote --help` and `opnote schema` do not load spaCy.
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(mod, name)
    raise AttributeError(f"module 'opnote' has no attribute {name!r}")
