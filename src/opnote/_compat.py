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
import warnings


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
        with warnings.catch_warnings():
            import medspacy.context  # noqa: F401
            import medspacy.section_detection  # noqa: F401
    _silence_loguru()
