"""Behavioral tests of the checker (the CheckList method of Ribeiro et al., ACL 2020).

Every gold note is rewritten in ways that must not change its judgment (layout, case, spelling,
dictation, order of independent sections, text appended) and in ways that must change exactly
named parts of it (the side flipped in the diagnosis line, the procedure line replaced by an
amputation, a curettage or a biopsy, the consent reduced to boilerplate, the resection length
removed, the frozen section pending or deferred, the tumor moved ten years into the past). The
checker's answer on the original note is the reference: an invariance rewrite must give the same
verdict and items, a directional one the same with the named changes. ``opnote evaluate DIR
--perturb`` reports, per rewrite, how many notes behave as they must.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import Report

Expect = Callable[[dict[str, Any]], dict[str, Any] | None]
HEADING_LINE = re.compile(r"^(?P<indent>[ \t]*)(?P<head>[A-Z][A-Z0-9 /&()'-]{2,48}?)[ \t]*:[ \t]*(?P<rest>.*)$", re.M)


@dataclass
class Rewrite:
    """One rewrite: a text function (None when it does not apply) and what it must change."""

    name: str
    kind: str  # "invariance" or "directional"
    apply: Callable[[str, dict[str, Any]], str | None]
    expect: Expect = field(default=lambda pred: pred)
    what: str = ""


def _answer(report: Report) -> dict[str, Any]:
    return {
        "verdict": report.verdict,
        "items": {i.id: i.status for i in report.checklist},
        "operation": report.case.operation.value,
        "tumor_status": report.case.tumor_status.value,
        "side_conflict": bool(report.case.side.conflicts),
    }


# ----------------------------------------------------------------------------- label-preserving
def _no_line_breaks(text: str, gold: dict[str, Any]) -> str:
    return re.sub(r"[ \t]*\r?\n[ \t]*", " ", text).strip() + "\n"


def _crlf(text: str, gold: dict[str, Any]) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _double_spaces(text: str, gold: dict[str, Any]) -> str:
    return text.replace(" ", "  ")


def _tabs(text: str, gold: dict[str, Any]) -> str:
    out = re.sub(r"([:,]) ", "\\1\t", text)
    return re.sub(r"^", "\t", out, flags=re.M)


def _nbsp(text: str, gold: dict[str, Any]) -> str:
    words = text.split(" ")
    return "".join(w + ("\u00a0" if i % 2 == 0 else " ") for i, w in enumerate(words[:-1])) + words[-1]


def _lower(text: str, gold: dict[str, Any]) -> str:
    return text.lower()


def _upper(text: str, gold: dict[str, Any]) -> str:
    return text.upper()


def _headings(text: str) -> list[re.Match[str]]:
    return [m for m in HEADING_LINE.finditer(text) if len(m.group("head").split()) <= 5]


def _title_case_no_colon(text: str, gold: dict[str, Any]) -> str | None:
    hs = _headings(text)
    if not hs:
        return None

    def title(m: re.Match[str]) -> str:
        head = " ".join(w.capitalize() for w in m.group("head").split())
        rest = m.group("rest").strip()
        return f"{m.group('indent')}{head}" + (f"\n{rest}" if rest else "")

    return HEADING_LINE.sub(lambda m: title(m) if len(m.group("head").split()) <= 5 else m.group(0), text)


def _numbered(text: str, gold: dict[str, Any], roman: bool = False) -> str | None:
    hs = _headings(text)
    if not hs:
        return None
    numerals = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX"]
    counter = iter(range(1, 1000))

    def number(m: re.Match[str]) -> str:
        if len(m.group("head").split()) > 5:
            return m.group(0)
        n = next(counter)
        label = numerals[n - 1] if roman and n <= len(numerals) else str(n)
        return f"{m.group('indent')}{label}. {m.group('head')}: {m.group('rest')}".rstrip() + ("" if m.group("rest") else "")

    return HEADING_LINE.sub(number, text)


def _roman(text: str, gold: dict[str, Any]) -> str | None:
    return _numbered(text, gold, roman=True)


def _spoken_headings(text: str, gold: dict[str, Any]) -> str | None:
    if not _headings(text):
        return None
    return HEADING_LINE.sub(lambda m: f"{m.group('indent')}{m.group('head').lower()} colon {m.group('rest')}".rstrip(), text)


BRITISH = [
    ("tumor", "tumour"), ("hemostasis", "haemostasis"), ("hematoma", "haematoma"), ("anesthesia", "anaesthesia"),
    ("anesthetic", "anaesthetic"), ("edema", "oedema"), ("centimeter", "centimetre"), ("millimeter", "millimetre"),
    ("pediatric", "paediatric"), ("orthopedic", "orthopaedic"), ("labeled", "labelled"), ("hemorrhage", "haemorrhage"),
    ("mobilized", "mobilised"), ("stabilized", "stabilised"), ("localized", "localised"), ("center", "centre"),
]


def _british(text: str, gold: dict[str, Any]) -> str | None:
    out = text
    for us, uk in BRITISH:
        out = re.sub(rf"\b{us}", functools.partial(_to_british, us=us, uk=uk), out, flags=re.I)
    return out if out != text else None


def _to_british(m: re.Match[str], us: str, uk: str) -> str:
    """The British spelling of the word ``m`` matched (``us`` and what follows it), in its case."""
    word = m.group(0)
    return _case_like(word, uk + word[len(us):] if len(word) > len(us) else uk)


def _like_match(m: re.Match[str], repl: str) -> str:
    return _case_like(m.group(0), repl)


def _case_like(src: str, repl: str) -> str:
    if src.isupper():
        return repl.upper()
    if src[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


MODALITIES = [(r"\bMRI\b", "magnetic resonance imaging"), (r"\bCT\b(?! chest)", "computed tomography"), (r"\bPET\b", "positron emission tomography"), (r"\bx-rays?\b", "plain radiographs")]
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve",
                13: "thirteen", 14: "fourteen", 15: "fifteen", 16: "sixteen", 17: "seventeen", 18: "eighteen", 19: "nineteen", 20: "twenty"}


def _spelled_out(text: str, gold: dict[str, Any]) -> str | None:
    out = text
    for rx, words in MODALITIES:
        out = re.sub(rx, words, out)
    out = re.sub(r"(?<![x×*] )(?<!by )(?<![\d.])\b(\d{1,2}) ?(cm|mm)\b", lambda m: f"{NUMBER_WORDS.get(int(m.group(1)), m.group(1))} {'centimeters' if m.group(2) == 'cm' else 'millimeters'}" if int(m.group(1)) in NUMBER_WORDS else m.group(0), out)
    return out if out != text else None


HOMOPHONES = [(r"\ben bloc\b", "in block"), (r"\bosteosarcoma\b", "osteo sarcoma"), (r"\bMRI\b", "m r i"), (r"\bCT scan\b", "cat scan"),
              (r"\bfrozen section\b", "frozen sextion"), (r"\bmargins were\b", "margins where"), (r"\bdistal femur\b", "distal femer"),
              (r"\bchondrosarcoma\b", "condo sarcoma")]


def _homophones(text: str, gold: dict[str, Any]) -> str | None:
    out = text
    for rx, words in HOMOPHONES:
        out = re.sub(rx, functools.partial(_like_match, repl=words), out, flags=re.I)
    return out if out != text else None


MOVABLE = re.compile(r"^\s*(?:ESTIMATED BLOOD LOSS|EBL|BLOOD LOSS|DRAINS?|COMPLICATIONS?|DISPOSITION|ANESTHESIA|TOURNIQUET(?: TIME)?|FLUIDS|CONDITION|SPECIMENS?|IMPLANTS?)\s*:", re.I)


def _reordered(text: str, gold: dict[str, Any]) -> str | None:
    blocks = re.split(r"(\n[ \t]*\n)", text)
    idx = [i for i in range(0, len(blocks), 2) if MOVABLE.match(blocks[i])]
    if len(idx) < 2:
        return None
    moved = [blocks[i] for i in idx][::-1]
    for i, b in zip(idx, moved, strict=True):
        blocks[i] = b
    out = "".join(blocks)
    return out if out != text else None


ATTESTATION = ("\n\nATTESTATION: I was present and scrubbed for the entire procedure, including the key and critical portions, "
               "and I agree with the findings and the plan as documented above. Electronically signed.\n")


def _attestation(text: str, gold: dict[str, Any]) -> str:
    return text.rstrip("\n") + ATTESTATION


def _pathology_appended(text: str, gold: dict[str, Any]) -> str | None:
    tumor = (gold.get("attributes") or {}).get("tumor_type")
    if gold.get("checklist", {}).get("pathology") != "met" or not tumor:
        return None
    return text.rstrip("\n") + f"\n\nPRIOR BIOPSY PATHOLOGY (reviewed before surgery): core needle biopsy of the lesion showed {tumor}.\n"


def _typography(text: str, gold: dict[str, Any]) -> str | None:
    out = re.sub(r"(?<=\w)-(?=\w)", "\u2011", text)
    out = out.replace(" - ", " \u2014 ").replace("'", "\u2019")
    out = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", out)
    return out if out != text else None


def _bullets(text: str, gold: dict[str, Any]) -> str | None:
    out = re.sub(r"^(\s*)- ", "\\1\u2022 ", text, flags=re.M)
    out = re.sub(r"^(\s*)(\d{1,2})\. ", "\\1\\2) ", out, flags=re.M)
    return out if out != text else None


# A side before the part it names, written short ("Rt. distal femur", "Lt. knee").
SIDE_BEFORE_PART = re.compile(
    r"\b(right|left)\b(?=[ \t]+(?:distal|proximal|mid|femur|femoral|knee|thigh|leg|lower|hip|tibia|tibial|patella|fibula|limb|side|groin)\b)", re.I)


def _sides_abbreviated(text: str, gold: dict[str, Any]) -> str | None:
    out = SIDE_BEFORE_PART.sub(lambda m: ("RT." if m.group(1).isupper() else "Rt.") if m.group(1).lower() == "right" else ("LT." if m.group(1).isupper() else "Lt."), text)
    return out if out != text else None


# ----------------------------------------------------------------------------- label-changing
SIDES = {"right": "left", "left": "right", "Right": "Left", "Left": "Right", "RIGHT": "LEFT", "LEFT": "RIGHT"}
# A diagnosis line's value: on the heading's line, or on the next line when the heading stands alone.
DX_LINE = re.compile(r"^(?P<head>[ \t]*(?:pre-?\s?op(?:erative)?\.?\s+(?:diagnosis|dx)|post-?\s?op(?:erative)?\.?\s+(?:diagnosis|dx)|diagnosis|dx)\s*:)[ \t]*(?:\n[ \t]*)?(?P<rest>[^\n]*)$", re.I | re.M)
PROC_LINE = re.compile(r"^(?P<head>[ \t]*(?:procedures?(?:\(s\))?(?: performed)?|operations?(?:\(s\))?(?: performed)?|name of (?:procedure|operation)|title of (?:procedure|operation)|surgical procedures?)\s*:)[ \t]*(?P<rest>[^\n]*(?:\n(?![ \t]*\n)(?![ \t]*[A-Za-z][A-Za-z /()-]{2,40}:)[^\n]*)*)", re.I | re.M)


_NAMES_OPERATION = re.compile(r"\b(?:resect\w*|excis\w*|amputat\w*|reconstruct\w*|replacement|curett\w*|osteotom\w*|biopsy|arthroplasty|revision|fixation|nailing)\b", re.I)


def _procedure_lines(text: str) -> list[re.Match[str]]:
    """The procedure lines: procedure headings whose value names an operation, not a narrative that
    starts "Supine, ...". A note can hold two (a brief operative note above the full report)."""
    found = [m for m in PROC_LINE.finditer(text) if _NAMES_OPERATION.search(m.group("rest")[:300])]
    # after the first, only a line of its own (not a narrative dictated under "Procedure:")
    return found[:1] + [m for m in found[1:] if len(m.group("rest")) <= 250 and "\n" not in m.group("rest").strip()]


def _flip_dx_side(text: str, gold: dict[str, Any]) -> str | None:
    m = DX_LINE.search(text)
    if not m or not (gold.get("case") or {}).get("side") or not re.search(r"\b(?:right|left)\b", m.group("rest"), re.I):
        return None
    rest = re.sub(r"\b(right|left|Right|Left|RIGHT|LEFT)\b", lambda x: SIDES[x.group(1)], m.group("rest"))
    return text[: m.start("rest")] + rest + text[m.end("rest"):]


def _side_expect(pred: dict[str, Any]) -> dict[str, Any]:
    out = {**pred, "items": dict(pred["items"]), "side_conflict": True, "verdict": "not_supported"}
    out["items"]["tumor_location"] = "conflict"
    return out


def _replace_procedure(new: str) -> Callable[[str, dict[str, Any]], str | None]:
    def apply(text: str, gold: dict[str, Any]) -> str | None:
        lines = _procedure_lines(text)
        side = (gold.get("case") or {}).get("side")
        site = ((gold.get("attributes") or {}).get("site") or "femur").replace("_", " ")
        if not lines or not side or site not in ("distal femur", "proximal femur", "femoral shaft", "femur"):
            return None
        # every procedure line: a note whose brief note and full report name two operations
        # contradicts itself, and is not the rewrite this is
        line = new.format(side=side, Side=side.capitalize(), site=site)
        for m in reversed(lines):
            text = text[: m.start("rest")] + line + text[m.end("rest"):]
        return text

    return apply


def _operation_expect(op: str, items: dict[str, str] | None = None) -> Expect:
    """A radical resection whose procedure line now names another operation: the operation and the
    verdict change, the named items change, and the margin may lose the words the line carried."""

    def expect(pred: dict[str, Any]) -> dict[str, Any] | None:
        if pred["operation"] != "radical_resection" or pred["tumor_status"] != "current":
            return None  # only a tumor resection can be turned into another operation
        out = {**pred, "items": dict(pred["items"]), "operation": op, "verdict": "not_supported"}
        for item, status in (items or {}).items():
            if out["items"].get(item) in ("met", "partial"):
                out["items"][item] = status
        out["items"]["margin_intent"] = (pred["items"]["margin_intent"], "partial", "missing")
        if op != "amputation":
            # the line replaced may have named the reconstruction ("... with a distal femoral replacement")
            out["items"]["reconstruction"] = (pred["items"]["reconstruction"], "partial", "not_applicable")
        return out

    return expect


# A sentence: up to a full stop, a spoken "period" or a line end, at most 300 characters either way.
_SENT = r"(?:(?!\bperiod\b)[^.\n]){{0,300}}?"
# A sentence of the consent discussion: it speaks of consent, counselling or a discussion, of what
# the patient chose, or of limb salvage against amputation, risks and alternatives. The
# diagnosis and procedure lines are left alone (they name the operation, not the discussion).
CONSENT_SENTENCE = re.compile(_SENT.format() + r"\b(?:consent\w*|discuss\w*|counsel\w*|explain\w*|amputation|limb[- ]salvage|limb[- ]sparing|risks?|benefits?|alternatives?|options?|elected|chose|agreed|opted|wish\w*)\b" + _SENT.format() + r"(?:\.|\bperiod\b|(?=\n)|$)", re.I)
# A consent section: its heading, then everything up to the next heading or blank line.
CONSENT_SECTION = re.compile(r"^[ \t]*(?:informed )?consent(?: and (?:discussion|counsel+ing))?[ \t]*[:\n-][ \t]*(?P<body>(?:(?!\n[ \t]*\n)(?!\n[ \t]*[A-Za-z][A-Za-z /()&-]{2,40}:)[\s\S])*)", re.I | re.M)
BOILERPLATE = "Risks, benefits and alternatives were discussed and consent was obtained."


def _spaced(text: str, at: int, sentence: str) -> str:
    """``sentence`` to put at ``at``: after a space when the text before it does not end in one."""
    return (" " + sentence) if at > 0 and not text[at - 1].isspace() else sentence


def _consent_boilerplate(text: str, gold: dict[str, Any]) -> str | None:
    if gold.get("checklist", {}).get("informed_consent") != "met":
        return None
    sections = [m.span("body") for m in CONSENT_SECTION.finditer(text) if m.group("body").strip()]
    sentences = [m.span() for m in CONSENT_SENTENCE.finditer(text)]
    spans = sorted(sections + [(a, b) for a, b in sentences if not any(a < e and b > s for s, e in sections) and not _on_key_line(text, a)])
    if not spans:
        return None
    out, pos = [], 0
    for i, (s, e) in enumerate(spans):
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(_spaced(text, s, BOILERPLATE) if i == 0 else "")
        pos = e
    out.append(text[pos:])
    return "".join(out)


_KEY_LINE = re.compile(r"^[ \t]*(?:pre-?\s?op\w*|post-?\s?op\w*|procedures?|operations?|diagnos[ie]s|dx|title of \w+|name of \w+)\b[^\n:]{0,30}:", re.I | re.M)


def _on_key_line(text: str, at: int) -> bool:
    """Whether ``at`` lies on a diagnosis, procedure or indications line (which the rewrite leaves)."""
    start = text.rfind("\n", 0, at) + 1
    return bool(_KEY_LINE.match(text, start))


def _status_expect(item: str, status: str) -> Expect:
    def expect(pred: dict[str, Any]) -> dict[str, Any] | None:
        if pred["items"].get(item) != "met":
            return None
        out = {**pred, "items": dict(pred["items"])}
        out["items"][item] = status
        if out["verdict"] == "ready":
            out["verdict"] = "at_risk"
        return out

    return expect


def _remove_lengths(text: str, gold: dict[str, Any]) -> str | None:
    from .components.measurements import find_dimensions
    from .normalize import canonical

    # Found in the canonical text, as the checker reads it ("160mm" split, lines unwrapped), and
    # removed from the note as written.
    canon = canonical(text)
    # Every length but a tumor's size: a number the rules call "other" may still be read as the
    # specimen's length by where it stands ("SPECIMEN: left distal femur, 160 mm").
    dims = [canon.to_original(d["start"], d["end"]) for d in find_dimensions(canon.text) if d["measures"] != "tumor"]
    if not dims or gold.get("checklist", {}).get("resection_dimensions") != "met":
        return None
    out, pos = [], 0
    for start, end in sorted(dims):
        if start < pos:
            continue
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _dims_expect(pred: dict[str, Any]) -> dict[str, Any] | None:
    if pred["items"].get("resection_dimensions") != "met":
        return None
    out = {**pred, "items": dict(pred["items"])}
    out["items"]["resection_dimensions"] = "not_met"  # partial (a tumor size remains) or missing
    if out["verdict"] == "ready":
        out["verdict"] = "at_risk"
    return out


OTHER_ITEMS_RE = re.compile(r"\b(?:wide|radical|en bloc|marginal|intralesional|permanent|final path\w*|histolog\w*|tumou?r[- ]free margins?)\b", re.I)
FROZEN_SENTENCE = re.compile(_SENT.format() + r"\b(?:frozen|intraoperative consult\w*)\b" + _SENT.format() + r"(?:\.|\bperiod\b|(?=\n)|$)", re.I)


def _frozen_to(result: str) -> Callable[[str, dict[str, Any]], str | None]:
    def apply(text: str, gold: dict[str, Any]) -> str | None:
        spans = [m.span() for m in FROZEN_SENTENCE.finditer(text)]
        if any(OTHER_ITEMS_RE.search(text, s, e) for s, e in spans):
            return None  # a sentence that also carries the margin or the pathology cannot be replaced alone
        if not spans or gold.get("checklist", {}).get("frozen_section") != "met":
            return None
        out, pos = [], 0
        for i, (s, e) in enumerate(spans):
            out.append(text[pos:s])
            out.append(_spaced(text, s, f"Frozen section of the marrow margin was sent; the result is {result}.") if i == 0 else "")
            pos = e
        out.append(text[pos:])
        return "".join(out)

    return apply


def _to_the_past(text: str, gold: dict[str, Any]) -> str | None:
    attrs = gold.get("attributes") or {}
    tumor, side, site = attrs.get("tumor_type"), (gold.get("case") or {}).get("side"), attrs.get("site")
    hits = list(DX_LINE.finditer(text))
    if not hits or not tumor or not side or not site:
        return None
    new = f" History of {tumor} of the {side} {site.replace('_', ' ')}, resected ten years ago; no evidence of disease since."
    out, pos = [], 0
    for m in hits:
        out.append(text[pos:m.start("rest")])
        out.append(new)
        pos = m.end("rest")
    out.append(text[pos:])
    return "".join(out)


def _past_expect(pred: dict[str, Any]) -> dict[str, Any]:
    # What was done is no longer a tumor operation, so the operation is whatever the words say.
    out = {k: v for k, v in pred.items() if k != "operation"}
    out.update(items=dict(pred["items"]), tumor_status="historical", verdict="not_supported")
    for item in ("margin_intent", "resection_dimensions", "pathology"):
        out["items"][item] = "missing"
    # A side conflict stays a conflict; a claim code for a tumor that is not current is one.
    out["items"]["tumor_location"] = "conflict" if pred["items"].get("tumor_location") == "conflict" else "missing"
    out["items"]["diagnosis_code"] = ("missing", "conflict")
    if out["items"].get("informed_consent") == "met":
        out["items"]["informed_consent"] = "partial"
    # the operation is no longer a tumor operation: a reconstruction goes with whatever it now is
    out["items"]["reconstruction"] = (pred["items"]["reconstruction"], "not_applicable")
    return out


REWRITES: list[Rewrite] = [
    Rewrite("no_line_breaks", "invariance", _no_line_breaks, what="every line joined into one"),
    Rewrite("crlf", "invariance", _crlf, what="Windows line ends"),
    Rewrite("double_spaces", "invariance", _double_spaces, what="every space doubled"),
    Rewrite("tabs", "invariance", _tabs, what="tabs after colons and commas, tab-indented lines"),
    Rewrite("non_breaking_spaces", "invariance", _nbsp, what="every other space non-breaking"),
    Rewrite("lower_case", "invariance", _lower, what="the whole note in lower case"),
    Rewrite("upper_case", "invariance", _upper, what="the whole note in capitals"),
    Rewrite("title_case_headings_no_colon", "invariance", _title_case_no_colon, what="HEADING: text -> Heading on its own line"),
    Rewrite("numbered_sections", "invariance", _numbered, what="1. HEADING:"),
    Rewrite("roman_sections", "invariance", _roman, what="II. HEADING:"),
    Rewrite("spoken_headings", "invariance", _spoken_headings, what="heading colon (dictated)"),
    Rewrite("british_spelling", "invariance", _british, what="tumour, haemostasis, centimetre, ..."),
    Rewrite("spelled_out", "invariance", _spelled_out, what="magnetic resonance imaging; sixteen centimeters"),
    Rewrite("speech_homophones", "invariance", _homophones, what="in block, osteo sarcoma, m r i, frozen sextion, ..."),
    Rewrite("sections_reordered", "invariance", _reordered, what="EBL, drains, specimens, implants, ... in reverse order"),
    Rewrite("attestation_appended", "invariance", _attestation, what="an attending attestation at the end"),
    Rewrite("pathology_appended", "invariance", _pathology_appended, what="the prior biopsy's pathology pasted at the end"),
    Rewrite("typographic_dashes_quotes", "invariance", _typography, what="non-breaking hyphens, em dashes, curly quotes"),
    Rewrite("bullets", "invariance", _bullets, what="- -> bullet, 1. -> 1)"),
    Rewrite("sides_abbreviated", "invariance", _sides_abbreviated, what="right femur -> Rt. femur, left knee -> Lt. knee"),
    Rewrite("side_flipped_in_diagnosis", "directional", _flip_dx_side, _side_expect, "right <-> left in the preoperative diagnosis"),
    Rewrite("procedure_amputation", "directional", _replace_procedure("{Side} above-knee amputation."), _operation_expect("amputation", {"reconstruction": "not_applicable"}), "the procedure line replaced by an amputation"),
    Rewrite("procedure_curettage", "directional", _replace_procedure("Curettage and cementation of the {side} {site} lesion."), _operation_expect("intralesional"), "the procedure line replaced by a curettage"),
    Rewrite("procedure_biopsy", "directional", _replace_procedure("Open biopsy of the {side} {site} lesion."), _operation_expect("biopsy", {"informed_consent": "partial"}), "the procedure line replaced by a biopsy"),
    Rewrite("consent_boilerplate", "directional", _consent_boilerplate, _status_expect("informed_consent", "partial"), "the consent reduced to one boilerplate sentence"),
    Rewrite("resection_length_removed", "directional", _remove_lengths, _dims_expect, "every length but the tumor's size removed (resection, specimen, margin, implant)"),
    Rewrite("frozen_pending", "directional", _frozen_to("pending"), _status_expect("frozen_section", "partial"), "the frozen-section result pending"),
    Rewrite("frozen_deferred", "directional", _frozen_to("deferred to permanent sections"), _status_expect("frozen_section", "partial"), "the frozen-section result deferred"),
    Rewrite("tumor_ten_years_past", "directional", _to_the_past, _past_expect, "the diagnosis lines: a tumor resected ten years ago, none now"),
]


def _matches(got: dict[str, Any], want: dict[str, Any]) -> bool:
    for key, value in want.items():
        if key == "items":
            for item, status in value.items():
                g = got["items"].get(item)
                if isinstance(status, tuple):
                    if g not in status:
                        return False
                elif status == "not_met":
                    if g in ("met", "not_applicable"):
                        return False
                elif g != status:
                    return False
        elif got.get(key) != value:
            return False
    return True


def run_perturbations(directory: str | Path, *, model: str | Path | None = None, checker: Any = None, rewrites: list[Rewrite] | None = None) -> dict[str, Any]:
    """Apply every rewrite to every gold note under ``directory`` and count who behaves as it must."""
    import json

    from .api import Checker
    from .evaluate import gold_notes

    checker = checker or Checker(model)
    rows: dict[str, dict[str, Any]] = {}
    for rw in rewrites or REWRITES:
        rows[rw.name] = {"kind": rw.kind, "what": rw.what, "applied": 0, "ok": 0, "by_split": {}}
    for note, gpath in gold_notes(Path(directory)):
        gold = json.loads(gpath.read_text(encoding="utf-8"))
        text = note.read_text(encoding="utf-8")
        icd10 = gold.get("icd10") or None
        code = gold.get("code", "27365")
        base = _answer(checker.check(text, icd10, code=code))
        split = gold.get("split", "dev")
        for rw in rewrites or REWRITES:
            new = rw.apply(text, gold)
            want = rw.expect(base) if new is not None else None
            if new is None or want is None:
                continue
            got = _answer(checker.check(new, icd10, code=code))
            ok = _matches(got, want)
            row = rows[rw.name]
            row["applied"] += 1
            row["ok"] += ok
            s = row["by_split"].setdefault(split, {"applied": 0, "ok": 0})
            s["applied"] += 1
            s["ok"] += ok
    return {"directory": str(directory), "rewrites": rows, "summary": _summary(rows)}


def _summary(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("invariance", "directional"):
        applied = sum(r["applied"] for r in rows.values() if r["kind"] == kind)
        ok = sum(r["ok"] for r in rows.values() if r["kind"] == kind)
        out[kind] = {"applied": applied, "ok": ok, "rate": ok / applied if applied else None}
    return out


def format_perturbation(result: dict[str, Any]) -> str:
    """The perturbation table as text."""
    lines = [f"behavioral rewrites of {result['directory']} (reference: the checker's answer on each original note)", ""]
    lines.append(f"  {'rewrite':30} {'kind':12} {'notes':>5} {'as must':>7} {'rate':>6}  what")
    for name, r in result["rewrites"].items():
        rate = f"{r['ok'] / r['applied']:.3f}" if r["applied"] else "  -  "
        lines.append(f"  {name:30} {r['kind']:12} {r['applied']:5} {r['ok']:7} {rate:>6}  {r['what']}")
    lines.append("")
    for kind, s in result["summary"].items():
        rate = "  -  " if s["rate"] is None else f"{s['rate']:.3f}"
        lines.append(f"{kind:12} rewrites applied {s['applied']:5}  behaved as they must {s['ok']:5}  rate {rate}")
    return "\n".join(lines)
