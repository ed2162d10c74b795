"""Every opnote spaCy factory, registered in one place.

These functions are also the ``spacy_factories`` entry points, so ``spacy.load`` finds them in a
fresh interpreter without importing opnote first.

| factory | requires | assigns |
| --- | --- | --- |
| ``opnote_sentencizer`` | | ``token.is_sent_start`` |
| ``opnote_sectionizer`` | ``token.is_sent_start`` | ``doc._.sections``, ``token._.section_category`` |
| ``opnote_targets`` | | ``doc.spans["opnote_candidates"]`` |
| ``opnote_measurements`` | | ``doc.spans["opnote_candidates"]`` (DIMENSION) |
| ``opnote_abbreviations`` | ``doc.spans["opnote_candidates"]`` | ``doc._.abbreviations``, ``doc.spans["opnote_candidates"]`` |
| ``opnote_context`` | ``token.is_sent_start``, ``doc.spans["opnote_candidates"]`` | ``span._.is_negated`` and the other ConText attributes |
| ``opnote_findings`` | ``token.is_sent_start``, ``doc.spans["opnote_candidates"]`` | ``doc.spans["opnote_findings"]``, ``doc._.opnote_findings``, ``doc._.opnote_cues``, ``doc._.opnote_sections`` |

spaCy validates each config value against the factory's type hints; the checks below add what a
type hint cannot say (a span key must be a non-empty string, a length must be positive) and raise
``ValueError`` naming the component and the option. ``docs/components.md`` documents every option.

No ``from __future__ import annotations`` here: spaCy reads the parameters' annotations as
objects to validate the config. The return annotations are strings, so the components are
imported only when a factory runs (spaCy never reads a factory's return annotation).
"""

from typing import TYPE_CHECKING

from spacy.language import Language
from spacy.util import registry

from .components.targets import CANDIDATES_KEY

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from spacy.pipeline import SpanRuler

    from .components.abbreviations import OpnoteAbbreviations
    from .components.context import OpnoteContext
    from .components.findings import OpnoteFindings
    from .components.measurements import OpnoteMeasurements
    from .components.sections import OpnoteSectionizer
    from .components.sentences import OpnoteSentencizer
    from .components.tokenizer import LineCachedTokenizer


def make_tokenizer() -> "Callable[[Language], LineCachedTokenizer]":
    """spaCy's tokenizer with the language's defaults, its cache filled line by line
    (:mod:`opnote.components.tokenizer`); the same tokens as ``spacy.Tokenizer.v1``."""
    from .components.tokenizer import create_tokenizer

    return create_tokenizer()


registry.tokenizers.register("opnote.Tokenizer.v1", func=make_tokenizer)


def _check_spans_key(name: str, spans_key: object) -> str:
    if not isinstance(spans_key, str) or not spans_key.strip():
        raise ValueError(f"{name}: spans_key must be a non-empty string (got {spans_key!r})")
    return spans_key


@Language.factory(
    "opnote_sentencizer",
    default_config={"split_on_newline": True},
    assigns=["token.is_sent_start"],
)
def make_sentencizer(nlp: Language, name: str, split_on_newline: bool) -> "OpnoteSentencizer":
    """Sentence boundaries from punctuation, line breaks, headings and spoken punctuation.

    ``split_on_newline``: a line break ends a sentence unless the line is plainly wrapped prose.
    """
    from .components.sentences import OpnoteSentencizer

    return OpnoteSentencizer(nlp, name, split_on_newline=split_on_newline)


@Language.factory(
    "opnote_sectionizer",
    default_config={"max_section_length": None},
    requires=["token.is_sent_start"],
    assigns=["doc._.sections", "token._.section_category"],
)
def make_sectionizer(nlp: Language, name: str, max_section_length: int | None) -> "OpnoteSectionizer":
    """Operative-note sections (medspaCy Sectionizer with opnote's headings).

    ``max_section_length``: longest section body in tokens, or ``None`` for no limit.
    """
    if max_section_length is not None and max_section_length < 1:
        raise ValueError(f"{name}: max_section_length must be a positive number of tokens or null (got {max_section_length!r})")
    from .components.sections import OpnoteSectionizer

    return OpnoteSectionizer(nlp, name, max_section_length=max_section_length)


@Language.factory(
    "opnote_targets",
    default_config={"spans_key": CANDIDATES_KEY, "validate": False},
    assigns=["doc.spans"],
)
def make_targets(nlp: Language, name: str, spans_key: str, validate: bool) -> "SpanRuler":
    """spaCy's ``span_ruler`` with opnote's target terms and abbreviations.

    ``spans_key``: span group to write candidates to; ``validate``: validate the patterns.
    """
    _check_spans_key(name, spans_key)
    from .components.targets import make_target_ruler

    return make_target_ruler(nlp, name, spans_key=spans_key, validate=validate)


@Language.factory(
    "opnote_measurements",
    default_config={"spans_key": CANDIDATES_KEY},
    assigns=["doc.spans"],
)
def make_measurements(nlp: Language, name: str, spans_key: str) -> "OpnoteMeasurements":
    """Dimensions ("12 x 6 x 5 cm", "fourteen centimeters"), normalized to millimetres.

    ``spans_key``: span group the DIMENSION candidates are added to.
    """
    _check_spans_key(name, spans_key)
    from .components.measurements import OpnoteMeasurements

    return OpnoteMeasurements(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_abbreviations",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["doc.spans"],
    assigns=["doc._.abbreviations", "doc.spans"],
)
def make_abbreviations(nlp: Language, name: str, spans_key: str) -> "OpnoteAbbreviations":
    """Abbreviations the note defines (scispaCy), copied onto the candidate span group.

    ``spans_key``: span group read and extended.
    """
    _check_spans_key(name, spans_key)
    from .components.abbreviations import OpnoteAbbreviations

    return OpnoteAbbreviations(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_context",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["token.is_sent_start", "doc.spans"],
    assigns=["span._.is_negated", "span._.is_uncertain", "span._.is_historical", "span._.is_hypothetical"],
)
def make_context(nlp: Language, name: str, spans_key: str) -> "OpnoteContext":
    """medspaCy ConText over the candidates, with opnote's corrections for operative notes.

    ``spans_key``: span group whose spans get the assertion attributes.
    """
    _check_spans_key(name, spans_key)
    from .components.context import OpnoteContext

    return OpnoteContext(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_findings",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["token.is_sent_start", "doc.spans"],
    assigns=["doc.spans", "doc._.opnote_findings", "doc._.opnote_cues", "doc._.opnote_sections", "doc._.opnote_sents"],
)
def make_findings(nlp: Language, name: str, spans_key: str) -> "OpnoteFindings":
    """Findings with assertion and normalized attributes, from the candidate span group.

    ``spans_key``: span group to read; findings are written to ``doc.spans["opnote_findings"]``.
    Needs sentence boundaries (``opnote_sentencizer`` or any component that sets them).
    """
    _check_spans_key(name, spans_key)
    from .components.findings import OpnoteFindings

    return OpnoteFindings(nlp, name, spans_key=spans_key)


PIPELINE = [
    "opnote_sentencizer",
    "opnote_sectionizer",
    "opnote_targets",
    "opnote_measurements",
    "opnote_abbreviations",
    "opnote_context",
    "opnote_findings",
]
