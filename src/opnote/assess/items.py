"""The assessors of the 27365 (and 27645) checklist items; ``docs/items.md`` is their definition."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..case import _TALK_PLACES, Span, _after_in, _irrealis, _past
from ..mentions import NOT_PLANNING, Mention, NoteView
from .base import Assessment, Context, assessor

DEFINITE_FS = {"negative", "positive", "close", "atypical"}
TUMOR_OPERATIONS = {"radical_resection", "intralesional", "soft_tissue_resection", "amputation", "disarticulation", "unknown"}
BENIGNISH = {"benign_aggressive_bone", "uncertain_behavior_bone"}
# Places whose words describe this operation (not the consent, the history or the plan).
OPERATIVE_PLACES = {"diagnosis", "procedure", "narrative", "specimen", "pathology", "implants", "addendum", "marking"}
NO_TUMOR = "No current tumor is documented (the note describes {what}), so there is nothing to document for it."

# A sentence of a discussion with the patient. (Not "would", "decided" or "preferred" alone: a tumor
# board's reasoning in the indications uses them without anyone being told anything.)
DISCUSSION_RE = re.compile(
    r"\b(?:discuss(?:ed|ion|ions|ing)?|counsel(?:l)?(?:ed|ing)|explain(?:ed|ing)?|review(?:ed|ing)?(?=[^.;:\n]{0,60}\bwith\b)|went over|talk(?:s|ed)?|spoke|conversations?|inform(?:ed)?|"
    r"understand(?:s|ing)?|understood|options?|alternatives?|elect(?:ed|s)?|chose|choose|opted|agree(?:d|s)?|wish(?:ed|es)?|"
    r"consent(?:ed|s)?|aware|acknowledg\w*|accept(?:ed|s)?|expressed)\b",
    re.I,
)
COMPONENT_RE = re.compile(
    r"\b(?:\d+(?:\.\d+)?\s*(?:mm|cm|millimeters?|centimeters?|ml|cc|milliliters?)\b|size\s+\d|pack(?:ed|ing)|fill(?:ed|ing)|stems?\b|body segments?|segments?\b|bushings?|polyethylene|poly\b|"
    r"(?:tibial|femoral|patellar) (?:component|tray|baseplate|base plate|bearing|insert)|baseplates?|collars?|hinge[ds]?\b|axle|yoke|"
    r"cement(?:ed|less)?\b|press[- ]?fit|uncemented|screws?\b|plates?\b|plated|plating|nails?\b|nailing|rods?\b|k-?wires?|cables?|"
    r"(?:fixed|secured|stabili[sz]ed|held|fixated|anchored) (?:with|by|using)|fixation|locking|bicortical|compression|"
    r"sutur(?:ed|es)|inset|rotated|transposed|advanced|mesh|tendon|reattach\w*|repaired|trunnion|taper|liner|bipolar|"
    r"head\b|lot\b|catalog|ref\b|reference number|manufacturer|trial(?:ed|s)?|impacted|assembled|vascular (?:anastomos\w+|pedicle)|anastomos\w+|"
    r"pedicle|peroneal (?:artery|vessels)|graft (?:was )?(?:fixed|secured|plated|contoured|cut|shaped|fashioned)|docking|docked)",
    re.I,
)
BLANK_RECORD_RE = re.compile(r"\b(?:per (?:the )?(?:or|operating room|implant|intraoperative) (?:record|log|sheet)|see (?:the )?(?:implant|or) (?:record|log|sheet)|in (?:the|a) (?:usual|standard|routine|typical) (?:fashion|manner|way)|as per (?:the )?(?:implant )?(?:log|record))\b", re.I)
# Hardware or cement of an earlier operation taken out ("with removal of prior cement", "the old
# plate and screws were removed"): no part of this reconstruction.
_OLD_HARDWARE = re.compile(
    r"\b(?:(?:removal|removing|extraction) of (?:the )?(?:(?:prior|previous|old|existing|retained|index)\s+)?|(?:prior|previous|old|existing|retained)\s+)"
    r"(?:cement(?: mantle)?|bone cement|pmma|hardware|plates?(?: and screws)?|nails?|rods?|screws?|implants?)\b",
    re.I,
)


def _ev(ms: Iterable[Mention], limit: int = 6) -> list[Span]:
    out: list[Span] = []
    for m in ms:
        sp = (m.start, m.end)
        if sp not in out:
            out.append(sp)
        if len(out) >= limit:
            break
    return out


def _what(ctx: Context) -> str:
    op = ctx.case.operation.value or "unknown"
    status = ctx.case.tumor_status.value
    if status == "historical":
        return "a tumor treated in the past, with none now"
    return {"arthroplasty": "an arthroplasty", "revision": "a revision", "other": "no tumor operation"}.get(op, "no tumor")


def _operative(m: Mention) -> bool:
    return m.place in OPERATIVE_PLACES


# ----------------------------------------------------------------------------- tumor_location
@assessor("tumor_location")
def tumor_location(ctx: Context) -> Assessment:
    case, cl = ctx.case, ctx.checklist
    if case.side_conflicts:
        return _side_conflict(ctx)
    if not case.current_tumor:
        return Assessment("missing", NO_TUMOR.format(what=_what(ctx)))
    site, side = case.site, case.laterality
    ev = _ev(case.site_evidence)
    where = (site or "").replace("_", " ")
    if site and site in cl.sites and side:
        return Assessment("met", f"Tumor site ({where}) and side ({side}) are documented.", ev)
    if site and site in cl.sites:
        return Assessment("partial", f"Tumor site ({where}) is documented but the side is not.", ev)
    if side:
        outside = f" ({where} is outside the {cl.code} region)" if site else ""
        return Assessment("partial", f"The side ({side}) is documented but not a tumor site in the {cl.code} region{outside}.", ev or case.side.evidence[:2])
    return Assessment("missing", "No tumor site and side were found.")


def _side_conflict(ctx: Context) -> Assessment:
    case = ctx.case
    other = case.side_conflicts
    places = sorted({o.place for o in other})
    value = case.side.value or "?"
    msg = (f"The note gives the {value} side for the tumor, but the {other[0].value} side in the "
           f"{' and '.join(places)}; the side must be consistent (or the other limb named as such).")
    ev = case.side.evidence[:2] + [o.span for o in other[:3]]
    return Assessment("conflict", msg, ev)


# ----------------------------------------------------------------------------- margin_intent
@assessor("margin_intent")
def margin_intent(ctx: Context) -> Assessment:
    if not ctx.case.current_tumor:
        return Assessment("missing", NO_TUMOR.format(what=_what(ctx)))
    margins = [m for m in ctx.view.of("MARGIN") if _operative(m) and _this_operation(ctx, m)]
    wide = [m for m in margins if m.attr("intent") in ("radical", "wide")]
    lesser = [m for m in margins if m.attr("intent") in ("marginal", "intralesional")]
    if wide:
        intents = sorted({str(m.attr("intent")) for m in wide})
        return Assessment("met", f"Margin intent documented: {', '.join(intents)}.", _ev(wide))
    if lesser:
        intents = sorted({str(m.attr("intent")) for m in lesser})
        return Assessment("partial", f"Only {' and '.join(intents)} margins are documented; a radical resection needs a radical or wide margin.", _ev(lesser))
    return Assessment("missing", "No margin intent (radical, wide, en bloc) was found for this operation.")


def _this_operation(ctx: Context, m: Mention) -> bool:
    return m.present  # the case model has re-asserted findings of earlier operations and options


# ----------------------------------------------------------------------------- resection_dimensions
@assessor("resection_dimensions")
def resection_dimensions(ctx: Context) -> Assessment:
    if not ctx.case.current_tumor:
        return Assessment("missing", NO_TUMOR.format(what=_what(ctx)))
    dims = [m for m in ctx.view.of("DIMENSION") if m.present and m.place not in ("consent", "plan", "implants")]
    good = [m for m in dims if m.attr("measures") in ("resection_length", "specimen", "margin_distance")]
    # A tumor's size is measured on imaging, often dated before the operation: still its size; and
    # still its size in a sentence about what it risks ("a 4 cm lytic lesion, impending fracture").
    tumor = [
        m for m in ctx.view.of("DIMENSION")
        if m.attr("measures") == "tumor" and m.is_("present", "historical", "hypothetical") and m.place not in ("consent", "plan", "implants")
    ]
    if good:
        return Assessment("met", "Resection measurements are documented.", _ev(good))
    if tumor:
        return Assessment("partial", "Only the tumor size is given; the resection length, specimen size or margin distance is not.", _ev(tumor))
    return Assessment("missing", "No resection length, specimen size or margin distance was found.")


# ----------------------------------------------------------------------------- frozen_section
@assessor("frozen_section")
def frozen_section(ctx: Context) -> Assessment:
    fs = [m for m in ctx.view.of("FROZEN") if m.present and m.place not in ("consent", "plan")]
    definite = [m for m in fs if m.attr("result") in DEFINITE_FS]
    reasoned = [m for m in fs if m.attr("result") == "not_performed" and m.attr("reason")]
    if definite:
        res = sorted({str(m.attr("result")) for m in definite})
        return Assessment("met", f"Frozen section documented with its result ({', '.join(res)}).", _ev(definite))
    if reasoned:
        return Assessment("met", "The note states that no frozen section was sent, with the reason.", _ev(reasoned))
    if fs:
        res = sorted({str(m.attr("result") or "unknown") for m in fs})
        what = {"pending": "its result is pending", "unknown": "no result is given", "not_performed": "it was not sent and no reason is given"}
        return Assessment("partial", "A frozen section is mentioned but " + " / ".join(what.get(x, x) for x in res) + ".", _ev(fs))
    blank = ctx.view.of("BLANK_FROZEN")
    msg = "The frozen-section field is left blank." if blank else "No intraoperative frozen section (or reason for none) was found."
    return Assessment("missing", msg)


# ----------------------------------------------------------------------------- preop_imaging
@assessor("preop_imaging")
def preop_imaging(ctx: Context) -> Assessment:
    imaging = [m for m in ctx.view.of("IMAGING") if m.is_("present", "historical") and m.place not in ("plan", "consent") and m.attr("timing") not in NOT_PLANNING]
    generic = [m for m in ctx.view.of("IMAGING_GENERIC") if m.is_("present", "historical") and m.place not in ("plan",)]
    if imaging:
        mods = sorted({str(m.attr("modality")) for m in imaging})
        return Assessment("met", f"Preoperative imaging named: {', '.join(x.replace('_', ' ') for x in mods)}.", _ev(imaging))
    if generic:
        return Assessment("partial", "Imaging is referred to but no modality (MRI, CT, bone scan, PET, radiographs) is named.", _ev(generic))
    return Assessment("missing", "No preoperative imaging was found.")


# ----------------------------------------------------------------------------- pathology
@assessor("pathology")
def pathology(ctx: Context) -> Assessment:
    case = ctx.case
    if not case.current_tumor:
        return Assessment("missing", NO_TUMOR.format(what=_what(ctx)))
    tumor = case.tumor
    histology = tumor.attr("histology") if (tumor is not None and case.certainty == "confirmed") else None
    # Margins reported for an earlier operation ("final pathology from that procedure showed negative
    # margins") say nothing about this one.
    status = [m for m in ctx.view.of("MARGIN_STATUS") if m.present and not _past(ctx.view, m)]
    pending = [m for m in ctx.view.of("PATH_PENDING") if m.is_("present", "hypothetical") and m.place != "consent" and not _past(ctx.view, m)]
    hist_ev = [tumor] if tumor is not None else []
    if not pending:
        pending = _specimen_sent(ctx)
    if histology and (status or pending):
        what = "margin status" if status else "final pathology pending"
        return Assessment("met", f"Histology ({histology}) and {what} are documented.", _ev(hist_ev + status + pending))
    if histology:
        return Assessment("partial", f"Histology ({histology}) is documented but not the margin status or that final pathology is pending.", _ev(hist_ev))
    if status or pending:
        return Assessment("partial", "Margin status or pending pathology is documented but not a confirmed histology.", _ev(status + pending + hist_ev))
    return Assessment("missing", "Neither a confirmed histology nor a margin status was found.")


SENT_TO_LAB_RE = re.compile(r"\b(?:histo\w*|path\w*|permanents?|lab(?:oratory)?|cytology|margins)\b", re.I)


# A line (or, lines joined, a sentence) of a terse note that sends the specimen to the laboratory
# without a heading: "Specimen to path, perms.", "Specimen -> pathology (margin evaluation)".
SPECIMEN_TO_LAB_RE = re.compile(
    r"(?:^|(?<=[.;] )|(?<=[ \t])(?=(?-i:[A-Z])))[ \t]*(?P<line>(?:the[ \t]+)?specimens?\b[^.\n]{0,30}?(?:->|\u2192|\bto\b|\bsent (?:to|for)\b)[ \t]*(?:the[ \t]+)?(?:histo\w*|path\w*|permanents?|lab\w*)\b)",
    re.I | re.M,
)


def _specimen_sent(ctx: Context) -> list[Mention]:
    """A specimen line that sends the specimen to the laboratory ("curettings - histopathology")."""
    out: list[Mention] = []
    view = ctx.view
    for sec in view.sections:
        if sec.category == "specimens" and SENT_TO_LAB_RE.search(view.text[sec.title_end:sec.end]):
            out += [m for m in view.mentions if sec.title_start <= m.start < sec.end and m.label in ("SITE", "TUMOR", "DIMENSION", "PATH_PENDING")][:1]
            if not out:
                out.append(_specimen_mention(view, sec.title_start, sec.title_end))
    if not out:
        line = SPECIMEN_TO_LAB_RE.search(view.text)
        if line is not None:
            out.append(_specimen_mention(view, line.start("line"), line.end("line")))
    return out


def _specimen_mention(view: NoteView, start: int, end: int) -> Mention:
    return Mention(label="PATH_PENDING", group="path.specimen_line", start=start, end=end, text=view.text[start:end],
                   sent=view.sent_index(start), section="specimens", assertion="present", attrs={})


# ----------------------------------------------------------------------------- diagnosis_code
@assessor("diagnosis_code")
def diagnosis_code(ctx: Context) -> Assessment:
    status, message = ctx.diagnosis_status
    ev = [(e.start, e.end) for e in ctx.diagnosis.evidence] if status != "missing" else []
    return Assessment(status, message, ev)


# ----------------------------------------------------------------------------- reconstruction
@assessor("reconstruction")
def reconstruction(ctx: Context) -> Assessment:
    case, view = ctx.case, ctx.view
    if case.operation.value in ("amputation", "disarticulation"):
        return Assessment("not_applicable", "An amputation: the stump closure is part of it, not a reconstruction.")
    if case.operation.value == "biopsy":
        return Assessment("not_applicable", "A biopsy: nothing is reconstructed.")
    recon = _recon_of_today(ctx)
    if recon is None:
        return Assessment("not_applicable", "No reconstruction is done in this operation.")
    generic = [m for m in view.of("RECON_GENERIC") if m.present and not m.header and m.place in OPERATIVE_PLACES]
    if recon:
        kinds = sorted({str(m.attr("kind") or "internal_fixation") for m in recon})
        named = ", ".join(k.replace("_", " ") for k in kinds)
        if _components_described(ctx, recon) or _fixation_parts_told(ctx):
            return Assessment("met", f"Reconstruction documented with its components: {named}.", _ev(recon, limit=10))
        return Assessment("partial", f"Reconstruction named ({named}) but none of its components (implant sizes, fixation, graft or flap details) is described.", _ev(recon, limit=10))
    if generic and case.operation.value == "soft_tissue_resection":
        # "the vein was reconstructed with a graft": a soft-tissue resection's vessels, not a limb
        # reconstruction of the checklist's kinds
        return Assessment("not_applicable", "No reconstruction of the resected part is described.")
    if generic:
        return Assessment("partial", "Reconstruction is mentioned but its kind and components (implant or graft, fixation, coverage) are not named.", _ev(generic))
    return Assessment("not_applicable", "No reconstruction is described.")


def _recon_of_today(ctx: Context) -> list[Mention] | None:
    """The reconstructions this operation put in (None: an operation that reconstructs nothing)."""
    case, view = ctx.case, ctx.view
    recon = [
        m for m in view.of("RECON")
        if m.present and m.place not in _TALK_PLACES and not _past(view, m, after=_after_in(m))
        and (m.place in ("procedure", "implants") or not _irrealis(view, m)) and not _other_sides(view, m, case.side.value)
    ]
    if case.operation.value == "revision":
        # A revision's reconstruction is the implant it revises: its old name is not "the past".
        recon = [m for m in view.of("RECON") if m.present and m.place not in ("consent", "plan")] or recon
    fixation = _fixation_done(ctx)
    if case.operation.value == "other" and not fixation:
        # A washout or debridement keeps the implant it finds; only new coverage is reconstruction.
        recon = [m for m in recon if m.attr("kind") == "muscle_flap"]
        return recon or None
    # A fixation without resection ("prophylactic cephalomedullary nailing") is itself the
    # reconstruction: its device holds the bone (an internal fixation).
    return recon or fixation


def _fixation_done(ctx: Context) -> list[Mention]:
    """The fixation this operation is, when it is one (a prophylactic or fracture fixation): its
    procedure's words where the operation is told."""
    if ctx.case.operation.value not in ("prophylactic_fixation", "other"):
        return []
    return [
        m for m in ctx.view.of("PROCEDURE")
        if m.present and m.place in ("procedure", "narrative") and m.attr("procedure") in ("prophylactic_fixation", "fracture_fixation")
    ]


PLACED_RE = re.compile(r"\b(?:impacted|packed|filled|inserted|implanted|cemented|press[- ]?fit|fixed|secured|plated|assembled|seated|docked|reduced|inset|sutured|tensioned|harvested|rotated|transposed|advanced|raised|mobili[sz]ed|transferred)\b", re.I)
PART_RE = re.compile(r"\b(?:graft|bone|allograft|autograft|implant|prosthesis|component|stem|plate|nail|cement|segment|spacer|flap|body|bushing|construct|tendon|mesh)s?\b", re.I)


_BONE_SEGMENT = re.compile(
    r"\bsegments?(?: of)? (?:the )?(?:(?:left|right|[LR]|distal|proximal|mid|middle)\s+)*(?:femur|femoral|tibia|tibial|bone|diaphysis|shaft)\b", re.I
)


# "clear tendon margins", "the bone margin": a margin of what was removed, not a part put in.
_MARGIN_OF = re.compile(r"\b(?:tendon|bone|soft[- ]tissue|marrow|cortical|vascular|skin|muscle|nerve)\s+margins?\b", re.I)


def _removed_dimensions(view: NoteView) -> list[Span]:
    """Lengths of bone or tumor: in a sentence with a reconstruction ("a 16 cm segment of the femur;
    reconstruction with an intercalary prosthesis") they measure what was removed, not a part of
    what was put in."""
    return [(d.start, d.end) for d in view.of("DIMENSION") if d.attr("measures") in ("resection_length", "tumor", "specimen", "margin_distance")]


def _blank(window: str, offset: int, spans: Sequence[Span]) -> str:
    """``window`` (which starts at ``offset`` in the note) with ``spans`` inside it blanked out."""
    chars = list(window)
    for a, b in spans:
        if offset <= a and b <= offset + len(window):
            chars[a - offset:b - offset] = " " * (b - a)
    return "".join(chars)


# A side word just before an implant's name, in its noun phrase ("because of the right hip arthroplasty").
_SIDE_BEFORE = re.compile(r"\b(right|left)(?:[ \t]+(?:hip|knee|femoral|tibial|total|primary|cemented|uncemented))*[ \t]+\Z", re.I)


def _other_sides(view: NoteView, m: Mention, side: str | None) -> bool:
    """Whether ``m`` names the implant of the other limb ("the right hip arthroplasty" in a left case)."""
    if side not in ("right", "left"):
        return False
    said = _SIDE_BEFORE.search(view.text, max(0, m.start - 40), m.start)
    return said is not None and said.group(1).lower() != side


# The parts of a fixation device told where the operation is: its size, its locking, its screws.
FIXATION_PARTS_RE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:x|\u00d7|by)\s*\d+\s*(?:mm|millimet\w*)\b|\binterlock\w*|\b(?:lag|cephalic|recon(?:struction)?|locking|interlocking|cortical|proximal|distal)\s+screws?\b"
    r"|\bhelical blade\b|\b(?:statically|dynamically) locked\b|\blocked (?:proximally|distally)\b",
    re.I,
)


def _fixation_parts_told(ctx: Context) -> bool:
    """A fixation without resection (a prophylactic nailing): its device's parts told anywhere the
    operation is ("Nail 11 x 380 mm, 2 recon screws into head/neck, 2 distal interlocks")."""
    if ctx.case.operation.value != "prophylactic_fixation" and not _fixation_done(ctx):
        return False
    return any(_in_operative_narrative(ctx, h.start()) for h in FIXATION_PARTS_RE.finditer(ctx.view.text))


def _components_described(ctx: Context, recon: Sequence[Mention]) -> bool:
    view = ctx.view
    text = view.text
    if view.sentences and not BLANK_RECORD_RE.search(text):
        # The narrative places a named part: "bone harvested from the iliac crest and impacted into
        # the cavity", "the stem was cemented".
        # Only the sentences with a placing word are read (one search of the note finds them).
        tried: set[int] = set()
        for pm in PLACED_RE.finditer(text):
            k = view.sent_index(pm.start())
            s, e = view.sentence(k)
            if k in tried or not (s <= pm.start() and pm.end() <= e):
                continue
            tried.add(k)
            if PART_RE.search(text, s, e) and _in_operative_narrative(ctx, s):
                return True
    for sec in view.sections:
        if sec.category == "implants":
            body = text[sec.title_end:sec.end]
            if COMPONENT_RE.search(body) and not BLANK_RECORD_RE.search(body):
                return True
    removed = _removed_dimensions(view)
    for m in recon:
        s, end = _recon_window(view, m)
        window = text[s:end]
        stripped = _OLD_HARDWARE.sub(" ", _MARGIN_OF.sub(" ", _BONE_SEGMENT.sub(" ", _blank(window, s, removed).replace(m.text, " "))))
        if COMPONENT_RE.search(stripped) and not (BLANK_RECORD_RE.search(window) and not re.search(r"\d", stripped)):
            return True
    return False


def _recon_window(view: NoteView, m: Mention) -> Span:
    """Where a reconstruction's components may be told: its sentence and the next, unless the next
    stands under another heading or the sentence itself defers to a record ("implanted in the
    usual fashion; implants per OR record")."""
    s, e = view.sentence(m.sent)
    _, e2 = view.sentence(m.sent + 1)
    end = max(e, e2)
    where = view.section_at(m.start)
    if where is not None and e <= where.end < end:
        end = where.end
    if BLANK_RECORD_RE.search(view.text, s, e):
        end = e
    # A run-on sentence of a whole operation, in commas: only the words near the reconstruction.
    return max(s, m.start - _RECON_REACH), min(end, m.end + _RECON_REACH)


#: How far from a reconstruction's words, inside its sentences, its components may be named.
_RECON_REACH = 300


def _in_operative_narrative(ctx: Context, char: int) -> bool:
    from ..mentions import place_of

    sec = ctx.view.section_at(char)
    return place_of(sec.category if sec else None) in ("narrative", "procedure", "implants")


# ----------------------------------------------------------------------------- informed_consent
@assessor("informed_consent")
def informed_consent(ctx: Context) -> Assessment:
    view, case = ctx.view, ctx.case
    consents = [m for m in view.of("CONSENT") if m.present]
    if not consents:
        return Assessment("missing", "No informed consent was found.")
    best: tuple[tuple[int, int], Mention, list[Mention], list[Mention]] | None = None
    for c in consents:
        onc = _discussed(ctx, c, "ONCOLOGIC", "TUMOR")  # "OS reviewed": a named histology is the tumor
        limb = _discussed(ctx, c, "AMPUTATION_DISCUSSION")
        score = (bool(onc) + bool(limb), -c.start)
        if best is None or score > best[0]:
            best = (score, c, onc, limb)
    assert best is not None
    _, c, onc, limb = best
    waived = case.category in BENIGNISH or case.tumor_status.value != "current"
    if case.tumor_status.value != "current" or case.operation.value not in TUMOR_OPERATIONS:
        onc = []  # no tumor is removed in this operation: its consent has no oncologic purpose to name
    elif limb and not onc:
        # Limb salvage against amputation is an oncologic discussion; the tumor it is about is
        # named in the same paragraph (the indications the consent closes).
        onc = _same_paragraph(ctx, c, "ONCOLOGIC")
    ev = _ev([c] + onc[:2] + limb[:2])
    if onc and (limb or waived):
        tail = " and limb salvage versus amputation." if limb else " (no malignant tumor: the amputation discussion is not required)."
        return Assessment("met", "Consent documents the oncologic nature of the surgery" + tail, ev)
    lacking = []
    if not onc:
        lacking.append("the oncologic purpose of this operation")
    if not limb and not waived:
        lacking.append("limb salvage versus amputation")
    return Assessment("partial", "Consent is documented but does not name " + " or ".join(lacking) + " (a signature or generic risks, benefits and alternatives is not enough).", ev)


DECLINED_RE = re.compile(
    r"\b(?:declin(?:ed|es|ing)|refus(?:ed|es|ing)|rejected|decided against|opted against|did not wish|does not wish"
    # set aside after it was talked through: "amputation discussed as the alternative, not needed"
    r"|not (?:needed|recommended|advised|indicated|necessary|required|favou?red|preferred|chosen)"
    r"|(?:discussed|offered|presented|considered|reviewed|explained) as (?:an|the) (?:other )?(?:alternative|option))\b",
    re.I,
)


def _same_paragraph(ctx: Context, consent: Mention, label: str) -> list[Mention]:
    text = ctx.view.text
    start = text.rfind("\n\n", 0, consent.start)
    end = text.find("\n\n", consent.end)
    start, end = (0 if start < 0 else start), (len(text) if end < 0 else end)
    return [m for m in ctx.view.of(label) if start <= m.start < end and not m.is_("negated", "hypothetical")]


def _discussed(ctx: Context, consent: Mention, label: str, *more: str) -> list[Mention]:
    """Cues of ``label`` (or of ``more`` labels) in the consent discussion: the consent's own
    sentence and section, or nearby sentences that discuss something with the patient."""
    view = ctx.view
    out: list[Mention] = []
    sents = set(range(consent.sent - 4, consent.sent + 3))
    sec = view.section_at(consent.start) if consent.section == "consent" else None
    if sec is not None:  # a consent section is read to its end, however many sentences it holds,
        # and not back across the blank line before its heading: that paragraph is another matter
        first = view.sent_index(sec.title_end)
        sents = {k for k in sents if k >= first or "\n\n" not in view.text[view.sentence(k)[1]:sec.title_end]}
        sents |= set(range(first, view.sent_index(max(sec.title_end, sec.end - 1)) + 1))
    for k in sorted(sents):
        # An amputation the patient declined was discussed: "amputation ... was offered and declined".
        declined = label == "AMPUTATION_DISCUSSION" and DECLINED_RE.search(view.sentence_text(k)) is not None
        cues = [x for x in view.in_sent(k, label, *more) if not x.is_("negated") or declined]
        if not cues:
            continue
        same_section = consent.section is not None and consent.section == cues[0].section and consent.section == "consent"
        if k == consent.sent or same_section or DISCUSSION_RE.search(view.sentence_text(k)):
            if k != consent.sent and not same_section and view.sentence_text(k).count("\n\n"):
                continue
            out.extend(cues)
    return out
