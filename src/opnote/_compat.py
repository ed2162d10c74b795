"""Import medspaCy without changing the rest of the process.

``import medspacy`` calls ``warnings.filterwarnings("ignore")`` (in
``medspacy/common/medspacy_matcher.py``), which would silence every warning of the program that
uses opnote; the import runs inside ``warnings.catch_warnings()`` so the host's filters are the
same afterwards. medspaCy is otherwise imported as it is: QuickUMLS and its factory included, so
``medspacy.load(...)`` and ``nlp.add_pipe("medspacy_quickumls")`` work after opnote as they do
without it (``tests/test_host_process.py``).

One change is deliberate: PyRuSH, medspaCy's sentence splitter, logs every sentence it splits
through loguru at DEBUG level, and loguru's default sink prints DEBUG to standard error. opnote
disables the ``PyRuSH``, ``medspacy`` and ``quickumls`` loguru loggers so that no note text
reaches a log (docs/errors.md, "Privacy and the network").
"""

from __future__ import annotations

import sys
import types
import warnings

# Set by the ``opnote`` command (``opnote.cli.main``) before anything imports medspaCy: that
# process is opnote's own, runs no QuickUMLS and is shared with no host program, so medspaCy is
# imported there with a stand-in for the ``quickumls`` package (removed right after, so a real
# ``import quickumls`` would still work). QuickUMLS imports NLTK, SciPy and scikit-learn: about
# 1.8 s of CPU measured here, most of the command's cold start. The library never does this.
COMMAND_LINE = False


def _silence_loguru() -> None:
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - loguru comes with medspaCy
        return
    for name in ("PyRuSH", "medspacy", "quickumls", "medspacy_quickumls"):
        logger.disable(name)


def import_medspacy() -> None:
    """Import medspaCy's ConText and Sectionizer, keeping the host's warning filters (idempotent)."""
    if "medspacy.context" not in sys.modules or "medspacy.section_detection" not in sys.modules:
        stubbed = _stub_quickumls() if COMMAND_LINE and "quickumls" not in sys.modules else []
        try:
            with warnings.catch_warnings():
                import medspacy.context  # noqa: F401
                import medspacy.section_detection  # noqa: F401
        finally:
            for name in stubbed:
                sys.modules.pop(name, None)
    _silence_loguru()


def _stub_quickumls() -> list[str]:
    stub = types.ModuleType("quickumls")
    stub.__path__ = []
    component = types.ModuleType("quickumls.spacy_component")
    stub.spacy_component = component  # type: ignore[attr-defined]
    sys.modules["quickumls"] = stub
    sys.modules["quickumls.spacy_component"] = component
    return ["quickumls", "quickumls.spacy_component"]
