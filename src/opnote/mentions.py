"""The typed hand-off from the pipeline to the case model and the checklist assessors.

The ``opnote_findings`` component leaves plain dicts on the Doc (``doc._.opnote_findings`` and
``doc._.opnote_cues``, which pickle and serialize with it). Everything after the pipeline reads
them as :class:`Mention` objects, grouped in a :class:`NoteView` with the note's sentences and
sections, so no later step indexes a dict by a string key it hopes is there.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypedDict

from . import rules as rule_files


class Attrs(TypedDict, total=False):
    """Normalized attributes a mention may carry (which ones depends on its label)."""

    site: str | None
    laterality: str | None
    intent: str
    values_mm: list[float]
    measures: str
    result: str
    reason: bool
    modality: str
    timing: str  # "postoperative": imaging the note places after this operation; "guidance": a modality that guided a procedure
    contrast: str
    kind: str
    histology: str | None
    category: str
    margin_status: str | None
    procedure: str
    level: str
    cue: str


@dataclass(slots=True)
class Mention:
    """One matched phrase of the note, with its assertion, section and place."""

    label: str  # the rule label: SITE, SIDE, TUMOR, MARGIN, PROCEDURE, ...
    group: str  # the rule group id, e.g. "site.distal_femur"
    start: int
    end: int
    text: str
    sent: int
    section: str | None
    assertion: str  # present, negated, possible, hypothetical, historical
    attrs: Attrs
    kind: str | None = None  # the contract's finding kind, None for a cue
    place: str = "narrative"  # where in the note it stands (see rules/case.json)
    header: bool = False  # inside a section heading's field ("FROZEN SECTION: negative")
    blank: bool = False  # in a template field left blank
    side_span: tuple[int, int] | None = None  # the side word a site mention carries

    def is_(self, *assertions: str) -> bool:
        """Whether the assertion is one of ``assertions``."""
        return self.assertion in assertions

    @property
    def present(self) -> bool:
        return self.assertion == "present"

    def attr(self, key: str) -> Any:
        """An attribute or None."""
        return self.attrs.get(key)

    def overlaps(self, other: Mention) -> bool:
        return self.start < other.end and other.start < self.end

    def inside(self, other: Mention) -> bool:
        return other.start <= self.start and self.end <= other.end


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the note: its heading's category and extent (body to the next heading)."""

    category: str
    title_start: int
    title_end: int
    end: int


# How far past a sentence the look-aheads of a pattern may read (NoteView.hit_in).
_LOOKAHEAD = 24


@dataclass
class NoteView:
    """A note as the case model and the assessors read it: text, sentences, sections, mentions."""

    text: str
    sentences: list[tuple[int, int]]
    sections: list[Section]
    mentions: list[Mention]
    _hits: dict[int, tuple[list[int], list[tuple[int, int]]]] = field(default_factory=dict, repr=False)
    _lower: str | None = field(default=None, repr=False)
    _sent_hits: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict, repr=False)
    _by_label: dict[str, list[Mention]] = field(default_factory=dict, repr=False)
    _by_sent: dict[int, list[Mention]] = field(default_factory=dict, repr=False)
    _starts: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _sent_starts: list[int] = field(default_factory=list, repr=False)
    # Side mentions in text a correction strikes out ('reads "L distal femur" in error',
    # "[deleted: left]"): not read, but they name the side the note calls wrong.
    struck_sides: list[Mention] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        low = self.text.lower()
        self._lower = low if len(low) == len(self.text) else None
        for m in self.mentions:
            self._by_label.setdefault(m.label, []).append(m)
            self._by_sent.setdefault(m.sent, []).append(m)
        self._sent_starts = [s for s, _ in self.sentences]

    # -- lookups -----------------------------------------------------------------------
    def of(self, *labels: str) -> list[Mention]:
        """Mentions with any of these labels, in note order."""
        if len(labels) == 1:
            return list(self._by_label.get(labels[0], ()))
        out = [m for label in labels for m in self._by_label.get(label, ())]
        out.sort(key=lambda m: (m.start, -m.end))
        return out

    def starting_in(self, label: str, lo: int, hi: int) -> list[Mention]:
        """Mentions with ``label`` that start in ``[lo, hi)``, in note order (a binary search)."""
        starts = self._starts.get(label)
        if starts is None:
            starts = self._starts[label] = [m.start for m in self._by_label.get(label, ())]
        ms = self._by_label.get(label, [])
        return ms[bisect.bisect_left(starts, lo):bisect.bisect_left(starts, hi)]

    def kind(self, kind: str) -> list[Mention]:
        """Findings of one contract kind, in note order."""
        return [m for m in self.mentions if m.kind == kind]

    def in_sent(self, sent: int, *labels: str) -> list[Mention]:
        """Mentions in sentence ``sent`` (with any of ``labels`` when given)."""
        ms = self._by_sent.get(sent, ())
        return [m for m in ms if not labels or m.label in labels]

    def near(self, m: Mention, labels: Iterable[str], window: int = 0) -> Iterator[Mention]:
        """Mentions with ``labels`` in the same sentence as ``m`` (or within ``window`` sentences)."""
        wanted = set(labels)
        for k in range(m.sent - window, m.sent + window + 1):
            for o in self._by_sent.get(k, ()):
                if o is not m and o.label in wanted:
                    yield o

    def sentence(self, k: int) -> tuple[int, int]:
        """Character bounds of sentence ``k`` (the whole note when there are none)."""
        if 0 <= k < len(self.sentences):
            return self.sentences[k]
        return (0, len(self.text))

    def sentence_text(self, k: int) -> str:
        s, e = self.sentence(k)
        return self.text[s:e]

    def sent_index(self, char: int) -> int:
        return max(0, bisect.bisect_right(self._sent_starts, char) - 1)

    def hits(self, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
        """Where ``pattern`` matches in the whole note, found once per note and pattern."""
        return self._index(pattern)[1]

    def hits_within(self, pattern: re.Pattern[str], spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        """Where ``pattern`` matches inside each of ``spans`` (searched there only: a pattern of many
        alternatives costs a pass over every character it is given)."""
        target, pat = self._searchable(pattern)
        return [(m.start(), m.end()) for s, e in spans for m in pat.finditer(target, s, e)]

    def hit_in(self, pattern: re.Pattern[str], lo: int, hi: int) -> tuple[int, int] | None:
        """The first match of ``pattern`` that lies within ``[lo, hi)`` (None when there is none)."""
        return next(self.hits_in(pattern, lo, hi), None)

    def hits_in(self, pattern: re.Pattern[str], lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """The matches of ``pattern`` that lie within ``[lo, hi)``, in note order.

        A window inside one sentence is answered from that sentence's matches, found once per
        sentence and pattern (with what the pattern's look-aheads read after the sentence): these
        patterns begin with a word boundary, which ``re`` tries at every character, and the
        questions of a note fall in a fifth of its sentences. Any other window is answered from
        the whole note's matches, found once per pattern.
        """
        k = self.sent_index(lo)
        s, e = self.sentence(k)
        if s <= lo and hi <= e:
            key = (id(pattern), k)
            spans = self._sent_hits.get(key)
            if spans is None:
                target, pat = self._searchable(pattern)
                spans = []
                for m in pat.finditer(target, s, min(len(target), e + _LOOKAHEAD)):
                    if m.start() >= e:
                        break
                    spans.append((m.start(), m.end()))
                self._sent_hits[key] = spans
            for a, b in spans:
                if a >= hi:
                    return
                if a >= lo and b <= hi:
                    yield (a, b)
            return
        starts, all_spans = self._index(pattern)
        i = bisect.bisect_left(starts, lo)
        while i < len(all_spans) and all_spans[i][0] < hi:
            if all_spans[i][1] <= hi:
                yield all_spans[i]
            i += 1

    def _searchable(self, pattern: re.Pattern[str]) -> tuple[str, re.Pattern[str]]:
        """The text to search with ``pattern``, and the pattern to search it with.

        A pattern compiled without IGNORECASE is written in lower case and searched in the
        lower-cased note (about three times faster than IGNORECASE in Python's re), unless
        lower-casing changes the note's length (a few non-ASCII letters do).
        """
        if pattern.flags & re.IGNORECASE:
            return self.text, pattern
        if self._lower is not None:
            return self._lower, pattern
        return self.text, re.compile(pattern.pattern, pattern.flags | re.IGNORECASE)

    def _index(self, pattern: re.Pattern[str]) -> tuple[list[int], list[tuple[int, int]]]:
        key = id(pattern)
        got = self._hits.get(key)
        if got is None:
            target, pat = self._searchable(pattern)
            spans = [(m.start(), m.end()) for m in pat.finditer(target)]
            got = ([s for s, _ in spans], spans)
            self._hits[key] = got
        return got

    def section_at(self, char: int) -> Section | None:
        for sec in self.sections:
            if sec.title_start <= char < sec.end:
                return sec
        return None


# Timings of imaging that did not plan this operation: done after it, or guiding a needle.
NOT_PLANNING = ("postoperative", "guidance")


def place_of(section: str | None) -> str:
    """The place of a section category (rules/case.json); narrative outside any heading."""
    places = _places()
    return places.get(section or "", places.get("", "narrative"))


@lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    return rule_files.case_rules().places


def mention_from_dict(rec: Mapping[str, Any]) -> Mention:
    """A :class:`Mention` from the dict the findings component leaves on the Doc."""
    side = (rec["side_start"], rec["side_end"]) if "side_start" in rec else None
    return Mention(
        label=rec["label"],
        group=rec.get("id") or rec["label"].lower(),
        start=rec["start"],
        end=rec["end"],
        text=rec["text"],
        sent=rec.get("sent", 0),
        section=rec.get("section"),
        assertion=rec.get("assertion", "present"),
        attrs=Attrs(**rec.get("attributes", {})),  # type: ignore[typeddict-item]
        kind=rec.get("kind"),
        place=place_of(rec.get("section")),
        header=bool(rec.get("header")),
        blank=rec["label"].startswith("BLANK_"),
        side_span=side,
    )


_NEXT_LINE = re.compile(r"\n[ \t]*(?:[-*\u2022][ \t]*)?")


def _procedure_line_end(text: str, sec: Section, limit: int) -> int:
    """Where the procedure line of a procedure section ends: a blank line, or ``limit`` characters.

    "PROCEDURE:" heads the list of what was done in most notes, but some notes dictate the whole
    narrative under it; only its first lines are the procedure line.
    """
    blank = text.find("\n\n", sec.title_end, sec.end)
    end = min(sec.end if blank < 0 else blank, sec.title_end + limit)
    first = re.split(r"(?<=[.;])\s|\n", text[sec.title_end:end].strip(), maxsplit=1)[0]
    narrative = re.compile(rule_files.case_rules().operation.narrative_start, re.I)
    if narrative.search(first):
        return sec.title_end  # "Procedure: Supine, both legs prepped ...": the narrative, no procedure line
    # "Procedure: Open biopsy, right distal femur.\nSupine, tourniquet ...": the narrative goes on
    # from the next line without a blank line; the procedure line ends where it starts.
    for line in _NEXT_LINE.finditer(text, sec.title_end, end):
        if narrative.match(text, line.end()):
            return line.start()
    return end


# Headings of a one-line field ("EBL: 400 mL", "Surgeon: ...") and of a short block: the text
# after the field is the note's narrative again, not more of the field.
ONE_LINE_FIELDS = {"date", "ebl", "fluids", "drains", "tourniquet", "anesthesia", "personnel", "laterality", "complications"}
BLOCK_FIELDS = {"specimens", "frozen_section", "implants", "disposition", "consent"}


def _field_end(text: str, sec: Section) -> int:
    if sec.category in ONE_LINE_FIELDS:
        k = sec.title_end
        while k < sec.end and text[k] in " \t:":
            k += 1
        if k < sec.end and text[k] == "\n":  # the value on the next line
            k += 1
        nl = text.find("\n", k, sec.end)
        stop = re.search(r"[.;] +(?=[A-Z])", text[k:sec.end])  # a note with its lines joined
        ends = [x for x in (nl, k + stop.end() if stop else -1) if x >= 0]
        return min(ends) if ends else sec.end
    if sec.category in BLOCK_FIELDS:
        blank = text.find("\n\n", sec.title_end, sec.end)
        end = sec.end if blank < 0 else blank
        return _consent_end(text, sec.title_end, end) if sec.category == "consent" else end
    return sec.end


_SENTENCE_GAP = re.compile(r"[.;!?][ \t]+|\n[ \t]*")


@lru_cache(maxsize=1)
def _consent_ends() -> re.Pattern[str]:
    return re.compile(rule_files.case_rules().operation.consent_ends, re.I)


def _consent_end(text: str, lo: int, hi: int) -> int:
    """A consent field ends where a sentence starts the operation's narrative ("... Signed, R hip
    marked. Lat decub, R side up. ...", the lines of a terse note joined), not at the next heading."""
    ends = _consent_ends()
    for gap in _SENTENCE_GAP.finditer(text, lo, hi):
        if ends.match(text, gap.end()):
            return gap.end()
    return hi


_STOPS = re.compile(r"(?<=[A-Za-z]{2})[.;!?](?=\s)")


def _alone_on_its_line(text: str, sec: Section) -> bool:
    nl = text.find("\n", sec.title_end, sec.end)
    return nl >= 0 and not text[sec.title_end:nl].strip(" \t:")


def _settle_places(text: str, mentions: list[Mention], sections: list[Section]) -> None:
    """Mentions past a field's line or the procedure line get the place of what they stand in.
    ``mentions`` are in note order; each section looks only at the mentions inside it."""
    limit = rule_files.case_rules().operation.procedure_line_chars
    starts = [m.start for m in mentions]
    line_seen = False
    for sec in sections:
        end = _field_end(text, sec)
        line_end = _procedure_line_end(text, sec, limit) if sec.category == "procedure" else end
        if sec.category == "procedure":
            # A second "Procedure:" heading alone on its line over a long body or several sentences,
            # after a procedure line, heads the narrative ("Procedure: 1. Wide resection ..." then
            # "Procedure:\nMedial approach ..."); the procedure line names the operation.
            if line_seen and _alone_on_its_line(text, sec) and (sec.end - sec.title_end > limit or len(_STOPS.findall(text, sec.title_end, sec.end)) >= 3):
                line_end = sec.title_end
            line_seen = line_seen or line_end > sec.title_end
        lo, hi = bisect.bisect_left(starts, sec.title_start), bisect.bisect_left(starts, sec.end)
        for m in mentions[lo:hi]:
            if m.section != sec.category:
                continue
            if m.start >= end:
                m.section, m.place = None, place_of(None)
            elif sec.category == "procedure" and m.start >= line_end:
                m.place = "narrative"


# Where a case series turns to its next patient: "Case 2." / "Patient 2:" opening a line, or a
# sentence that begins with "The second patient" / "Another patient".
_OTHER_PATIENT = re.compile(
    r"^[ \t]*(?:case|patient)[ \t]+(?:2|ii|two|b)[ \t]*[.:)\-]|(?:^|(?<=[.!?][ \t]))(?:the|a) (?:second|next) (?:patient|case)\b|(?:^|(?<=[.!?][ \t]))another patient\b",
    re.I | re.M,
)


_OTHER_PATIENT_WORDS = ("case 2", "case ii", "case two", "case b", "patient 2", "patient ii", "patient two", "patient b",
                        "second patient", "next patient", "second case", "next case", "another patient")


_STRUCK_WORDS = ("deleted", "struck", "strike", "removed", "originally", "initially", "first", "mistakenly",
                 "version", "error", "disregard", "scratch", "cancel", "i mean", "sorry")
# Up to four words said before a spoken self-correction, not past a full stop, a colon or a line end.
_SAID_BEFORE = re.compile(r"(?:[^\s.:;\n]+[ \t,]+){1,4}$")
_QUOTED = re.compile(r'"([^"\n]{1,300})"|\u201c([^\u201d\n]{1,300})\u201d')


@lru_cache(maxsize=1)
def _struck_rx() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    r = rule_files.case_rules().struck
    return re.compile(r.bracket, re.I), re.compile(r.cues, re.I), re.compile(r.keeps, re.I), re.compile(r.spoken, re.I)


def _struck_spans(text: str, low: str, sentences: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of text the note strikes out: written ("[deleted: left]", the quotation in 'the title
    as first dictated read "wide resection of the right distal femur"; please disregard it'), and
    spoken ("the right distal femur, scratch that, left")."""
    if not any(w in low for w in _STRUCK_WORDS):
        return [], []
    bracket, cues, keeps, spoken_rx = _struck_rx()
    out = [(m.start(), m.end()) for m in bracket.finditer(text)]
    spoken: list[tuple[int, int]] = []
    for m in spoken_rx.finditer(text):
        said = _SAID_BEFORE.search(text, max(0, m.start() - 60), m.start())
        if said is not None:
            spoken.append((said.start(), m.start()))
    if '"' in text or "\u201c" in text:
        sents = list(sentences) or [(0, len(text))]
        starts = [s for s, _ in sents]
        seen: set[int] = set()
        for cue in cues.finditer(text):
            i = bisect.bisect_right(starts, cue.start()) - 1
            if i < 0 or i in seen:
                continue
            seen.add(i)
            s, e = sents[i]
            for q in _QUOTED.finditer(text, s, e):
                if not keeps.search(text, max(s, q.start() - 30), q.start()):
                    out.append((q.start(), q.end()))
    return out, spoken


def note_view(
    text: str,
    findings: Sequence[Mapping[str, Any]],
    cues: Sequence[Mapping[str, Any]],
    sentences: Sequence[Sequence[int]] | None = None,
    sections: Sequence[Mapping[str, Any]] | None = None,
) -> NoteView:
    """The :class:`NoteView` of a processed note (what ``doc._`` holds after opnote's pipeline)."""
    mentions = [mention_from_dict(r) for r in list(findings) + list(cues)]
    low = text.lower()
    other = _OTHER_PATIENT.search(text) if any(k in low for k in _OTHER_PATIENT_WORDS) else None
    if other is not None:
        # A case series: what follows "Case 2." is another patient's; the note is judged on the first.
        mentions = [m for m in mentions if m.start < other.start()]
    sents = [(int(s[0]), int(s[1])) for s in sentences] if sentences else []
    struck, spoken = _struck_spans(text, low, sents)
    struck_sides: list[Mention] = []
    if struck or spoken:
        struck_sides = [m for m in mentions if m.label == "SIDE" and any(a <= m.start < b for a, b in struck)]
        mentions = [m for m in mentions if not any(a <= m.start < b for a, b in struck + spoken)]
    mentions.sort(key=lambda m: (m.start, -m.end, m.label))
    secs = [Section(s["category"], s["title_start"], s["title_end"], s["end"]) for s in sections or ()]
    _settle_places(text, mentions, secs)
    return NoteView(text=text, sentences=sents, sections=secs, mentions=mentions, struck_sides=struck_sides)
