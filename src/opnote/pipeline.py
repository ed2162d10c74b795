"""Build or load the opnote spaCy pipeline."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from . import factories  # noqa: F401  (registers the factories)
from .errors import ModelLoadError

MODEL_NAME = "opnote_27365"


def build_nlp() -> Language:
    """Assemble the pipeline from the rule files in the package (no training, no download)."""
    nlp = spacy.blank("en")
    for name in factories.PIPELINE:
        nlp.add_pipe(name)
    from . import __version__

    nlp.meta["name"] = MODEL_NAME
    nlp.meta["version"] = __version__
    nlp.meta["description"] = "opnote rule pipeline for operative notes (radical resection of femur/knee bone tumors)"
    nlp.meta["opnote_version"] = __version__
    return nlp


def load_nlp(path: str | Path | None = None) -> Language:
    """Load a saved pipeline from ``path``, or build it from the package's rules when ``None``."""
    if path is None:
        return build_nlp()
    p = Path(path)
    if not (p / "config.cfg").is_file():
        raise ModelLoadError(f"{p} is not a saved opnote pipeline (no config.cfg)")
    try:
        return spacy.load(p)
    except Exception as e:  # noqa: BLE001 - reported as a typed error
        raise ModelLoadError(f"cannot load pipeline {p}: {type(e).__name__}") from e
