"""Hand-built case models and note views, so coding rules are tested without the spaCy pipeline."""

from __future__ import annotations

from typing import Any

from opnote.case import Case, Fact, SideMention
from opnote.mentions import Mention, NoteView, Section


def mention(text: str, phrase: str, label: str, *, group: str = "", finding: str | None = None, place: str = "narrative",
            section: str | None = None, assertion: str = "present", nth: int = 0, **attrs: Any) -> Mention:
    """A mention of the ``nth`` occurrence of ``phrase`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(phrase, start + 1)
    return Mention(label=label, group=group or label.lower(), start=start, end=start + len(phrase), text=phrase,
                   sent=0, section=section, assertion=assertion, attrs=attrs, kind=finding, place=place)  # type: ignore[arg-type]


def view(text: str, *mentions: Mention, sections: list[Section] | None = None) -> NoteView:
    """A one-sentence-per-line view of ``text`` holding ``mentions``."""
    sentences, pos = [], 0
    for line in text.split("\n"):
        sentences.append((pos, pos + len(line)))
        pos += len(line) + 1
    ms = sorted(mentions, key=lambda m: m.start)
    for m in ms:
        m.sent = next(i for i, (s, e) in enumerate(sentences) if s <= m.start <= e)
    return NoteView(text=text, sentences=sentences, sections=sections or [], mentions=ms)


def case(text: str = "", *, operation: str = "radical_resection", level: str | None = None, tissue: str = "bone",
         status: str = "current", side: str | None = "right", site: str | None = "distal_femur",
         category: str = "primary_malignant_bone", histology: str | None = "osteosarcoma", certainty: str = "confirmed",
         fracture: bool = False, conflicts: list[SideMention] | None = None, historical_category: str | None = None,
         evidence: tuple[int, int] = (0, 0)) -> Case:
    """A settled case, as the case model would leave it."""
    tumor = None
    if histology is not None and status == "current":
        tumor = Mention(label="TUMOR", group="tumor", start=0, end=0, text=histology, sent=0, section=None,
                        assertion="present" if certainty == "confirmed" else "possible",
                        attrs={"histology": histology, "category": category}, kind="pathology")  # type: ignore[typeddict-item]
    return Case(
        operation=Fact(operation, [evidence]), amputation_level=Fact(level), tissue=Fact(tissue),
        tumor_status=Fact(status), side=Fact(side, [evidence]), side_conflicts=conflicts or [], tumor=tumor,
        category=category if status == "current" else "unknown", certainty=certainty if status == "current" else "none",
        site=site, fracture=fracture, historical_category=historical_category,
    )
