"""Import medspaCy's ConText and Sectionizer without the parts opnote does not use.

``import medspacy`` pulls in QuickUMLS, which imports NLTK and SciPy: about 1.8 s of a cold start
measured here, for a component opnote never runs. We import medspaCy with a stand-in for the
``quickumls`` package, then remove the stand-in so a real ``import quickumls`` still works.
medspaCy also calls ``warnings.filterwarnings("ignore")`` for the whole process when imported and
PyRuSH logs every sentence through loguru; we restore the host's warning filters and disable
those loggers, so no note text reaches a log.
"""

from __future__ import annotations

import sys
import types
import warnings


def _silence_loguru() -> None:
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - loguru comes with medspaCy
        return
    for name in ("PyRuSH", "medspacy", "quickumls", "medspacy_quickumls"):
        logger.disable(name)


def import_medspacy() -> None:
    """Import medspaCy's ConText and Sectionizer (idempotent)."""
    if "medspacy.context" in sys.modules and "medspacy.section_detection" in sys.modules:
        _silence_loguru()
        return
    saved_filters = list(warnings.filters)
    stubbed = []
    if "quickumls" not in sys.modules:
        stub = types.ModuleType("quickumls")
        stub.__path__ = []  # type: ignore[attr-defined]
        component = types.ModuleType("quickumls.spacy_component")
        stub.spacy_component = component  # type: ignore[attr-defined]
        sys.modules["quickumls"] = stub
        sys.modules["quickumls.spacy_component"] = component
        stubbed = ["quickumls", "quickumls.spacy_component"]
    try:
        import medspacy.context  # noqa: F401
        import medspacy.section_detection  # noqa: F401
    finally:
        for name in stubbed:
            sys.modules.pop(name, None)
        warnings.filters[:] = saved_filters
        _silence_loguru()
