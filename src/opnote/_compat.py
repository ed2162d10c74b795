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


def import_spacy() -> None:
    """Import spaCy without its command line (``spacy.cli``), which opnote does not use.

    ``import spacy`` imports ``spacy.cli`` for the one name ``spacy.info``, and with it Jinja2,
    requests, urllib3 and weasel: about 0.3 s of the 2 s cold start of ``opnote check`` measured
    here. spaCy is imported with a stand-in for ``spacy.cli`` that is removed right after;
    ``spacy.cli`` then imports for real the first time anything uses it (``import spacy.cli``,
    ``spacy.cli.download``, ``spacy.info()``). Does nothing if spaCy is already imported.
    """
    if "spacy" in sys.modules:
        return
    stub = types.ModuleType("spacy.cli")
    stub.__path__ = []  # type: ignore[attr-defined]
    stub_info = types.ModuleType("spacy.cli.info")

    def info(*args, **kwargs):  # spacy.info: the real one, imported on first use
        from spacy.cli.info import info as real_info

        return real_info(*args, **kwargs)

    stub_info.info = info  # type: ignore[attr-defined]
    stub.info = stub_info  # type: ignore[attr-defined]
    sys.modules["spacy.cli"] = stub
    sys.modules["spacy.cli.info"] = stub_info
    try:
        import spacy
    finally:
        for name in ("spacy.cli.info", "spacy.cli"):
            if sys.modules.get(name) in (stub, stub_info):
                del sys.modules[name]
    if vars(spacy).get("cli") is stub:
        delattr(spacy, "cli")
    if "cli" not in vars(spacy):

        def __getattr__(name: str):  # PEP 562: spacy.cli on first attribute access
            if name == "cli":
                import importlib

                return importlib.import_module("spacy.cli")
            raise AttributeError(f"module 'spacy' has no attribute {name!r}")

        if "__getattr__" not in vars(spacy):
            spacy.__getattr__ = __getattr__  # type: ignore[attr-defined]
