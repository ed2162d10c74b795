"""The case model: what the note says happened, settled once before any checklist item is judged.

A rule that matches words cannot tell an above-knee amputation from a limb-salvage resection
whose consent discusses amputation, a soft-tissue sarcoma peeled off the femur from a bone
sarcoma, or a side dictated wrong in one place from the other leg being padded. Each of those is a
fact about the *case*, decided here from where each mention stands (the procedure line outranks
the consent, the diagnosis line outranks the narrative) and what surrounds it. The places, their
weights, the precedence of operations and the cue expressions are rule data
(``rules/case.json``); this module only applies them. Items, verdict, code selection and coding
advisories read the :class:`Case`; none of them re-derives these facts from words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from . import rules as rule_files
from .mentions import Mention, NoteView

Span = tuple[int, int]

BONE_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "proximal_tibia", "tibia", "fibula", "patella", "pelvis"}
SPECIFIC_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "proximal_tibia", "tibia", "fibula", "patella", "pelvis", "thigh", "calf"}
SOFT_SITES = {"thigh", "calf"}
KEY_SECTIONS = {"preop_diagnosis", "postop_diagnosis", "procedure"}
BONE_RECON_KINDS = {"endoprosthesis", "allograft", "allograft_prosthetic_composite", "vascularized_fibula", "arthrodesis", "rotationplasty", "cement_spacer", "autograft"}
GENERIC_HISTOLOGY = {
    "soft tissue sarcoma", "soft-tissue sarcoma", "sarcoma", "bone sarcoma", "metastatic carcinoma", "metastatic disease",
    "metastatic lesion", "benign bone tumor", "benign lesion", "benign tumor", "benign bone lesion", "metastatic",
    "metastasis", "metastases", "lymphoma", "myeloma",
}
# Mentions of these sites carry the tumor's side; a leg, thigh, hip or knee elsewhere in the note
# counts only beside the tumor.
BONE_GROUP = {
    **{k: {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "knee", "thigh", "hip", "limb"} for k in ("distal_femur", "femoral_shaft", "proximal_femur", "femur")},
    "knee": {"distal_femur", "femur", "knee", "proximal_tibia", "patella", "limb"},
    "patella": {"patella", "knee", "limb"},
    "proximal_tibia": {"proximal_tibia", "tibia", "knee", "limb"},
    "tibia": {"proximal_tibia", "tibia", "limb"},
    "fibula": {"fibula", "limb"},
    "pelvis": {"pelvis", "hip", "limb"},
    "thigh": {"thigh", "femur", "knee", "hip", "limb"},
    "calf": {"calf", "tibia", "fibula", "knee", "limb"},
}
IMPENDING_RE = re.compile(r"\b(?:impending|prophylactic|risk of|at risk|prevent\w*|threatened|to avoid|avoid(?:ing)?)\b", re.I)
OPERATION_VALUES = (
    "radical_resection", "intralesional", "soft_tissue_resection", "amputation", "disarticulation", "biopsy",
    "prophylactic_fixation", "arthroplasty", "revision", "other", "unknown",
)


@dataclass
class Fact:
    """One settled fact and the spans of the note it was decided from."""

    value: str | None
    evidence: list[Span] = field(default_factory=list)


@dataclass
class SideMention:
    """A side the note gives for the tumor, where it stands and how much that place counts."""

    value: str
    place: str
    weight: float
    span: Span


@dataclass
class Case:
    """What the note says happened (see ``docs/items.md``, "The case comes first")."""

    operation: Fact
    amputation_level: Fact
    tissue: Fact
    tumor_status: Fact
    side: Fact
    side_conflicts: list[SideMention]
    tumor: Mention | None = None
    category: str = "unknown"
    certainty: str = "none"
    site: str | None = None
    site_evidence: list[Mention] = field(default_factory=list)
    fracture: bool = False
    bone_resected: bool | None = None
    # Bone resected, told by a bone cut or a bone reconstruction, not by a length alone (a
    # soft-tissue specimen has a length too); True only where ``bone_resected`` is.
    bone_cut: bool = False
    historical_category: str | None = None
    # The histologies the confirmed mentions of the tumor's category name ("lymphoma of bone" in
    # the diagnosis line, "diffuse large B-cell lymphoma" in the history): a code may need the
    # most specific one.
    histologies: list[str] = field(default_factory=list)

    @property
    def current_tumor(self) -> bool:
        return self.tumor_status.value == "current"

    @property
    def laterality(self) -> str | None:
        return self.side.value if self.side.value in ("right", "left") else None

    @property
    def side_conflict(self) -> bool:
        return bool(self.side_conflicts)


# ----------------------------------------------------------------------------- rule access
@dataclass(frozen=True)
class _Compiled:
    # each rule list searched as one alternation (the answer any() over its patterns gives, in one scan)
    not_side_before: re.Pattern[str]
    not_side_after: re.Pattern[str]
    not_a_side_before: re.Pattern[str]
    not_a_side_after: re.Pattern[str]
    abbreviation_not_a_side: re.Pattern[str]
    correction: re.Pattern[str]
    other_limb_condition: re.Pattern[str]
    tumor_words: re.Pattern[str]
    other_lesion: re.Pattern[str]
    marking: re.Pattern[str]
    operation_after: re.Pattern[str]
    not_done: re.Pattern[str]
    levels: tuple[tuple[str, re.Pattern[str]], ...]
    past_anchor: re.Pattern[str]
    still_to_come: re.Pattern[str]
    bone_spared: re.Pattern[str]
    bone_resected: re.Pattern[str]
    bone_context: re.Pattern[str]
    soft_context: re.Pattern[str]
    invasion: re.Pattern[str]
    historical: re.Pattern[str]
    current: re.Pattern[str]
    treated_then: re.Pattern[str]
    then: re.Pattern[str]
    transformation: re.Pattern[str]
    pathology_confirms: re.Pattern[str]
    not_confirming: re.Pattern[str]
    # The same, compiled for :meth:`NoteView.hits` on the lower-cased note (no IGNORECASE).
    past_anchor_lc: re.Pattern[str]
    after_anchor_lc: re.Pattern[str]
    not_done_lc: re.Pattern[str]
    bone_spared_lc: re.Pattern[str]
    bone_resected_lc: re.Pattern[str]


def _any_of(patterns: Sequence[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@lru_cache(maxsize=1)
def _rx() -> _Compiled:
    r = rule_files.case_rules()

    def c(s: str) -> re.Pattern[str]:
        return re.compile(s, re.I)

    return _Compiled(
        not_side_before=c(_any_of(r.side.not_the_tumor_side)),
        not_side_after=c(_any_of(r.side.not_the_tumor_side_after)),
        not_a_side_before=c(_any_of(r.side.not_a_side_before)),
        abbreviation_not_a_side=c(r.side.abbreviation_not_a_side_before),
        not_a_side_after=c(_any_of(r.side.not_a_side_after)),
        correction=c(r.side.correction),
        other_limb_condition=c(r.side.other_limb_condition),
        tumor_words=c(r.side.tumor_words),
        other_lesion=c(r.side.other_lesion),
        marking=c(r.side.marking),
        operation_after=c(r.side.operation_after),
        not_done=c(r.operation.not_done),
        levels=tuple((k, c(v)) for k, v in r.operation.levels.items()),
        past_anchor=c(r.operation.past_anchor),
        still_to_come=c(r.operation.still_to_come),
        bone_spared=c(r.bone.spared),
        bone_resected=c(r.bone.resected),
        bone_context=c(r.tissue.bone_context),
        soft_context=c(r.tissue.soft_context),
        invasion=c(r.tissue.invasion),
        historical=c(r.tumor.historical),
        current=c(r.tumor.current),
        treated_then=c(r.tumor.treated_then),
        then=c(r.tumor.then),
        transformation=c(r.tumor.transformation),
        pathology_confirms=c(r.tumor.pathology_confirms),
        not_confirming=c(r.tumor.not_confirming),
        past_anchor_lc=re.compile(r.operation.past_anchor),
        after_anchor_lc=re.compile(r.operation.after_anchor),
        not_done_lc=re.compile(r.operation.not_done),
        bone_spared_lc=re.compile(r.bone.spared),
        bone_resected_lc=re.compile(r.bone.resected),
    )


def _span(m: Mention) -> Span:
    return (m.start, m.end)


def _spans(ms: Iterable[Mention], limit: int = 4) -> list[Span]:
    out: list[Span] = []
    for m in ms:
        if _span(m) not in out:
            out.append(_span(m))
        if len(out) >= limit:
            break
    return out


# ----------------------------------------------------------------------------- tumor status
def _tumor_mentions(view: NoteView) -> list[Mention]:
    """Histologies and generic tumor words that speak of this patient's tumor."""
    out = []
    for m in view.of("TUMOR", "TUMOR_GENERIC"):
        if m.is_("negated", "hypothetical") or m.place in ("consent", "plan", "attestation", "personnel"):
            continue
        out.append(m)
    return out


# Where a list's next item starts: a line end, or "2)", "3." or a bullet in a note whose lines were joined.
_NEXT_ITEM = re.compile(r"\n|\s(?:\d{1,2}[.)]|[-\u2022*])\s")


def _time_of(view: NoteView, m: Mention) -> str:
    """"current" or "historical" for one tumor mention, from the words around it.

    Historical: treated (resected, excised, amputated) at a time in the past ("at age 16 (2013)",
    "in 09/2022"), or followed by no disease now ("disease-free on surveillance", "no recurrence").
    Current: a recurrence, a presentation, a new or residual tumor now.
    """
    rx = _rx()
    s, e = view.sentence(m.sent)
    lo, hi = clause_bounds(view, m.start, m.end, before=160, after=200)
    _, e2 = view.sentence(m.sent + 1)
    after = view.text[m.end:max(e, min(e2, e + 200))]
    if m.place in ("diagnosis", "procedure"):
        # A diagnosis list's other items are other diagnoses ("1) ... metastasis of lung
        # adenocarcinoma 2) Adenocarcinoma of the lung, s/p SBRT 2023"), also on one joined line.
        after = _NEXT_ITEM.split(after, 1)[0]
        lo, hi = _list_item(view.text, lo, hi, m)
    window = view.text[lo:hi]
    if rx.treated_then.search(window) and _then(view, window) and not _RECURRENCE.search(window):
        return "historical"
    if rx.current.search(window):
        return "current"
    if m.is_("historical") or _historical_cue(rx.historical, window, m, lo) or _historical_cue(rx.historical, after, m, m.end):
        return "historical"
    if m.place == "history" and _free_since(view, m):
        return "historical"
    return "current"


_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
# A recurrence said to be there ("local recurrence", not "no recurrence" or "without recurrence").
_RECURRENCE = re.compile(r"(?<!no )(?<!without )\brecurren", re.I)


def _free_since(view: NoteView, m: Mention) -> bool:
    """A history paragraph that tells the tumor and, sentences later, that the patient has been free
    of it since ("had a high-grade osteosarcoma ... at the age of 8. He was treated ... He has had
    no evidence of disease since"), with nothing in the paragraph that says it is back or still
    there. A staging result ("no evidence of metastatic disease") says nothing of the tumor itself."""
    rx = _rx()
    end = _PARAGRAPH_END.search(view.text, m.end, m.end + 800)
    para = view.text[m.end:end.start() if end else min(len(view.text), m.end + 800)]
    if rx.current.search(para) or _RECURRENCE.search(para):
        return False
    return any("metasta" not in h.group(0).lower() for h in rx.historical.finditer(para))


# A numbered list's next item: its line, or "2)" or "3." on a joined line (a dash there may be the
# diagnosis's own history: "giant cell tumour - curettage done in 2011").
_NUMBERED_ITEM = re.compile(r"\n|\s\d{1,2}[.)]\s")


def _list_item(text: str, lo: int, hi: int, m: Mention) -> tuple[int, int]:
    """``[lo, hi)`` cut to the numbered list item that holds ``m``."""
    for cut in _NUMBERED_ITEM.finditer(text, lo, m.start):
        lo = cut.end()
    nxt = _NUMBERED_ITEM.search(text, m.end, hi)
    return lo, (nxt.start() if nxt else hi)


# What a metastasis's history is about: its primary and the primary's treatment ("History of left
# nephrectomy 2019"), not the metastasis in the bone.
_PRIMARY_HISTORY = re.compile(
    r"[^.;\n]{0,40}?\b(?:\w*ectomy|breast|lung|kidney|renal|thyroid|prostate|colon|rectal|primary|cancer|carcinoma|melanoma|myeloma)\b", re.I
)


# Cues that speak of what follows them ("history of deep infection"): after the tumor, another thing's past.
_LEADING_CUE = re.compile(r"(?:history of|h/o|hx of|remote)\Z", re.I)


def _historical_cue(pattern: re.Pattern[str], text: str, m: Mention, at: int) -> bool:
    """Whether ``text`` (which starts at ``at`` in the note) holds a cue that the tumor ``m`` is
    past; for a metastasis, not one that speaks of its primary; after the tumor, not one that
    speaks of what follows it ("osteosarcoma, right distal femur; history of deep infection")."""
    for h in pattern.finditer(text):
        if m.attr("category") == "metastatic_bone" and _PRIMARY_HISTORY.match(text, h.end()):
            continue
        if at + h.start() >= m.end and _LEADING_CUE.match(h.group(0)):
            continue
        return True
    return False


def _dos_year(view: NoteView) -> int | None:
    return _dos_year_of(view.text)


@lru_cache(maxsize=16)
def _dos_year_of(text: str) -> int | None:
    """The year of the date of service; without a labelled one, the latest year the note names
    (the operation is the newest thing an operative note dates)."""
    from .coding import date_of_service

    found = date_of_service(text)
    if found:
        return found[0].year
    years = [int(y) for y in re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", text)]
    return max(years) if years else None


def _then(view: NoteView, window: str) -> bool:
    """A time before this episode: "at age 16", "years ago", or a year before the date of service."""
    dos = _dos_year(view)
    for m in _rx().then.finditer(window):
        years = re.findall(r"(?:19|20)\d\d", m.group(0))
        if not years or dos is None or int(years[-1]) < dos:
            return True
    return False


def _settle_tumor_status(view: NoteView) -> tuple[Fact, list[Mention], list[Mention]]:
    mentions = _tumor_mentions(view)
    if not mentions:
        return Fact("none"), [], []
    timed = [(m, _time_of(view, m)) for m in mentions]
    current = [m for m, t in timed if t == "current"]
    historical = [m for m, t in timed if t == "historical"]
    dx = [(m, t) for m, t in timed if m.place == "diagnosis" and m.label == "TUMOR"]
    if dx:
        dx_current = [m for m, t in dx if t == "current"]
        if dx_current:
            return Fact("current", _spans(dx_current)), current, historical
        return Fact("historical", _spans(m for m, _ in dx)), current, historical
    # Without a diagnosis line: a named tumor now, or generic words where the operation is told.
    named_now = [m for m in current if m.label == "TUMOR"]
    generic_now = [m for m in current if m.label == "TUMOR_GENERIC" and m.place in ("procedure", "narrative", "specimen", "pathology")]
    if named_now or (generic_now and not historical):
        return Fact("current", _spans(named_now or generic_now)), current, historical
    if historical:
        return Fact("historical", _spans(historical)), current, historical
    if generic_now:
        return Fact("current", _spans(generic_now)), current, historical
    return Fact("unknown"), current, historical


# ----------------------------------------------------------------------------- category
def _tissue_of_histology(view: NoteView, t: Mention, by_name: str | None = None) -> str | None:
    """"soft" or "bone" where the histology (or the words around it) say which; ``by_name`` is the
    tissue the note's histologies settle by the site they name (:func:`_tissue_by_named_site`),
    which outweighs the words around a histology that names none."""
    rules = rule_files.case_rules().tissue
    h = (t.attr("histology") or "").lower()
    if _SAID_BONE_BEFORE.search(view.text, max(0, t.start - 30), t.start) or _SAID_BONE_AFTER.match(view.text, t.end):
        return "bone"  # "intraosseous synovial sarcoma", "leiomyosarcoma of bone"
    if h in rules.soft_tissue_histology and h not in rules.either_histology:
        return "soft"
    if h in rules.either_histology or t.attr("category") in ("soft_tissue_sarcoma",):
        s, e = view.sentence(t.sent)
        if _SAID_SOFT.match(view.text, t.end, e):
            return "soft"  # "pleomorphic sarcoma, right distal femur, extraosseous"
        named = _tissue_of_named_site(view, t)  # "UPS, left thigh, invading the femur": a thigh tumor
        if named:
            return named
        if by_name:
            return by_name  # "UPS of the posterior thigh" settles the note's other, bare "UPS"
        rx = _rx()
        window = view.text[max(s, t.start - 120):min(e, t.end + 160)]
        if rx.bone_context.search(window):
            return "bone"
        if rx.soft_context.search(window):
            return "soft"
        return None
    return "bone" if t.attr("category") not in (None, "unknown", "soft_tissue_sarcoma") else None


# Words next to any histology that put it in bone: "primary intraosseous synovial sarcoma",
# "leiomyosarcoma of bone", "angiosarcoma of the bone".
_SAID_BONE_BEFORE = re.compile(r"\b(?:intra-?osseous|primary (?:bone|osseous)|osseous)[ \t]+(?:[a-z-]+[ \t]+)?$", re.I)
_SAID_BONE_AFTER = re.compile(
    r"[ \t]+(?:(?:of|in)[ \t]+(?:the[ \t]+)?bone\b|(?:arising|originating)[ \t]+(?:in|from|within)[ \t]+(?:the[ \t]+)?(?:[a-z]+[ \t]+){0,2}"
    r"(?:bone|femur|femoral|tibia|tibial|fibula|patella|medullary)\b)", re.I)


# Words after an either-tissue histology that say it is of soft tissue (a "soft tissue component" is
# a bone tumor's).
_SAID_SOFT = re.compile(r"[^.;\n]{0,60}?(?:\b(?:extra-?osseous|extra-?skeletal)\b|\b(?:femur|femoral|knee|thigh) soft[- ]tissues?\b(?! (?:component|extension|mass|involvement|invasion)))", re.I)


# Between a histology and the site it names: a preposition, sides and directions, nothing else
# ("sarcoma, left anterolateral thigh", "leiomyosarcoma of the right distal femur", "... of the mid-thigh").
_HISTOLOGY_TO_SITE = re.compile(
    r"[\s,()\-]*(?:\([^)]{0,12}\)[\s,]*)?(?:(?:(?:fnclcc |french )?(?:high|low|intermediate)[- ]grade|grade (?:[1-3]|i{1,3})(?:/3)?|g[1-3])\b[\s,;()\-]*)?"
    r"(?:(?:of|in|at|within|involving|from)\s+)?(?:the\s+)?"
    r"(?:(?:right|left|rt|lt|l|r|anterior|posterior|medial|lateral|anterolateral|anteromedial|posterolateral|"
    r"posteromedial|distal|proximal|mid|deep|superficial)\b[\s,/)-]*)*",
    re.I,
)
_BONE_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "proximal_tibia", "tibia", "fibula", "patella"}


def _tissue_of_site(site: object) -> str | None:
    return "soft" if site in SOFT_SITES else "bone" if site in _BONE_SITES else None


def _tissue_of_named_site(view: NoteView, t: Mention) -> str | None:
    """The tissue of the site a histology names in the same phrase ("UPS, left thigh": soft)."""
    for s in view.starting_in("SITE", t.end, t.end + 61):
        if s.attr("site") == "femur" and _VESSEL_AFTER.match(view.text, s.end):
            continue  # "leiomyosarcoma of the superficial femoral vein": a vessel, not the bone
        if _HISTOLOGY_TO_SITE.fullmatch(view.text, t.end, s.start):
            return _tissue_of_site(s.attr("site"))
    # ... or names just before it ("left anterolateral thigh UPS", "distal femur high-grade UPS")
    for s in view.starting_in("SITE", max(0, t.start - 80), t.start):
        if s.end <= t.start and _SITE_TO_HISTOLOGY.fullmatch(view.text, s.end, t.start):
            return _tissue_of_site(s.attr("site"))
    return None


# Between a site and the histology it names: a space and at most two words ("thigh high-grade UPS").
_SITE_TO_HISTOLOGY = re.compile(r"[ \t]+(?:[\w-]+[ \t]+){0,2}")


def _category_weights(view: NoteView, current: Sequence[Mention], settled: str | None, by_name: str | None = None) -> dict[str, float]:
    weight: dict[str, float] = {}
    for t in current:
        cat = _adjusted_category(view, t, settled, by_name)
        w = 3.0 if t.section in KEY_SECTIONS else 1.0
        if t.attr("histology") in GENERIC_HISTOLOGY:
            w *= 0.5
        if not t.present:
            w *= 0.5
        weight[cat] = weight.get(cat, 0) + w
    return weight


def _one_tissue(current: Sequence[Mention], tissue_of: Callable[[Mention], str | None]) -> str | None:
    """The one tissue ``tissue_of`` gives the note's histologies of either tissue, if they agree."""
    either = rule_files.case_rules().tissue.either_histology
    said = {tissue_of(t) for t in current if (t.attr("histology") or "").lower() in either} - {None}
    return said.pop() if len(said) == 1 else None


def _tissue_by_named_site(view: NoteView, current: Sequence[Mention]) -> str | None:
    """The tissue of the sites the note's histologies of either tissue name in their own phrase
    ("undifferentiated pleomorphic sarcoma of the posterior thigh"), when they all say one."""
    return _one_tissue(current, lambda t: _tissue_of_named_site(view, t))


def _settled_tissue(view: NoteView, current: Sequence[Mention], by_name: str | None = None) -> str | None:
    """The tissue the note's histologies of either tissue settle where their words say which.

    "Undifferentiated pleomorphic sarcoma (UPS), left thigh" settles the later bare "UPS" and
    "sarcoma" too; a note whose words say both, or neither, settles nothing, unless the sites the
    histologies name settle it (``by_name``): a site named with the histology outweighs the words
    around another mention of it.
    """
    return by_name or _one_tissue(current, lambda t: _tissue_of_histology(view, t))


def _adjusted_category(view: NoteView, t: Mention, settled: str | None = None, by_name: str | None = None) -> str:
    cat = str(t.attr("category") or "unknown")
    if cat in ("primary_malignant_bone", "soft_tissue_sarcoma") and t.attr("histology"):
        where = _tissue_of_histology(view, t, by_name)
        if where is None and (t.attr("histology") or "").lower() in rule_files.case_rules().tissue.either_histology:
            where = settled
        if where == "soft":
            return "soft_tissue_sarcoma"
        if where == "bone" and cat == "soft_tissue_sarcoma":
            return "primary_malignant_bone"
    return cat


def _specificity(t: Mention) -> tuple[int, int, int]:
    return (
        0 if t.attr("histology") in GENERIC_HISTOLOGY else 1,
        1 if t.section in ("postop_diagnosis", "preop_diagnosis") else 0,
        len(t.attr("histology") or ""),
    )


# ----------------------------------------------------------------------------- site
def _nearness(s: Mention, marks: dict[int, list[Mention]], bonus: tuple[float, float, float]) -> float:
    best: int | None = None
    for t in marks.get(s.sent, ()):
        d = s.start - t.end if s.start >= t.end else t.start - s.end
        best = d if best is None or d < best else best
    if best is None:
        return 0.0
    return bonus[0] if best <= 40 else bonus[1] if best <= 100 else bonus[2]


def _by_sent(ms: Iterable[Mention]) -> dict[int, list[Mention]]:
    out: dict[int, list[Mention]] = {}
    for m in ms:
        out.setdefault(m.sent, []).append(m)
    return out


_DONOR_AFTER = re.compile(r"\s*(?:bone\s+)?(?:graft|autograft|allograft|strut|harvest|flap|transfer)\b", re.I)
_DONOR_BEFORE = re.compile(r"\bharvest(?:ed|ing)?\s+(?:the\s+|a\s+)?(?:(?:right|left|ipsilateral|contralateral|non-?vascularised|non-?vascularized|vascularised|vascularized)\s+){0,2}$", re.I)


# "femoral" naming a vessel or a nerve ("the superficial femoral vein"), not the bone.
_VESSEL_AFTER = re.compile(r"[ \t]+(?:arter(?:y|ies|ial)|veins?|venous|vessels?|nerve|neurovascular|triangle|sheath|bundle|pulses?)\b", re.I)


def _site_mentions(view: NoteView) -> list[Mention]:
    """Site mentions, less those naming a graft's donor site ("iliac crest bone graft", "free fibula",
    "fibula autograft", "harvested the left fibula")."""
    grafts = _by_sent(m for m in view.of("RECON"))
    text = view.text
    return [
        s for s in view.of("SITE")
        if not any(g.start <= s.start and s.end <= g.end for g in grafts.get(s.sent, ()))
        and not (s.attr("site") == "fibula" and (_DONOR_AFTER.match(text, s.end) or _DONOR_BEFORE.search(text, max(0, s.start - 60), s.start)))
        and not (s.attr("site") == "femur" and _VESSEL_AFTER.match(text, s.end))
    ]


def _settle_site(view: NoteView, case: Case, current: Sequence[Mention], sites: Sequence[Mention], bone_cut: bool = False) -> None:
    scores, by_site = _site_scores(view, current, sites)
    _join_generic_tibia(scores, by_site)
    # Thigh and calf muscles are named in every bone resection near them; they locate the tumor
    # only for a soft-tissue tumor (or when no bone is named at all).
    for soft in SOFT_SITES:
        if not scores.get(soft):
            continue
        if case.category == "soft_tissue_sarcoma" and not bone_cut:
            scores[soft] += 5
        elif any(k in scores for k in SPECIFIC_SITES - SOFT_SITES | {"femur", "knee"}):
            del scores[soft]
    if not scores or case.tumor_status.value != "current":
        return
    soft_scored = [k for k in SOFT_SITES if scores.get(k)]
    if case.category == "soft_tissue_sarcoma" and not bone_cut and soft_scored:
        chosen: str | None = max(soft_scored, key=lambda k: scores[k])  # "synovial sarcoma of the popliteal fossa abutting the distal femur"
    else:
        chosen = _chosen_site(_operated_bone(_named_in_diagnosis(scores, by_site), by_site))
    case.site = chosen
    if chosen:
        case.site_evidence = sorted(by_site.get(chosen, []), key=lambda r: (r.section not in KEY_SECTIONS, r.start))


def _site_scores(view: NoteView, current: Sequence[Mention], sites: Sequence[Mention]) -> tuple[dict[str, float], dict[str, list[Mention]]]:
    """Each site's weight (where it is named, how near the tumor) and its mentions."""
    present = [s for s in sites if s.present or s.is_("historical")]
    margins = [m for m in view.of("MARGIN") if m.present]
    generic = [m for m in current if m.label == "TUMOR_GENERIC"]
    named = [m for m in current if m.label == "TUMOR"]
    histo_by_sent = _by_sent(t for t in named if t.attr("histology") not in GENERIC_HISTOLOGY)
    tumor_by_sent = _by_sent(list(named) + generic + margins)
    scores: dict[str, float] = {}
    by_site: dict[str, list[Mention]] = {}
    for s in present:
        site = s.attr("site")
        if not site or site in ("limb", "hip"):
            continue  # the limb and the hip carry a side; they do not say which bone
        w = _site_weight(s) + (_nearness(s, histo_by_sent, (6, 3, 1)) or _nearness(s, tumor_by_sent, (2, 1, 0.5)))
        if site == "tibia" and s.text.lower() in ("tibia", "tibial"):
            site = "tibia_generic"  # "tibial" alone says no level; it joins the level the note gives
        scores[site] = scores.get(site, 0) + w
        by_site.setdefault(site, []).append(s)
    return scores, by_site


def _site_weight(s: Mention) -> float:
    """How much where a site is named counts (before its nearness to the tumor)."""
    w = 0.2
    if s.section in ("preop_diagnosis", "postop_diagnosis"):
        w += 2
    if s.place == "procedure":
        w += 3  # the procedure line names the bone operated on (other metastases are named elsewhere)
    elif s.section == "procedure":
        w += 1
    return w


def _join_generic_tibia(scores: dict[str, float], by_site: dict[str, list[Mention]]) -> None:
    """"tibia" without a level counts for the level the note gives (proximal), else the tibia."""
    generic = scores.pop("tibia_generic", 0.0)
    if generic:
        level = "proximal_tibia" if scores.get("proximal_tibia") else "tibia"
        scores[level] = scores.get(level, 0) + generic
        by_site.setdefault(level, []).extend(by_site.pop("tibia_generic", []))


def _named_in_diagnosis(scores: dict[str, float], by_site: dict[str, list[Mention]]) -> dict[str, float]:
    """The scores of the specific sites a diagnosis line names, when it names any.

    The diagnosis says where the tumor is; the procedure line and the narrative also name every
    bone that was cut (the tibial cut of an extra-articular knee resection, a fibular osteotomy).
    """
    diagnosed = {
        k: v for k, v in scores.items()
        if k in SPECIFIC_SITES and any(m.section in ("preop_diagnosis", "postop_diagnosis") for m in by_site.get(k, ()))
    }
    if not diagnosed:
        return scores
    return {k: v for k, v in scores.items() if k in diagnosed or k not in SPECIFIC_SITES}


def _bone_of(site: str) -> str | None:
    """The bone a site is of, the pelvis counted as one ("proximal_femur" -> "femur")."""
    return "pelvis" if site == "pelvis" else _site_bone(site)


def _operated_bone(scores: dict[str, float], by_site: dict[str, list[Mention]]) -> dict[str, float]:
    """Less the bone sites of a bone the procedure line does not name, when it names one.

    "Prophylactic fixation of the right femur" in a note whose diagnosis also lists pelvic
    metastases: the femur is the bone operated on. Soft-tissue sites stay (a thigh sarcoma's
    procedure line names the femoral periosteum).
    """
    operated = {
        _bone_of(k) for k, ms in by_site.items() if any(m.place == "procedure" for m in ms)
    } - {None}
    if not operated:
        return scores
    kept = {
        k: v for k, v in scores.items()
        if k not in SPECIFIC_SITES or k in SOFT_SITES or _bone_of(k) in operated
    }
    return kept if any(k in SPECIFIC_SITES for k in kept) else scores


def _chosen_site(scores: dict[str, float]) -> str | None:
    specific = {k: v for k, v in scores.items() if k in SPECIFIC_SITES}
    if specific and scores.get("femur"):
        # The bone first: "the femur" named without its part counts for the femur's parts ("a wide
        # resection of the distal femur ... the femur was osteotomised" against the tibial
        # component of the prosthesis cemented into the proximal tibia).
        parts = {k: v for k, v in specific.items() if _site_bone(k) == "femur"}
        others = {k: v for k, v in specific.items() if k not in parts}
        if scores["femur"] + sum(parts.values()) > max(others.values(), default=0.0):
            if not parts:
                return "femur"
            specific = parts
    if specific:
        return max(specific, key=lambda k: (specific[k], k == "distal_femur"))
    if scores.get("femur"):
        return "femur"
    if scores.get("knee"):
        return "knee"
    return None


# ----------------------------------------------------------------------------- bone and tissue
BONE_WORDS = re.compile(r"osteot|femur|femoral|tibia|bone|cortex|cortical|condyl|perioste|osseous|segment|patell")


class _Hit:
    """A regular-expression hit in the whole note's coordinates."""

    __slots__ = ("_s", "_e")

    def __init__(self, s: int, e: int) -> None:
        self._s, self._e = s, e

    def start(self) -> int:
        return self._s

    def end(self) -> int:
        return self._e


def _find_in_bone_sentences(view: NoteView, pattern: re.Pattern[str]) -> list[_Hit]:
    """``pattern``'s hits, searched only in sentences that name bone (the rest cannot match)."""
    bounds = view.sentences or [(0, len(view.text))]
    sents = sorted({view.sent_index(a) for a, _ in view.hits(BONE_WORDS)}) if view.sentences else [0]
    spans = [bounds[k] for k in sents if k < len(bounds)]
    return [_Hit(a, b) for a, b in view.hits_within(pattern, spans)]


# "no burr or osteotome was used on bone", "without an osteotomy": a cut denied, not made.
_NO_CUT_BEFORE = re.compile(r"\b(?:no|not|without|never|nor)\b[\w /,-]{0,25}$", re.I)
_NAMED_BONE = re.compile(r"\b(femur|femoral|tibia|tibial|fibula|fibular|patella|patellar)\b", re.I)
_BONE_NAMES = {"femoral": "femur", "tibial": "tibia", "fibular": "fibula", "patellar": "patella"}


def _site_bone(site: str | None) -> str | None:
    """The bone of a site ("distal_femur" -> "femur"); None for a soft-tissue or unknown site."""
    if not site:
        return None
    for bone in ("femur", "femoral", "tibia", "tibial", "fibula", "patella"):
        if bone in site:
            return _BONE_NAMES.get(bone, bone)
    return None


_TUMOR_NOUN_AFTER = re.compile(r"[\s-]+(?:soft[- ]tissue|region|area|\w*sarcoma|\w*oma|mass|tumou?r|lesion|metastas[ie]s)\b", re.I)
# A bone cut the next words undo: "planned distal femur resection NOT performed", "Bone resection   none",
# also as a field's value on the next line ("BONE RESECTION LENGTH\nN/A", a form's row whose gap became a line end).
_NO_CUT_AFTER = re.compile(
    r"(?:[^.;:\n]{0,30}?\b(?:was|were|is|being) not (?:performed|done|required|needed|necessary|undertaken|carried out|indicated|made)\b|(?:[ \t]+length)?[ \t:.]*(?:\n\n?[ \t]*)?(?:was |were )?(?:not (?:performed|done|required|needed|necessary|undertaken|carried out|indicated)\b|none\b|nil\b|n/?a\b|abandoned\b|avoided\b|unnecessary\b))",
    re.I,
)


# A graft of a vessel, a fascia or a tendon ("a cryopreserved arterial allograft", "fascia lata
# allograft", "an Achilles allograft to the quadriceps tendon"): it reconstructs no bone.
_SOFT_GRAFT_BEFORE = re.compile(
    r"\b(?:arteri\w*|artery|venous|vein|vessels?|vascular|fascia(?: lata)?|fascial|tendons?|achilles|dermal|skin|nerve|ligament)\b[^.;]{0,25}$", re.I
)
_SOFT_GRAFT_AFTER = re.compile(r"[ \t]+(?:was |were )?(?:used )?(?:to|for|of) (?:reconstruct )?(?:the )?(?:\w+ )?(?:arter\w*|vein|vessels?|tendon|fascia|nerve|extensor)\b", re.I)


def _soft_tissue_graft(text: str, m: Mention) -> bool:
    if m.attr("kind") not in ("allograft", "autograft"):
        return False
    return bool(_SOFT_GRAFT_BEFORE.search(text, max(0, m.start - 40), m.start) or _SOFT_GRAFT_AFTER.match(text, m.end))


def _bone_resected(view: NoteView, site: str | None = None) -> tuple[bool | None, list[Span], bool]:
    """Whether bone was resected in this operation (None when the note does not say), its evidence,
    and whether that evidence is a bone cut or a bone reconstruction rather than a length alone.

    "The femur was not resected" settles it against a length (a soft-tissue specimen has one too),
    but not against a bone cut or a bone reconstruction; a neighbouring bone said to be spared
    ("the tibia was not involved" in a fibula resection) says nothing of the tumor's bone."""
    rx = _rx()
    tumor_bone = _site_bone(site)
    spared = [
        m for m in _find_in_bone_sentences(view, rx.bone_spared_lc)
        if tumor_bone is None or not (named := {_BONE_NAMES.get(w.lower(), w.lower()) for w in _NAMED_BONE.findall(view.text, m.start(), m.end())})
        or tumor_bone in named
    ]
    # What was done is told where the operation is (an implant planned in the indications or named
    # in the consent is not one put in)
    resected_recon = [
        m for m in view.of("RECON")
        if (m.present or (m.is_("historical") and not _past(view, m))) and m.attr("kind") in BONE_RECON_KINDS and not _in_places(view, m.start, ("consent", "history", "plan"))
        and not _soft_tissue_graft(view.text, m)
    ]
    lengths = [m for m in view.of("DIMENSION") if m.present and m.attr("measures") == "resection_length"]
    cut = [
        m for m in _find_in_bone_sentences(view, rx.bone_resected_lc)
        if not _in_places(view, m.start(), ("consent", "history", "plan")) and not any(sp.start() <= m.start() < sp.end() for sp in spared)
        and not _past_at(view, m.start(), m.end()) and not _NO_CUT_BEFORE.search(view.text, max(0, m.start() - 30), m.start())
        and not _irrealis_at(view, m.start(), m.end()) and not _NO_CUT_AFTER.match(view.text, m.end(), m.end() + 40)
    ]
    # "radical resection of the right distal femur soft-tissue sarcoma": the bone names where the
    # tumor is; against "the bone was not resected" it is no bone cut.
    site_named = [m for m in cut if _TUMOR_NOUN_AFTER.match(view.text, m.end())]
    if spared and not resected_recon and len(site_named) == len(cut):
        return False, [(m.start(), m.end()) for m in spared[:3]], False
    if resected_recon or lengths or cut:
        ev: list[Span] = _spans(resected_recon + lengths, 3) + [(m.start(), m.end()) for m in cut[:2]]
        return True, ev, bool(resected_recon or len(site_named) < len(cut))
    return None, [], False


def _past_at(view: NoteView, start: int, end: int) -> bool:
    lo, hi = clause_bounds(view, start, end, after=80)
    return view.hit_in(_rx().past_anchor_lc, lo, hi) is not None


def _in_places(view: NoteView, char: int, places: Sequence[str]) -> bool:
    from .mentions import place_of

    sec = view.section_at(char)
    return place_of(sec.category if sec else None) in places


def _settle_tissue(view: NoteView, case: Case) -> Fact:
    if case.tumor_status.value != "current":
        return Fact("unknown")
    tumor_ev = [_span(case.tumor)] if case.tumor else []
    if case.category == "soft_tissue_sarcoma" or (case.site in SOFT_SITES and case.category == "unknown"):
        if case.bone_cut:
            rx = _rx()
            inv = rx.invasion.search(view.text)
            ev = tumor_ev + ([(inv.start(), inv.end())] if inv else [])
            return Fact("soft_tissue_invading_bone", ev)
        return Fact("soft_tissue", tumor_ev)
    return Fact("bone", tumor_ev + _spans(case.site_evidence[:1]))


# ----------------------------------------------------------------------------- operation
_NAMES_ITS_BONE = re.compile(r"patellectomy|fibulectomy", re.I)  # a resection word that names its bone
# A resection qualified as a tumor's is one without a site in its sentence ("She underwent a wide
# intercalary resection with an allograft", the femur named in the sentence before), unless what it
# takes is a tract, a scar or skin.
_TUMOR_RESECTION_BEFORE = re.compile(r"\b(?:wide|radical|en[- ]bloc|intercalary|segmental|hemicortical|extra-?articular)(?:[\s,-]+(?:wide|radical|en[- ]bloc|intercalary|segmental|hemicortical|extra-?articular|and|oncologic(?:al)?|tumou?r))*[\s-]*$", re.I)
_NOT_THE_TUMOR_AFTER = re.compile(r"\s+of\s+(?:the\s+|a\s+|an\s+)?(?:previous\s+|old\s+|prior\s+)?(?:biopsy\s+)?(?:tract|scar|skin|wound|incision|site)\b", re.I)


def _qualified_as_tumors(view: NoteView, m: Mention) -> bool:
    return bool(_TUMOR_RESECTION_BEFORE.search(view.text, max(0, m.start - 60), m.start)) and not _NOT_THE_TUMOR_AFTER.match(view.text, m.end)


def _operation_candidates(view: NoteView, case: Case) -> list[tuple[str, Mention, float]]:
    rules = rule_files.case_rules().operation
    out: list[tuple[str, Mention, float]] = []
    anchors = {m.sent for m in view.of("SITE", "TUMOR", "TUMOR_GENERIC") if not m.is_("negated")}
    # "treated by surgical resection and implantation of a megaprosthesis": a resection told with the
    # bone reconstruction that fills its gap is a bone resection
    anchors |= {m.sent for m in view.of("RECON") if m.present and m.attr("kind") in BONE_RECON_KINDS and m.attr("kind") != "cement_spacer"}
    pathological = case.current_tumor and case.category not in ("unknown", "soft_tissue_sarcoma")
    for m in view.of("PROCEDURE"):
        if m.is_("negated", "hypothetical", "possible"):
            continue
        w = rules.weights.get(m.place, 0.0)
        if w <= 0:
            continue
        if m.place != "procedure" and (m.is_("historical") or m.place in ("history", "diagnosis", "narrative")) and _past(view, m):
            continue  # "diagnosed on a core needle biopsy in January", "underwent resection 19 days ago"
        if _irrealis(view, m):
            continue  # "limb salvage carries more risk than amputation": discussed, not done
        cls = rules.classes.get(str(m.attr("procedure")), "other")
        if m.attr("procedure") == "fracture_fixation" and pathological:
            cls = "prophylactic_fixation"  # a fracture through a current bone tumor, fixed without resection
        if cls == "resection" and m.sent not in anchors and not _NAMES_ITS_BONE.search(m.text) and not _qualified_as_tumors(view, m):
            continue  # "the wound edges were excised", "scar excised": a resection names a site or a tumor
        if cls == "resection" and _BY_CURETTAGE.match(view.text, m.end, min(m.end + 120, view.sentence(m.sent)[1])):
            continue  # "excision of the osteoid osteoma by curettage and burr": the excision is the curettage
        if _BLANK_FIELD.match(view.text, m.end):
            continue  # a template's field left empty: "Resection length ......... N/A"
        out.append((cls, m, w))
    return out


# The rest of a template line that names a field and leaves it empty ("Resection length ....... N/A",
# "Amputation level: ***").
_BLANK_FIELD = re.compile(r"[ \t]*(?:length|margins?|level|type|details|site)?[ \t]*(?:\.{2,}|:|\||-)?[ \t.]*(?:n/?a|none|nil|not applicable|not done|\*{2,}|_{2,}|\{blank\})[ \t.]*$", re.I | re.M)


# The method an excision was done by, when that method is intralesional: curettage, a burr, or an
# adjuvant used only in a cavity ("with high-speed burr, phenol and argon beam adjuvants"; not
# liquid nitrogen, which also recycles a resected segment).
_BY_CURETTAGE = re.compile(
    r"[^.;]*?\b(?:by|with|using|via)\s+(?:an?\s+)?(?:(?:extended|intralesional|thorough|high[- ]?speed|power(?:ed)?|motori[sz]ed)\s+)*"
    r"(?:curettage|curetting|curettes?|burr(?:ing)?|phenol|argon[- ]beam)\b",
    re.I,
)


def clause_bounds(view: NoteView, start: int, end: int, before: int = 100, after: int = 160) -> tuple[int, int]:
    """The stretch around ``[start, end)`` within its sentence and its clause (cut at ";" and "|")."""
    k = view.sent_index(start)
    s, e = view.sentence(k)
    lo, hi = max(s, start - before), min(e, end + after)
    text = view.text
    cut = max(text.rfind(";", lo, start), text.rfind("|", lo, start))
    lo = cut + 1 if cut >= 0 else lo
    nxt = [i for i in (text.find(";", end, hi), text.find("|", end, hi)) if i >= 0]
    return lo, (min(nxt) if nxt else hi)


def clause(view: NoteView, start: int, end: int, before: int = 100, after: int = 160) -> str:
    """The text of :func:`clause_bounds`."""
    lo, hi = clause_bounds(view, start, end, before, after)
    return view.text[lo:hi]


def _past(view: NoteView, m: Mention, after: int = 160) -> bool:
    """Whether the clause around ``m`` puts it before this operation (a date, "years ago", "prior");
    ``after``: how far after ``m`` the clause is read."""
    lo, hi = clause_bounds(view, m.start, m.end, after=after)
    # A year after the mention, in words about what is still to come ("... will be discussed at the
    # MDT on 26/03/2025"), is no time before this operation.
    text, rx = view.text, _rx()
    return any(
        not (a >= m.end and _YEAR.fullmatch(text, a, b) and rx.still_to_come.search(text, m.end, a))
        for a, b in view.hits_in(rx.past_anchor_lc, lo, hi)
    )


_YEAR = re.compile(r"(?:19|20)\d\d")


_PREOP_BEFORE = re.compile(r"\bpre-?op(?:erative)?\b[^.;]*$", re.I)


def _after(view: NoteView, m: Mention) -> bool:
    """Whether the clause around ``m`` puts it after this operation ("at 12 months postoperatively",
    "at the last follow-up", "six weeks after the surgery")."""
    if _PREOP_BEFORE.search(view.text, max(0, m.start - 25), m.start):
        return False  # "preoperative MRI and postoperative radiographs"
    lo, hi = clause_bounds(view, m.start, m.end, before=80, after=60)
    return view.hit_in(_rx().after_anchor_lc, lo, hi) is not None


def _irrealis(view: NoteView, m: Mention) -> bool:
    """Whether the words around ``m`` discuss it (options, risks, comparisons) rather than report it."""
    return _irrealis_at(view, m.start, m.end, after=40)


def _irrealis_at(view: NoteView, start: int, end: int, after: int = 60) -> bool:
    """Whether the words of its sentence around ``[start, end)`` (80 characters before, ``after``
    after) discuss it rather than report it; a bone cut found by a pattern reads a little further
    ("a segmental femoral resection ... would be a much larger operation")."""
    s, e = view.sentence(view.sent_index(start))
    hi = min(e, end + after)
    # What follows a colon or a semicolon after it is another clause ("The level was chosen to give
    # a wide margin: the femur would be divided 9 cm above ..."), not words about it.
    cut = _CLAUSE_END.search(view.text, end, hi)
    if view.hit_in(_rx().not_done_lc, max(s, start - 80), cut.start() if cut else hi) is not None:
        return True
    return _in_option_list(view.text, s, start)


_CLAUSE_END = re.compile(r"[:;]")
# A list of options, however long ("The options reviewed with the family ... were limb salvage
# (...), rotationplasty, a transfemoral amputation and a knee disarticulation"): every item of it
# is discussed, up to a word that says one was done or chosen.
_OPTION_LIST = re.compile(r"\b(?:options?|alternatives?|choices)\b[^.;:]{0,160}?\b(?:were|are|included?|including|comprising)\b", re.I)
_DONE_IN_LIST = re.compile(r"\b(?:chose|chosen|opted|elected|decided|agreed|selected|performed|proceeded|underwent|was done)\b|[.;:]", re.I)


def _in_option_list(text: str, s: int, start: int) -> bool:
    """Whether ``start`` stands in a list of options its sentence (from ``s``) opens."""
    for m in _OPTION_LIST.finditer(text, s, start):
        if not _DONE_IN_LIST.search(text, m.end(), start):
            return True
    return False


def _level_of(view: NoteView, m: Mention) -> str:
    rx = _rx()
    s, e = view.sentence(m.sent)
    window = view.text[max(s, m.start - 60):min(e, m.end + 60)]
    lvl = m.attr("level")
    if lvl:
        return str(lvl)
    for name, pat in rx.levels:
        if pat.search(window):
            return name
    sites = {x.attr("site") for x in view.in_sent(m.sent, "SITE")}
    if sites & {"tibia", "proximal_tibia", "fibula"} and not sites & {"distal_femur", "femur", "femoral_shaft", "proximal_femur"}:
        return "transtibial"
    if sites & {"distal_femur", "femur", "femoral_shaft", "proximal_femur", "thigh"}:
        return "transfemoral"
    return "other"


def _settle_operation(view: NoteView, case: Case) -> tuple[Fact, Fact]:
    rules = rule_files.case_rules().operation
    cands = _operation_candidates(view, case)
    # A rotationplasty done today (not one offered in the consent) makes an amputation a resection.
    rotation = [m for m in view.of("RECON") if m.attr("kind") == "rotationplasty" and m.place not in ("consent", "history", "plan") and this_operation(view, m)]
    if not case.current_tumor:
        cands = [c for c in cands if c[0] != "resection"]  # bone cuts of an arthroplasty or a revision
    order = {cls: i for i, cls in enumerate(rules.precedence)}
    # A diagnosis line names the biopsy that proved the tumor, not what is done today.
    cands = [c for c in cands if not (c[0] == "biopsy" and c[1].place == "diagnosis")]
    best_cls, ev = _choose_operation(cands, order)
    if best_cls == "arthroplasty" and case.current_tumor and case.category not in ("unknown", "soft_tissue_sarcoma"):
        resections = [c[1] for c in cands if c[0] == "resection"]
        if resections:
            # "a calcar-replacing total hip replacement, since the tumor and its resection involved
            # the lesser trochanter": the joint replacement reconstructs a tumor resection
            best_cls, ev = "resection", resections
    if best_cls is None:
        best_cls = _inferred_operation(view, case)
    if best_cls in ("amputation", "disarticulation") and rotation:
        return Fact("radical_resection", _spans(rotation + ev)), Fact(None)
    if best_cls in ("amputation", "disarticulation"):
        # The first mention that states a level ("Amputation can improve ..." in a title, then
        # "treated with transfemoral amputation").
        level = next((lv for lv in (_level_of(view, m) for m in ev) if lv != "other"), "other")
        if best_cls == "disarticulation" and level not in ("knee", "hip"):
            level = "hip" if "hip" in ev[0].text.lower() else "knee"
        value = "disarticulation" if level in ("knee", "hip") else "amputation"
        return Fact(value, _spans(ev)), Fact(level, _spans(ev[:1]))
    if best_cls == "resection":
        return _resection_fact(view, case, ev), Fact(None)
    if best_cls in (None, "unknown"):
        return Fact("unknown"), Fact(None)
    return Fact(best_cls, _spans(ev)), Fact(None)


def _choose_operation(cands: list[tuple[str, Mention, float]], order: dict[str, int]) -> tuple[str | None, list[Mention]]:
    """The procedure line decides (by precedence among what it lists); without one, the class the
    rest of the note (diagnosis, narrative, addendum) gives most weight, precedence breaking ties."""
    line = [c for c in cands if c[1].place == "procedure"]
    if line:
        best = min((c[0] for c in line), key=lambda k: order.get(k, len(order)))
        return best, [c[1] for c in line if c[0] == best]
    if not cands:
        return None, []
    score: dict[str, float] = {}
    for cls, _, w in cands:
        score[cls] = score.get(cls, 0) + w
    best = max(score, key=lambda k: (score[k], -order.get(k, len(order))))
    return best, [c[1] for c in cands if c[0] == best]


def _resection_fact(view: NoteView, case: Case, ev: list[Mention]) -> Fact:
    """A tumor resection: of bone (radical) or of soft tissue only."""
    if case.category == "soft_tissue_sarcoma" and not case.bone_cut:
        return Fact("soft_tissue_resection", _spans(ev))
    if case.bone_resected is False:
        return Fact("soft_tissue_resection", _spans(ev))
    if case.site in SOFT_SITES and not case.bone_cut:
        return Fact("soft_tissue_resection", _spans(ev))
    margins = [m for m in view.of("MARGIN") if m.present]
    intents = {m.attr("intent") for m in margins}
    if intents and intents <= {"intralesional"} and not any(m.attr("measures") == "resection_length" for m in view.of("DIMENSION")):
        curettage = [m for m in margins if m.attr("intent") == "intralesional"]
        if case.bone_resected is not True:
            return Fact("intralesional", _spans(curettage))
    return Fact("radical_resection", _spans(ev))


def _inferred_operation(view: NoteView, case: Case) -> str:
    """No procedure named: a wide margin, a resection length or a bone reconstruction tells it."""
    if not case.current_tumor:
        return "unknown"
    if any(m.present and m.group == "mod.return" for m in view.of("MOD78")):
        return "other"  # a return to the operating room that resects nothing
    # what the consent or the plan names is not what was done
    told = [m for m in view.of("MARGIN", "DIMENSION") if m.present and m.place not in ("consent", "plan") and not _past(view, m)]
    margins = {m.attr("intent") for m in told if m.label == "MARGIN"}
    lengths = [m for m in told if m.label == "DIMENSION" and m.attr("measures") in ("resection_length", "specimen")]
    if margins & {"radical", "wide"} or lengths or (case.bone_cut and case.category not in ("unknown", "soft_tissue_sarcoma")):
        return "resection"  # "underwent proximal femoral replacement": the replacement tells the resection
    if margins & {"intralesional"}:
        return "intralesional"
    return "unknown"


# ----------------------------------------------------------------------------- side
def _side_candidates(view: NoteView, case: Case) -> list[tuple[SideMention, Mention]]:
    """Every side the note gives for the tumor's limb, with its place and weight."""
    linked = _sides_of_sites(view, case)
    elsewhere = _sides_of_other_sites(view, case)
    out: list[tuple[SideMention, Mention]] = []
    weak: list[tuple[SideMention, Mention]] = []
    anywhere = rule_files.case_rules().side.anywhere_places
    for m in view.of("SIDE"):
        site = linked.get(_span(m))
        if site is None and _span(m) in elsewhere:
            continue  # "removal of hardware, left distal tibia" in a femur case: that bone's side
        sm = _side_candidate(view, m, site)
        if sm is None:
            continue
        if site is not None and site.attr("site") == "hip" and sm.place not in anywhere and not _rx().operation_after.match(view.text, m.end):
            weak.append((sm, m))  # "left hip pain": the joint's side, which a story may tell of either hip
        else:
            out.append((sm, m))
    # A side told with the hip outside the diagnosis, procedure, marking, implant and specimen lines
    # counts only where nothing else gives the side (a case report's "six months of left hip pain").
    return out or weak


def _sides_of_sites(view: NoteView, case: Case) -> dict[Span, Mention]:
    """The site mention each side word belongs to, for sites of the tumor's limb."""
    group = BONE_GROUP.get(case.site or "", {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "knee", "thigh", "hip", "limb", "proximal_tibia", "patella", "tibia"})
    linked: dict[Span, Mention] = {}
    for side, s in _sided_sites(view):
        if s.attr("site") in group | {"limb"}:
            had = linked.get(side)
            # Two sites that carry one side word ("left proximal femur (femoral head and neck)",
            # "RIGHT hip/thigh"): the side belongs to the nearer that names a part of the limb, the
            # hip or the limb only when no such site carries it.
            if had is None or _link_rank(s, side) < _link_rank(had, side):
                linked[side] = s
    return linked


def _sides_of_other_sites(view: NoteView, case: Case) -> set[Span]:
    """Side words that a site outside the tumor's limb carries ("left distal tibia" in a femur case,
    "right shoulder"): they give that site's side, not the tumor's."""
    if not case.site:
        return set()
    group = BONE_GROUP.get(case.site, set()) | {case.site, "limb"}
    return {side for side, s in _sided_sites(view) if s.attr("site") and s.attr("site") not in group}


def _sided_sites(view: NoteView) -> list[tuple[Span, Mention]]:
    """The site mentions that carry a side word of their own ("left distal tibia"), with its span."""
    return [(s.side_span, s) for s in view.of("SITE") if s.side_span and s.attr("laterality") and not s.is_("negated")]


def _link_rank(site: Mention, side: Span) -> tuple[bool, int]:
    return site.attr("site") in ("hip", "limb"), max(side[0] - site.end, site.start - side[1], 0)


def _side_candidate(view: NoteView, m: Mention, site: Mention | None) -> SideMention | None:
    """The side a SIDE mention gives for the tumor (``site``: the site it belongs to), if it gives one."""
    rules = rule_files.case_rules().side
    text = view.text
    value = str(m.attr("laterality") or "")
    if m.is_("negated") or value not in ("right", "left") or _not_a_side(text, m):
        return None
    place = m.place
    if site is None and m.text.lower().rstrip(".") in rules.abbreviations and not _side_field(text, m.start):
        return None  # "RT 45 Gy", "Adam R Holmqvist": a letter is a side only beside a limb or in a side field
    if _in_table_row(text, m.start):
        place = "implants"  # a side column of a table (an implant log, a specimen list) labels the row
    if place in rules.other_limb_places or place in ("consent", "history"):
        place = _marking_place(view, m, place)
    if site is None and place not in rules.anywhere_places and not (place == "consent" and _rx().operation_after.match(text, m.end)):
        return None  # a consent gives a side with the operation it names ("RIGHT hip disarticulation")
    if _not_the_tumor_side(view, m, site) or _other_lesion(view, m):
        return None
    if place in rules.other_limb_places and _other_limb_condition(view, m):
        return None
    span = (min(m.start, site.start), max(m.end, site.end)) if site is not None else _span(m)
    return SideMention(value, place, rules.weights.get(place, 1.0), span)


# A side letter that is one of a run of spelled-out letters ("stryker G M R S", "M A P"), or that
# stands just before a side word, is no side of its own.
_LETTER_BEFORE = re.compile(r"(?:^|[^\w.])[A-Za-z] \Z")
_LETTER_OR_SIDE_AFTER = re.compile(r" [A-Za-z](?![\w.])|\)?[ \t]*(?:right|left)\b", re.I)


def _not_a_side(text: str, m: Mention) -> bool:
    """"a cuff was left on the tumor", "a right-angle clamp": the word is not a side."""
    rx = _rx()
    if m.text.lower() in rule_files.case_rules().side.after_the_site:
        return False  # "Femur links, Fadenmarkierung": a side word that is never a verb
    pre = text[max(0, m.start - 20):m.start]
    post = text[m.end:m.end + 20]
    if rx.not_a_side_before.search(pre) or rx.not_a_side_after.search(post):
        return True
    if len(m.text.rstrip(".")) == 1 and (_LETTER_BEFORE.search(pre) or _LETTER_OR_SIDE_AFTER.match(post)):
        return True  # "G M R S" spelled out, "(L) RIGHT LOWER EXTREMITY" (an OCR'd list number)
    # "chemo/RT", "neoadjuvant RT": radiotherapy, not the right side
    return m.text.lower().rstrip(".") in ("rt", "lt") and rx.abbreviation_not_a_side.search(pre) is not None


_SPACES = re.compile(r"[ \t]*\n[ \t]*")


def _not_the_tumor_side(view: NoteView, m: Mention, site: Mention | None) -> bool:
    """A side said of another limb or of the positioning ("the contralateral leg", "harvested from
    the left", "right side down"), not of the tumor's limb."""
    rx = _rx()
    text = view.text
    s_start, s_end = view.sentence(m.sent)
    before = text[max(s_start, m.start - 60):m.start]
    after = text[m.end:min(s_end, m.end + 80)]
    if site is not None and site.end > m.end:
        after = text[site.end:min(s_end, site.end + 80)]
    # A line break inside the sentence reads as a space ("left leg in\na well-leg holder").
    before, after = _SPACES.sub(" ", before), _SPACES.sub(" ", after)
    return bool(rx.not_side_before.search(before) or rx.not_side_after.search(after))


def _marking_place(view: NoteView, m: Mention, place: str) -> str:
    """A side in a clause that tells the site marking ("the operative site was marked on the left
    distal thigh") stands in the marking, wherever the sentence is written (an indications
    paragraph, the consent): a place of authority of its own."""
    return "marking" if _rx().marking.search(clause(view, m.start, m.end, before=60, after=60)) else place


def _other_lesion(view: NoteView, m: Mention) -> bool:
    """A side on a line about a lesion left alone ("Incidental, not treated: non-ossifying fibroma,
    right proximal tibia (observation)"): another lesion's side, not the tumor's."""
    text = view.text
    s, e = view.sentence(m.sent)
    lo = max(text.rfind("\n", 0, m.start) + 1, m.start - 120, s)
    nl = text.find("\n", m.end)
    hi = min(len(text) if nl < 0 else nl, m.end + 120, e)
    return _rx().other_lesion.search(text, lo, hi) is not None


def _other_limb_condition(view: NoteView, m: Mention) -> bool:
    """A side told with a condition of its own limb and no word of the tumor ("her right knee had an
    arthroscopic meniscectomy in 2019", "mild arthritis of the right knee", "a left total knee
    replacement in 2022, and that knee is fine"): the other limb, not the tumor's side."""
    rx = _rx()
    cl = clause(view, m.start, m.end, before=60, after=90)
    return rx.other_limb_condition.search(cl) is not None and rx.tumor_words.search(cl) is None


SIDE_FIELD = re.compile(r"(?:\bside|laterality|\bsite)\s*[:\-]\s*$|\(\s*$", re.I)


def _side_field(text: str, char: int) -> bool:
    """"Side: R", "Laterality - L", "(R)", or a cell of a table row."""
    return bool(SIDE_FIELD.search(text[max(0, char - 20):char])) or _in_table_row(text, char)


def _sides_marked_wrong(view: NoteView, cands: list[tuple[SideMention, Mention]]) -> set[str]:
    """Sides a correction calls wrong: "the procedure line reads LEFT distal femur in error"."""
    rx = _rx()
    err = re.compile(rule_files.case_rules().side.error_words, re.I)
    wrong: set[str] = set()
    for sm, m in cands:
        sentence = view.sentence_text(m.sent)
        if not (rx.correction.search(sentence) or err.search(sentence)):
            continue
        s, _ = view.sentence(m.sent)
        window = view.text[max(s, m.start - 40):m.end + 40]
        if err.search(window) and re.search(r"\b(?:in error|erroneous|incorrect|wrong|typo|mistake|carry-?over)", sentence, re.I):
            wrong.add(sm.value)
    return wrong


def _in_table_row(text: str, char: int) -> bool:
    start = text.rfind("\n", 0, char) + 1
    end = text.find("\n", char)
    return text.count("|", start, len(text) if end < 0 else end) >= 2


DONOR_RE = re.compile(
    r"\b(?:harvest\w*|donor|free (?:vascularized )?fibula|vascularized fibula|fibular graft|iliac crest (?:bone )?graft|graft(?:ed)? from"
    r"|(?:great |long )?saphenous(?: vein)?|gsv|vein graft|interposition graft)\b",
    re.I,
)


_DONOR_LC = re.compile(DONOR_RE.pattern)  # for NoteView.hit_in, which searches the lower-cased note
_FEMUR_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "thigh"}
_LOWER_LEG = re.compile(r"[ \t]*(?:lower[ \t]+)?(?:leg|calf|fibula|fibular|ankle|foot|shin)\b", re.I)


def _names_lower_leg(text: str, sm: SideMention, m: Mention) -> bool:
    """Whether a side names the lower leg: "L leg", "left leg wound", "the left fibula"."""
    return bool(_LOWER_LEG.match(text, m.end) or _LOWER_LEG.search(text, sm.span[0], sm.span[1]))


def _donor_sentence(view: NoteView, m: Mention) -> bool:
    s, e = view.sentence(m.sent)
    return DONOR_RE.search(view.text, s, e) is not None


def _donor_sides(view: NoteView, cands: list[tuple[SideMention, Mention]]) -> set[str]:
    """Sides named where a graft is harvested ("free fibula from the left leg", "reversed R GSV
    graft", "vein graft (harvested from L thigh)"): the donor limb. Read close to the side word, so
    that a procedure line naming the tumor's side and the donor's keeps them apart."""
    out: set[str] = set()
    if view.hit_in(_DONOR_LC, 0, len(view.text)) is None:
        return out
    named = [(sm.value, m) for sm, m in cands] + [(str(m.attr("laterality")), m) for m in view.of("SIDE") if m.attr("laterality") in ("right", "left")]
    for value, m in named:
        s, e = view.sentence(m.sent)
        if DONOR_RE.search(view.text, max(s, m.start - 45), min(e, m.end + 35)):
            out.add(value)
    return out


def _without_donor_limb(view: NoteView, case: Case, cands: list[tuple[SideMention, Mention]]) -> list[tuple[SideMention, Mention]]:
    """The side candidates less those that name the limb a graft was taken from."""
    donors = _donor_sides(view, cands)
    dropped = False
    if len(donors) == 1 and len({sm.value for sm, _ in cands}) == 2:
        donor = next(iter(donors))
        # The donor limb's other mentions ("L leg closed by plastics") are not the tumor's side,
        # unless the diagnosis or procedure line itself gives that side.
        high = {sm.value for sm, m in cands if sm.place in ("diagnosis", "procedure") and not _donor_sentence(view, m)}
        if donor not in high:
            cands = [(sm, m) for sm, m in cands if sm.value != donor]
            dropped = True
    if not dropped and case.site in _FEMUR_SITES and view.hit_in(_DONOR_LC, 0, len(view.text)) is not None:
        # A fibula taken from the other leg: that leg's mentions ("left leg wound closed
        # separately") name the donor limb, not the femur's side the diagnosis and procedure give.
        high = {sm.value for sm, _ in cands if sm.place in ("diagnosis", "procedure")}
        if len(high) == 1:
            cands = [(sm, m) for sm, m in cands if sm.value in high or not _names_lower_leg(view.text, sm, m)]
    return cands


def _settle_side(view: NoteView, case: Case) -> tuple[Fact, list[SideMention]]:
    rules = rule_files.case_rules().side
    rx = _rx()
    cands = _side_candidates(view, case)
    cands = _without_donor_limb(view, case, cands)
    if not cands:
        return Fact(None), []
    # A correction (usually an addendum) settles the side and supersedes what it corrects. A side
    # the correction calls wrong is dropped first; when the addendum calls one side wrong, its
    # other side mentions are the correction ("... reads LEFT in error. The operation was on the RIGHT").
    wrong = _sides_marked_wrong(view, cands) | {str(m.attr("laterality")) for m in view.struck_sides if m.attr("laterality") in ("right", "left")}
    if wrong and len(wrong) == 1:
        cands = [(sm, m) for sm, m in cands if sm.value not in wrong]
    corrected = [sm for sm, m in cands if sm.place == "addendum" and rx.correction.search(view.sentence_text(m.sent))]
    if not corrected and len(wrong) == 1:
        corrected = [sm for sm, _ in cands if sm.place == "addendum"]
    votes: dict[str, float] = {}
    for sm, _ in cands:
        votes[sm.value] = votes.get(sm.value, 0) + sm.weight
    if corrected:
        value = corrected[-1].value
        return Fact(value, [c.span for c in corrected[:2]]), []
    if not votes:
        return Fact(None), []
    value = max(votes, key=lambda k: (votes[k], k == "right"))
    ev = [sm.span for sm, _ in sorted(cands, key=lambda c: -c[0].weight) if sm.value == value][:3]
    others = [sm for sm, _ in cands if sm.value != value]
    if sum(o.weight for o in others) >= rules.conflict_min_weight and any(o.weight >= rules.conflict_min_weight for o in others):
        return Fact(value, ev), others
    return Fact(value, ev), []


# ----------------------------------------------------------------------------- this operation
def this_operation(view: NoteView, m: Mention) -> bool:
    """Said of this operation: not of an earlier one ("the index wide resection 19 days ago"), not
    as an option ("a wide margin would require ..."); a ConText "historical" from a word such as
    "underwent" does not put it in the past by itself."""
    if not m.is_("present", "historical"):
        return False
    if _past(view, m):
        return False
    return m.place in ("procedure", "diagnosis") or not _irrealis(view, m)


REASSERTED = ("MARGIN", "RECON", "DIMENSION", "PROCEDURE")


def _reassert_by_case(view: NoteView, case: Case | None) -> None:
    """Margins and lengths the settled case cannot have had today: with no tumor now, a margin or a
    resection length is the earlier resection's ("revision of a distal femoral replacement placed
    after a wide resection"); in a biopsy or a prophylactic fixation, a wide margin is the resection
    still to come; in a resection or an amputation, a curettage is an earlier treatment or an option
    set aside; a soft-tissue resection's length is its specimen's, not a length of bone."""
    if case is None:
        return
    margins = [m for m in view.of("MARGIN") if m.present]
    lengths = [m for m in view.of("DIMENSION") if m.present and m.attr("measures") == "resection_length"]
    if case.tumor_status.value in ("historical", "none"):
        for m in margins + lengths:
            m.assertion = "historical"
    elif case.operation.value == "soft_tissue_resection":
        for m in lengths:
            m.attrs["measures"] = "specimen"  # no bone resected: the length is the soft-tissue specimen's
    else:
        not_today = _MARGINS_NOT_OF.get(case.operation.value or "", ())
        for m in margins:
            if m.attr("intent") in not_today:
                m.assertion = "hypothetical"


# Places whose words about a reconstruction tell what was talked of, planned or done before, not
# what this operation put in.
_TALK_PLACES = ("history", "consent", "plan")


def _talked_of_recon(view: NoteView) -> None:
    """A kind of reconstruction named only where the case is discussed (history, consent, plan) and
    nowhere the operation is told was weighed, not done: "we revisited rotationplasty, which she
    again declined", "she met our rotationplasty patient mentor". (A revision's old implant is
    left alone: it is told in the history and is what the revision works on.)"""
    recon = [m for m in view.of("RECON") if m.present]
    done = {m.attr("kind") for m in recon if m.place not in _TALK_PLACES}
    for m in recon:
        if m.place in _TALK_PLACES and m.attr("kind") not in done:
            m.assertion = "hypothetical"


# Margin intents an operation cannot have had: a biopsy's or a fixation's wide margin is the
# resection still to come; a curettage's is the resection weighed and set aside or a template's
# default ("Margin intent: Wide" left in a curettage note); a curettage named in a resection's note
# is an earlier treatment or the option set aside ("recurrent after two intralesional procedures
# elsewhere", "curettage is no longer appropriate").
_MARGINS_NOT_OF: dict[str, tuple[str, ...]] = {
    "biopsy": ("radical", "wide"),
    "prophylactic_fixation": ("radical", "wide"),
    "intralesional": ("radical", "wide"),
    **dict.fromkeys(("radical_resection", "soft_tissue_resection", "amputation", "disarticulation"), ("intralesional",)),
}


_RESULTS = ("negative", "positive", "close", "atypical")


def _superseded_pending(view: NoteView) -> None:
    """A frozen section "pending" at one moment, whose result the note gives elsewhere, was pending
    then: historical now. An addendum's result ("Pathology called with the frozen section results:
    ... negative") supersedes a pending before it; a result told in the operation's own places
    ("called the room at 10:42: negative") supersedes a pending anywhere in them ("While awaiting
    the frozen result, the tibia was prepared")."""
    frozen = [m for m in view.of("FROZEN") if m.present]
    told = [m.start for m in frozen if m.place == "addendum" and m.attr("result") in _RESULTS]
    here = [m for m in frozen if m.place in _OPERATION_PLACES and m.attr("result") in _RESULTS]
    for m in frozen:
        if m.attr("result") != "pending" or m.place == "addendum":
            continue
        if (told and m.start < told[0]) or (here and m.place in _OPERATION_PLACES):
            m.assertion = "historical"


# Places that tell this operation: what they say of a frozen section is of today's.
_OPERATION_PLACES = ("procedure", "narrative", "specimen", "pathology")


def _after_in(m: Mention) -> int:
    """How far after a mention its clause tells its time: in the procedure line or the implant log,
    what follows a short way on describes the operation ("..., increased complexity due to prior
    radiation"), not the mention."""
    return 30 if m.place in ("procedure", "implants") else 160


def _reassert_recon(view: NoteView) -> None:
    """Reconstructions not put in today: taken out or already in place, or a later stage. With an
    allograft-prosthetic composite put in, its allograft and its prosthesis are its parts."""
    for m in view.of("RECON"):
        if not m.is_("present"):
            continue
        if _not_put_in(view.text, m):
            m.assertion = "historical"  # "removal of the proximal femoral replacement": taken out, not put in
        elif _later_stage(view, m):
            m.assertion = "hypothetical"  # "second-stage distal femoral replacement once cultures are negative"
    recon = [m for m in view.of("RECON") if m.is_("present")]
    if any(m.attr("kind") == "allograft_prosthetic_composite" for m in recon):
        for m in recon:
            if m.attr("kind") in ("endoprosthesis", "allograft"):
                m.attrs["kind"] = "allograft_prosthetic_composite"  # "a long-stem hinged prosthesis cemented into the allograft"


def reassert(view: NoteView, case: Case | None = None) -> None:
    """Give findings the assertion the case model read: of an earlier operation -> historical, an
    option discussed -> hypothetical. The report's findings then say what the items judged."""
    copied = _copied_blocks(view)
    for m in view.of(*REASSERTED):
        if not m.is_("present", "historical") or any(a <= m.start < b for a, b in copied):
            continue
        if _past(view, m, after=_after_in(m)):
            m.assertion = "historical"
        elif m.place not in ("procedure", "diagnosis") and _irrealis(view, m):
            m.assertion = "hypothetical"
        elif m.is_("historical"):
            m.assertion = "present"  # "underwent wide excision" today: ConText's cue word, not a time
    _reassert_recon(view)
    _reassert_by_case(view, case)
    if case is not None and case.operation.value != "revision":
        _talked_of_recon(view)
    _superseded_pending(view)
    _time_imaging(view)


def _time_imaging(view: NoteView) -> None:
    """Imaging that did not plan this operation gets its timing: after it, or guiding a needle."""
    for m in view.of("IMAGING"):
        if not m.is_("present", "historical"):
            continue
        if _after(view, m) or _still_to_do(view, m):
            m.attrs["timing"] = "postoperative"  # follow-up imaging: not imaging that planned this operation
        elif _GUIDED_AFTER.match(view.text, m.end) or (_UNDER_BEFORE.search(view.text, max(0, m.start - 12), m.start) and _BIOPSY_WORD.search(clause(view, m.start, m.end, 60, 60))):
            m.attrs["timing"] = "guidance"  # "CT-guided core biopsy", "a core biopsy under CT": no study of the tumor


# A modality that guided a procedure ("CT-guided biopsy", "core needle biopsy under CT").
_GUIDED_AFTER = re.compile(r"[ \t]*-?[ \t]*guided\b", re.I)
_UNDER_BEFORE = re.compile(r"\bunder[ \t]+\Z", re.I)
_BIOPSY_WORD = re.compile(r"\bbiops|\bcore\b|\baspirat|\binjection\b|\bablation\b", re.I)


# Words that report a study as done ("MRI reviewed", "CT showed ..."), in a plan's sentence.
_REPORTED = re.compile(r"\b(?:was|were|has been|have been|showed|shows|demonstrat\w+|revealed|reviewed|obtained|performed|done|confirmed|noted|seen|available)\b", re.I)


def _still_to_do(view: NoteView, m: Mention) -> bool:
    """Imaging in the plan that no word reports as done ("Plan: CT chest and bone scan on Thursday"),
    or anywhere in a clause that orders it for later ("Staging (CT chest and bone scan) has been
    ordered for this week", "staging will be completed by a chest scanner after the histology"):
    still to come, not imaging this operation was planned on."""
    if m.place == "plan":
        s, e = view.sentence(m.sent)
        return _REPORTED.search(view.text, s, e) is None
    said = clause(view, m.start, m.end, 80, 80)
    if not _TO_COME.search(said):
        return False
    return _REPORTED.search(_TO_COME.sub(" ", said)) is None


# Words that put a study after today: ordered, booked, to be done.
_TO_COME = re.compile(
    r"\b(?:(?:has|have) been |is |are )?(?:ordered|requested|booked|scheduled|arranged)\b|\bwill be\b|\bto be (?:done|performed|obtained|completed|arranged|repeated)\b"
    r"|\bafter the (?:histolog\w*|patholog\w*|biopsy) (?:diagnosis|result)s?\b",
    re.I,
)


# The words that may stand between an article and an implant's name: its bone and side, the kind of
# implant, and that it is the old one. Each pattern below takes up to three of them.
_ARTICLE = r"(?:the |an? |her |his |their )?"
_SITE_WORDS = "proximal|distal|total|right|left|[lr]|[lr]t\\.?|femur|femoral|tibia|tibial|knee|hip"
_IMPLANT_WORDS = _SITE_WORDS + "|modular|tumou?r|hinged|cemented|uncemented|mega"
_OLD_WORDS = "old|prior|previous|existing"


def _up_to_three(words: str) -> str:
    return rf"(?:(?:{words})[ \t]+){{0,3}}"


# A reconstruction taken out today: "removal of the (old, infected) proximal femoral replacement",
# "the cement spacer was removed".
_REMOVED_BEFORE = re.compile(
    r"\b(?:removal|removing|explant(?:ation|ing)?|extraction|excision) of " + _ARTICLE
    + r"(?:(?:old|prior|previous|existing|index|infected|failed|loose(?:ned)?|broken|retained|original|antibiotic|cement|static|articulating)[ \t,]+){0,3}"
    + _up_to_three(_IMPLANT_WORDS) + "$"
    # "the explanted distal femoral replacement", "a chronically infected proximal femoral replacement"
    + r"|\b(?:explanted|retrieved|failed|infected|loose(?:ned)?)[ \t]+" + _up_to_three(_IMPLANT_WORDS) + "$"
    # "the leg was removed together with the proximal femur prosthesis and the recurrent tumour"
    + r"|\b(?:removed|explanted|taken out|amputated)[ \t]+(?:(?:together|en bloc|in continuity)[ \t]+)?with[ \t]+" + _ARTICLE
    + _up_to_three(f"{_OLD_WORDS}|{_SITE_WORDS}") + "$",
    re.I,
)
# ... or named further on in the list of what was taken out: "removal of deep hardware, right
# proximal femur, dynamic hip screw and side plate" (no "and"/"with" before it that starts what is put in).
_REMOVED_LIST = re.compile(
    r"\b(?:removal|removing|explant(?:ation|ing)?|extraction) of\b"
    r"(?P<what>(?:(?!\b(?:and|with|then|using|reconstruct|implant|insert|plac|replac|exchang)\w*)[^.;:\n]){0,60})$",
    re.I,
)
# An implant the patient already has: "retained right dynamic hip screw from a fracture in 2018".
_RETAINED_BEFORE = re.compile(
    r"\b(?:retained|existing|indwelling|in-situ|in situ)[ \t]+(?:(?:right|left|[LR])[ \t]+)?$"
    # a tumour "around the proximal femur prosthesis": the implant is already there
    + r"|\b(?:around|surrounding|encasing|abutting) " + _ARTICLE + _up_to_three(f"{_OLD_WORDS}|{_SITE_WORDS}") + "$"
    # what failed: "periprosthetic joint infection (...) of a right distal femoral replacement"
    + r"|\b(?:infection|loosening|failure|fracture|dislocation|wear|instability)(?: (?:\([^()\n]{0,60}\) )?of |, )" + _ARTICLE
    + _up_to_three(f"{_OLD_WORDS}|index|{_SITE_WORDS}") + "$",
    re.I,
)
_HARDWARE_WORD = re.compile(r"\b(?:hardware|implants?|screws?|plates?|nails?|rods?|wires?|prosthes[ie]s|spacer|cement)\b", re.I)


def _not_put_in(text: str, m: Mention) -> bool:
    """Whether a reconstruction mention names an implant taken out today or already in place."""
    if _REMOVED_BEFORE.search(text, max(0, m.start - 60), m.start) or _REMOVED_AFTER.match(text, m.end):
        return True
    if _RETAINED_BEFORE.search(text, max(0, m.start - 120), m.start):
        return True
    listed = _REMOVED_LIST.search(text, max(0, m.start - 80), m.start)
    return listed is not None and _HARDWARE_WORD.search(listed.group("what")) is not None


# A staged reconstruction's later stage, and a word that puts it later: "Definitive distal femoral
# replacement planned as a second stage", "second stage DFR once cultures ... are known".
_LATER_STAGE = re.compile(r"\bsecond[- ]stage\b|\b(?:stage (?:2|two|ii))\b", re.I)
_LATER_WORD = re.compile(r"\b(?:planned|plan|will|would|once|when|later|readmission|re-?admission|in (?:about |approximately |some )?(?:\w+ )?(?:weeks?|months?)|after (?:completion|eradication|chemotherapy|radiotherapy|cultures?|adjuvant|the infection)|following (?:completion|eradication|chemotherapy))\b", re.I)


def _later_stage(view: NoteView, m: Mention) -> bool:
    s, e = view.sentence(m.sent)
    lo, hi = max(s, m.start - 80), min(e, m.end + 80)
    return _LATER_STAGE.search(view.text, lo, hi) is not None and _LATER_WORD.search(view.text, s, e) is not None


_REMOVED_AFTER = re.compile(
    r"(?:,?[ \t]+(?:and|&)[ \t]+(?:(?!\b(?:was|were)\b)[^.;:\n]){1,40}?)?"  # "the hip screw and its side plate were removed"
    r"[ \t]+(?:(?:was|were) )?(?:then |subsequently |carefully )?(?:removed|explanted|extracted|taken out)\b"
    # "above-knee amputation, with distal femoral replacement in situ"; "bringing the proximal femoral
    # replacement and its bipolar head out with the limb"
    r"|[ \t]+(?:in situ|in-situ)\b|(?:[ \t]+(?:and|with)[ \t]+[^.;:\n]{1,40}?)?[ \t]+out[ \t]+with[ \t]+the[ \t]+(?:limb|leg|specimen|amputated)",
    re.I,
)


# ----------------------------------------------------------------------------- the whole case
# Text a record system or a writer copied forward from an earlier encounter, up to its end marker or
# the next blank line: "----- COPIED FORWARD FROM ENCOUNTER 2014-09-16 -----" ... "----- END COPIED
# TEXT -----", or "HISTORY (copied from 2021 resection note header)" and the lines under it.
_COPIED_BLOCK = re.compile(
    r"^[^\n]{0,60}?\b(?:(?:copied|carried|pulled) forward|(?:copied|pasted|carried over|imported) from (?:the |an? |her |his |their )?(?:prior|previous|earlier|old|original|index|outside|\d{4})\b)[^\n]*\n"
    r"(?:.*?)(?=^[ \t\-=*#_>]*end (?:of )?(?:copied|carried|pulled)\b|\n[ \t]*\n|\Z)",
    re.I | re.M | re.S,
)


def _copied_blocks(view: NoteView) -> list[Span]:
    low = view._lower if view._lower is not None else view.text.lower()
    if "forward" not in low and not any(w in low for w in ("copied from", "pasted from", "carried over from", "imported from")):
        return []
    return [(m.start(), m.end()) for m in _COPIED_BLOCK.finditer(view.text)]


# A list of options a board or the surgeon weighed ("Options: (a) extended curettage ...; (b) en bloc
# resection ... Decision: (a)"): from its heading to a blank line, the next heading, or the line
# (or words) that give the decision.
_OPTIONS_WORD = re.compile(r"\b(?:options?|alternatives?)(?:[ \t]+(?:considered|discussed|weighed|reviewed|were|included|offered))?[ \t]*:")  # lower case
_OPTIONS_WORD_I = re.compile(_OPTIONS_WORD.pattern, re.I)
# ... as a heading: at the start of its line or its sentence, after a bullet and at most three words
# ("MDT options:", "Treatment options considered:").
_OPTIONS_PREFIX = re.compile(r"[ \t]*(?:[-*\u2022][ \t]*)?(?:[A-Za-z][\w/]*[ \t]+){0,3}")
_OPTIONS_END = re.compile(
    r"\n[ \t]*\n|\n(?=[ \t]*[A-Z][\w /&()-]{0,40}:)|(?:^|(?<=[.;)]\s))[ \t]*(?:[-*\u2022][ \t]*)?(?:final |mdt |board |tumou?r board )?(?:decision|decided|recommendation|recommended|plan|outcome|agreed|consensus|conclusion)\b",
    re.I | re.M,
)


def _options_listed(view: NoteView) -> None:
    """What a list of options names is an option, not what was done."""
    text = view.text
    low = view._lower  # None when lower-casing changes the text's length: search it case-blind
    if low is not None and "option" not in low and "alternative" not in low:
        return
    for head in (_OPTIONS_WORD.finditer(low) if low is not None else _OPTIONS_WORD_I.finditer(text)):
        line = text[text.rfind("\n", 0, head.start()) + 1:head.start()]
        cut = max(line.rfind(". "), line.rfind("; "), line.rfind(".\t"))
        if not _OPTIONS_PREFIX.fullmatch(line[cut + 2:] if cut >= 0 else line) or _in_places(view, head.start(), ("procedure",)):
            continue
        end = _OPTIONS_END.search(text, head.end(), head.end() + 700)
        hi = end.start() if end else min(len(text), head.end() + 700)
        for label in REASSERTED:  # the findings whose assertion the case model may settle
            for m in view.starting_in(label, head.end(), hi):
                if m.is_("present", "historical"):
                    m.assertion = "hypothetical"


def _copied_forward(view: NoteView) -> None:
    """Findings in text copied forward from an earlier encounter belong to that encounter."""
    blocks = _copied_blocks(view)
    for m in view.mentions if blocks else ():
        if any(a <= m.start < b for a, b in blocks) and m.is_("present", "possible"):
            m.assertion = "historical"


def _confirmed_by_pathology(view: NoteView) -> None:
    """"Histology was consistent with osteosarcoma": a pathologist's wording that confirms the
    diagnosis, not a doubt (ConText reads "consistent with" as possible wherever it stands)."""
    rx = _rx()
    for m in view.of("TUMOR"):
        if not m.is_("possible"):
            continue
        s, _ = view.sentence(m.sent)
        window = view.text[s:m.start]
        hit = rx.pathology_confirms.search(window)
        if hit and not rx.not_confirming.search(window, hit.start()):
            m.assertion = "present"


_PRECURSOR = frozenset({"benign_aggressive_bone", "uncertain_behavior_bone"})


def _named_primary(t: Mention) -> bool:
    return t.attr("category") == "primary_malignant_bone" and t.present and t.attr("histology") not in GENERIC_HISTOLOGY


def _without_precursor(view: NoteView, named: list[Mention]) -> list[Mention]:
    """A sarcoma arising in a giant cell tumor or an enchondroma ("osteosarcoma arising in the
    previously treated GCT", "malignant transformation"): the tumor now is the sarcoma, the benign
    lesion it arose in is its past."""
    if not any(t.attr("category") in _PRECURSOR for t in named) or not any(_named_primary(t) for t in named):
        return named
    if not _rx().transformation.search(view.text):
        return named
    return [t for t in named if t.attr("category") not in _PRECURSOR]


# Metastasis words that name no primary ("bone metastasis", "metastatic lesions").
_BARE_METASTASIS = re.compile(r"(?:(?:bone|osseous|skeletal|distant)\s+)?metasta(?:sis|ses|tic)(?:\s+(?:lesions?|disease|deposits?|foci|nodules?))?", re.I)
_LIMB_SITES = _BONE_SITES | SOFT_SITES | {"knee", "hip"}


def _without_spread(view: NoteView, named: list[Mention]) -> list[Mention]:
    """In a note that names a primary bone sarcoma, metastasis words that name no primary, each in
    a clause that names no site of the limb ("bone metastasis at the 4th lumbar vertebra",
    "pulmonary metastases"), are the sarcoma's spread, not the tumor operated on. One metastasis
    placed in the limb ("a lytic metastasis of the right femoral diaphysis") keeps them all."""
    if not any(_named_primary(t) for t in named):
        return named
    mets = [t for t in named if t.attr("category") == "metastatic_bone"]
    if not mets or not all(_BARE_METASTASIS.fullmatch(view.text[t.start:t.end].strip()) for t in mets):
        return named
    for t in mets:
        lo, hi = clause_bounds(view, t.start, t.end, before=80, after=80)
        lo = max(lo, view.text.rfind(":", lo, t.start) + 1)
        if any(x.attr("site") in _LIMB_SITES for x in view.starting_in("SITE", lo, hi)):
            return named
    return [t for t in named if t.attr("category") != "metastatic_bone"]


def build_case(view: NoteView) -> Case:
    """Settle the case of one note."""
    _copied_forward(view)
    _options_listed(view)
    _confirmed_by_pathology(view)
    status, current, historical = _settle_tumor_status(view)
    case = Case(
        operation=Fact("unknown"), amputation_level=Fact(None), tissue=Fact("unknown"),
        tumor_status=status, side=Fact(None), side_conflicts=[],
    )
    named_current = _without_spread(view, _without_precursor(view, [m for m in current if m.label == "TUMOR"]))
    if case.current_tumor and named_current:
        by_name = _tissue_by_named_site(view, named_current)
        settled = _settled_tissue(view, named_current, by_name)
        weight = _category_weights(view, named_current, settled, by_name)
        cat = max(weight, key=lambda k: (weight[k], k == "metastatic_bone"))
        case.category = cat
        in_cat = [t for t in named_current if _adjusted_category(view, t, settled, by_name) == cat]
        confirmed = [t for t in in_cat if t.present]
        in_dx = [t for t in in_cat if t.place == "diagnosis"]
        if in_dx and all(t.is_("possible") for t in in_dx):
            # The diagnosis lines say "suspected": a "consistent with" in the history does not confirm it.
            confirmed = [t for t in confirmed if t.place in ("pathology", "addendum")]
        case.certainty = "confirmed" if confirmed else "uncertain"
        case.tumor = max(confirmed or in_cat, key=_specificity)
        case.histologies = sorted({str(t.attr("histology") or "").lower() for t in confirmed} - {""})
    elif case.current_tumor:
        case.certainty = "uncertain"
    if status.value == "historical" and historical:
        named = [m for m in historical if m.label == "TUMOR"]
        if named:
            case.historical_category = _adjusted_category(view, max(named, key=_specificity))
    case.fracture = any(c.present and not IMPENDING_RE.search(view.text[max(0, c.start - 40):c.end]) for c in view.of("FRACTURE"))
    _settle_site(view, case, current, _site_mentions(view))
    case.bone_resected, bone_ev, case.bone_cut = _bone_resected(view, case.site)
    if case.site in SOFT_SITES and case.bone_cut:
        # A soft-tissue sarcoma resected with the bone it invades (a bone cut or a bone
        # reconstruction says so; a specimen's length does not): the site is that bone.
        _settle_site(view, case, current, _site_mentions(view), bone_cut=True)
    case.tissue = _settle_tissue(view, case)
    case.operation, case.amputation_level = _settle_operation(view, case)
    if case.operation.value == "radical_resection" and case.tissue.value == "soft_tissue" and case.bone_cut:
        case.tissue = Fact("soft_tissue_invading_bone", case.tissue.evidence + bone_ev[:1])
    case.side, case.side_conflicts = _settle_side(view, case)
    return case
