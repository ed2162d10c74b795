"""Build or load the opnote spaCy pipeline."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from . import factories  # noqa: F401  (registers the factories)
from .errors import ModelLoadError

MODEL_NAME = "opnote_27365"

# spaCy refuses texts over nlp.max_length characters (1,000,000 by default), a guard for the
# memory of its parser and NER, which this pipeline does not have. opnote's own limit is the
# Checker's max_bytes (2 MiB by default): without this, a note between the two failed with an
# internal error instead of being checked.
MAX_LENGTH = 1 << 30


def build_nlp() -> Language:
    """Assemble the pipeline from the rule files in the package (no training, no download)."""
    # spaCy's tokenizer whose cache is filled line by line (components/tokenizer.py): the same tokens
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "opnote.Tokenizer.v1"}}})
    for name in factories.PIPELINE:
        nlp.add_pipe(name)
    from . import __version__

    nlp.meta["name"] = MODEL_NAME
    nlp.meta["version"] = __version__
    nlp.meta["description"] = "opnote rule pipeline for operative notes (radical resection of femur/knee bone tumors)"
    nlp.meta["opnote_version"] = __version__
    nlp.max_length = max(nlp.max_length, MAX_LENGTH)
    return nlp


def load_nlp(path: str | Path | None = None) -> Language:
    """Load a saved pipeline from ``path``, or build it from the package's rules when ``None``."""
    if path is None:
        return build_nlp()
    p = Path(path)
    if not (p / "config.cfg").is_file():
        raise ModelLoadError(f"{p} is not a saved opnote pipeline (no config.cfg)")
    try:
        nlp = spacy.load(p)
    except Exception as e:  # noqa: BLE001 - reported as a typed error
        raise ModelLoadError(f"cannot load pipeline {p}: {type(e).__name__}") from e
    nlp.max_length = max(nlp.max_length, MAX_LENGTH)
    return nlp
