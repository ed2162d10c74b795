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
| ``opnote_findings`` | ``doc.spans["opnote_candidates"]`` | ``doc.spans["opnote_findings"]``, ``doc._.opnote_findings``, ``doc._.opnote_cues`` |
"""



from typing import Optional

from spacy.language import Language

from .components.targets import CANDIDATES_KEY


@Language.factory(
    "opnote_sentencizer",
    default_config={"split_on_newline": True},
    assigns=["token.is_sent_start"],
)
def make_sentencizer(nlp: Language, name: str, split_on_newline: bool):
    from .components.sentences import OpnoteSentencizer

    return OpnoteSentencizer(nlp, name, split_on_newline=split_on_newline)


@Language.factory(
    "opnote_sectionizer",
    default_config={"max_section_length": None},
    requires=["token.is_sent_start"],
    assigns=["doc._.sections", "token._.section_category"],
)
def make_sectionizer(nlp: Language, name: str, max_section_length: Optional[int]):
    from .components.sections import OpnoteSectionizer

    return OpnoteSectionizer(nlp, name, max_section_length=max_section_length)


@Language.factory(
    "opnote_targets",
    default_config={"spans_key": CANDIDATES_KEY, "validate": False},
    assigns=[f"doc.spans"],
)
def make_targets(nlp: Language, name: str, spans_key: str, validate: bool):
    from .components.targets import make_target_ruler

    return make_target_ruler(nlp, name, spans_key=spans_key, validate=validate)


@Language.factory(
    "opnote_measurements",
    default_config={"spans_key": CANDIDATES_KEY},
    assigns=["doc.spans"],
)
def make_measurements(nlp: Language, name: str, spans_key: str):
    from .components.measurements import OpnoteMeasurements

    return OpnoteMeasurements(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_abbreviations",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["doc.spans"],
    assigns=["doc._.abbreviations", "doc.spans"],
)
def make_abbreviations(nlp: Language, name: str, spans_key: str):
    from .components.abbreviations import OpnoteAbbreviations

    return OpnoteAbbreviations(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_context",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["token.is_sent_start", "doc.spans"],
    assigns=["span._.is_negated", "span._.is_uncertain", "span._.is_historical", "span._.is_hypothetical"],
)
def make_context(nlp: Language, name: str, spans_key: str):
    from .components.context import OpnoteContext

    return OpnoteContext(nlp, name, spans_key=spans_key)


@Language.factory(
    "opnote_findings",
    default_config={"spans_key": CANDIDATES_KEY},
    requires=["doc.spans"],
    assigns=["doc.spans", "doc._.opnote_findings", "doc._.opnote_cues"],
)
def make_findings(nlp: Language, name: str, spans_key: str):
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
