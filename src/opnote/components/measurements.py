"""Dimensions in operative notes, normalized to millimetres.

Handles "12 x 6.5 x 5 cm" -> [120, 65, 50], "150 mm", "a 14-cm resection", "12 cm by 6 cm",
dictated "fourteen centimeters" and "one point five cm". Each dimension also gets what it
measures (resection length, specimen, tumor, margin distance, other) from the words around it.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict, cast

from spacy.language import Language
from spacy.tokens import Doc

from .._regex import finditer_folded, fold
from .doctext import doc_text
from .targets import CANDIDATES_KEY

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = "|".join(sorted(list(_ONES) + list(_TENS) + ["hundred", "point", "and", "a", "half"], key=len, reverse=True))
_SPELLED = rf"(?:(?:{'|'.join(sorted(list(_ONES) + list(_TENS), key=len, reverse=True))})(?:[\s-]+(?:{_WORD}))*)"
_DIGITS = r"(?:\d+(?:[.,]\d+)?|\.\d+)"
NUM = rf"(?:{_DIGITS}|{_SPELLED})"
UNIT = r"(?:centimet(?:er|re)s?|millimet(?:er|re)s?|cms?|mm|inch(?:es)?)"
SEP = r"\s*(?:x|×|\*|by)\s*"
_UNIT_OPT = rf"(?:\s*-?\s*{UNIT})?"
DIM_RE = re.compile(
    rf"(?<![\w.])({NUM}){_UNIT_OPT}(?:{SEP}({NUM}){_UNIT_OPT})?(?:{SEP}({NUM}))?\s*-?\s*({UNIT})(?![a-z])",
    re.IGNORECASE,
)
# DIM_RE without IGNORECASE, for the lower-cased text (opnote._regex: about three times faster)
_DIM_FOLDED = re.compile(DIM_RE.pattern)

_CUES = [
    ("other", re.compile(r"incision|skin|drain|collection|abscess|blood loss|\bebl\b|tourniquet|suture|wound|scar|stem|\bbody\b|segment length|(?<!soft tissue )(?<!soft-tissue )(?<!extraosseous )(?<!extra-osseous )component|prosthe|implant|trial|cement|reamer|reamed|reaming|nail|plate|screw|hole|needle|trocar|patient is|years? old|weight|\bkg\b|catheter|tube|bushing|bearing|poly\w*|liner|head|collar|spacer|bead|flap|graft", re.I)),
    # "a 9 mm tibial cut" resurfaces a joint; "the femoral cut was made 16 cm above the joint line"
    # is the osteotomy: told apart by the length (see _plausible).
    ("bone_cut", re.compile(r"(?:tibial|femoral|patellar|distal femoral|proximal tibial|tibia|femur|patella) (?:cut|resurfacing)", re.I)),
    ("margin_distance", re.compile(r"margin|closest|nearest|beyond|cuff|(?:above|below|past|beyond|proximal to|distal to) (?:the )?(?:\w+ ){0,3}?(?:extent|edge|limit|tumou?r|lesion|signal|abnormality|hematoma|haematoma|mass|contamination|disease|recurrence)|proximal to the (?:tumor|lesion|mass)|distal to the (?:tumor|lesion|mass)|from the (?:tumor|lesion|mass)|of normal|of uninvolved|clearance|free of tumor by|around (?:the )?(?:tumou?r|lesion|mass)|away from (?:the )?(?:tumou?r|lesion|mass)", re.I)),
    ("specimen", re.compile(r"specimen", re.I)),
    ("resection_length", re.compile(r"resection length|resect|transect|osteot(?!omes?\b)\w*|\bcut\b|\bjt\.? line|length of (?:the )?(?:resection|bone|femur|segment)|bone (?:was )?(?:cut|removed)|from the joint line|joint line|(?<!body )(?<!spacer )segment|intercalary defect|defect measur|bone loss|femoral length|femur (?:was )?(?:removed|excised)|en bloc"
                                    r"|(?:femur|bone|tibia|shaft|diaphysis)\s+(?:was\s+|is\s+)?(?:then\s+)?(?:divided|sectioned|sawn|sawed)", re.I)),
    ("tumor", re.compile(r"tumou?r|mass|lesion|sarcoma|osteosarcoma|chondrosarcoma|extent|intramedullary|marrow|(?:soft[- ]tissue|extra-?osseous) component|\bcyst\b|\b(?!hae?matoma\b|seroma\b)[a-z]{3,}oma\b"
                         r"|recurren(?:ce|t)|relapse|lytic", re.I)),
]
# What imaging of the limb measures, when no other word of its clause says ("MRI: 6.2 x 5.0 x 4.5
# cm", "Size (MRI) | 5.5 x 4.0 cm"), is the tumor; not on imaging of the chest (staging nodules).
_IMAGING_CUE = re.compile(r"\b(?:mri|mr|ct|pet-?ct|imaging|radiographs?|x-?rays?|scan)\b", re.I)
_CHEST = re.compile(r"chest|lung|thora|pulmonar|nodul", re.I)


_RANK = {kind: i for i, (kind, _) in enumerate(_CUES)}
# A segment of a vessel or a nerve, not of bone, just before the number.
_VESSEL_SEGMENT = re.compile(r"\b(?:vein|veins|venous|artery|arteries|arterial|vessels?|nerve|bypass|graft)\b[^.;]{0,60}\bsegment\b[^.;]{0,20}$", re.I)
# A vessel or a nerve named just before the number ("the superficial femoral vein (13 cm)", "SFA and
# SFV (15 cm segment)"), or "vessel length" after it; the periosteum taken "over 8 cm".
_VESSEL_JUST_BEFORE = re.compile(r"\b(?:vein|veins|artery|arteries|vessels?|nerve|sfa|sfv|cfa|cfv)\b[^.;\d]{0,12}$", re.I)
_VESSEL_LENGTH_AFTER = re.compile(r"\s*(?:of\s+)?(?:vessel|vein|artery|arterial|venous|nerve)\s+(?:length|segment|graft)\b", re.I)
_PERIOSTEUM_BEFORE = re.compile(r"\bperiosteum\b(?:\s+\w+){0,3}?\s+(?:over|for|around)\s+(?:about\s+|approximately\s+)?$", re.I)
# The tumor's extent in the marrow on imaging ("marrow involvement up to 210 mm from the joint line").
_MARROW_EXTENT = re.compile(r"\b(?:marrow|signal)\b[^.;,]{0,30}?\b(?:extent|extension|extending|extends|involvement|up to|reaching|reaches|signal|edema|oedema|abnormality|replacement)\b[^.;,\d]{0,15}$", re.I)
# Where the tumor lies ("the lesion lies between 18 cm and 29 cm above the joint line"): its place
# on imaging, not a length of bone cut.
_LESION_LIES = re.compile(r"\b(?:lesion|tumou?r|mass|sarcoma)\s+(?:lies|lay|lying|sits|sat|is located|was located|is situated|was situated|is centred|is centered|was centred|was centered)\b[^.;\d]{0,25}(?:\d[^.;]{0,25})?$", re.I)
# Words whose point abbreviates them ("approx.", "ca.", "e.g."): the point ends no clause.
_ABBREV_END = re.compile(r"(?<![\w.])(?:approx|appr|ca|circa|e\.g|i\.e|vs|max|min|incl|resp|li|re)$", re.I)
_CUT_WORD = re.compile(r"osteotom|\bcut\b|resect|transect|divided|saw", re.I)
# A length followed at once by where it is measured from the tumor is a margin, whatever verb stands
# before it (written in lower case: searched in the lower-cased text, or with IGNORECASE).
_FROM_THE_TUMOR = re.compile(
    r"\s*(?:of (?:normal |healthy |uninvolved )?(?:bone|tissue) )?(?:above|below|beyond|past|proximal to|distal to|away from|clear of|from) (?:the )?(?:\w+ ){0,3}?"
    r"(?:extent|edge|limit|tumou?r|lesion|signal|abnormality|mass|disease|oedema|edema|recurrence)\b",
    re.I,
)
# The cues are written in lower case: the same patterns without IGNORECASE, for lower-cased text.
_CUES_FOLDED = [(kind, re.compile(rx.pattern)) for kind, rx in _CUES]


class Dimension(TypedDict):
    """A dimension in the note (what :func:`find_dimensions` returns and the findings component
    reads from ``doc.user_data[("opnote_dim", start, end)]``)."""

    start: int
    end: int
    values_mm: list[float]
    measures: str


def parse_number(text: str) -> float | None:
    """Parse "14", "6.5", "6,5", "fourteen", "one point five", "twenty two", "two and a half"."""
    t = text.strip().lower()
    if re.fullmatch(_DIGITS, t):
        return float(t.replace(",", "."))
    words = [w for w in re.split(r"[\s-]+", t) if w]
    if not words:
        return None
    k = words.index("point") if "point" in words else len(words)
    whole = _whole_number(words[:k])
    if whole is None:
        return None
    total, half = whole
    # Every word after "point" is one decimal digit: "one point two five".
    decimal = [_ONES.get(w) for w in words[k + 1:]]
    if any(d is None or d >= 10 for d in decimal):
        return None
    if decimal:
        total += float("0." + "".join(str(d) for d in decimal))
    if half:
        total += 0.5
    return total


def _whole_number(words: list[str]) -> tuple[float, bool] | None:
    """The value of number words before any "point", and whether "a half" was said; None when a
    word is not part of a number."""
    current = 0.0
    half = False
    for w in words:
        if w in _ONES:
            current += _ONES[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w == "half":
            half = True
        elif w not in {"and", "a"}:
            return None
    return float(current), half  # float: "hundred" alone makes an int of 0.0 or 1


def to_mm(value: float, unit: str) -> float:
    u = unit.lower()
    if u.startswith("mm") or u.startswith("milli"):
        f = 1.0
    elif u.startswith("in"):
        f = 25.4
    else:
        f = 10.0
    mm = value * f
    return float(round(mm, 1)) if mm != int(mm) else float(int(mm))


def _told_outright(left: str, right: str) -> str | None:
    """What the words right around a dimension say whatever the nearest cue: a distance from the
    tumor ("cut 10 cm above the proximal marrow extent"), a segment of a vessel ("the popliteal
    vein ... a segment of about 70 mm taken with the tumor")."""
    if _FROM_THE_TUMOR.match(right):
        return "margin_distance"
    if _VESSEL_SEGMENT.search(left) or _VESSEL_LENGTH_AFTER.match(right) or _PERIOSTEUM_BEFORE.search(left):
        return "other"
    if _VESSEL_JUST_BEFORE.search(left) and "margin" not in left.lower():
        return "other"  # but "closest margin, at the popliteal vein, about 1 mm" is a margin
    if (_MARROW_EXTENT.search(left) or _LESION_LIES.search(left)) and not _CUT_WORD.search(left):
        return "tumor"  # "marrow signal extending 16 cm from the joint line": the tumor's extent on imaging
    if _OF_BONE_AFTER.match(right) and _TAKEN_BEFORE.search(left):
        return "resection_length"  # "removed together with 15 cm of the femur"
    return None


# A length of bone taken with the tumor: "removed together with 15 cm of the femur", "the proximal
# 14 cm of the left femur, including the lesion, was resected" (not "tumor involving 12 cm of the femur").
_OF_BONE_AFTER = re.compile(r"\s+of\s+(?:the\s+)?(?:(?:left|right|distal|proximal|native|involved|affected)\s+){0,2}(?:femur|femoral\s+(?:shaft|diaphysis)|bone|tibia|diaphysis)\b", re.I)
_TAKEN_BEFORE = re.compile(r"(?:\b(?:removed|resected|excised|taken|including|together with|along with|en bloc with)\b[^.;]{0,60}|\bthe\s+(?:proximal|distal)\s+)$", re.I)
# A specimen named as the clause's subject and measured ("Specimen: right thigh sarcoma with
# periosteum, oriented, measuring 16 x 11 x 8 cm"): its size, unless a tumor word measures it
# right before the number ("... with the tumor measuring 8 x 6 cm").
_SPECIMEN_SUBJECT = re.compile(r"^[ \t]*(?:the\s+)?(?:resected\s+|gross\s+)?specimens?\b", re.I)
_TUMOR_MEASURED_BEFORE = re.compile(r"\b(?:tumou?r|mass|lesion|sarcoma|\w+oma)\s+(?:measuring|measured|measures|of|sized?|size)\s*(?:approximately\s+|about\s+)?$", re.I)


def _clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """How many characters before ``start`` and after ``end`` are in the clause of text[start:end].

    Stays inside the sentence: cut at the last full stop / line break before, first after (found in
    the text as written: " PERIOD " in capitals is not a spoken full stop).
    """
    left, right = text[max(0, start - 90):start], text[end:end + 70]
    for sep in (". ", "\n", "; ", " period ", " new paragraph "):
        k = left.rfind(sep)
        while sep == ". " and k != -1 and _ABBREV_END.search(left, 0, k):
            k = left.rfind(sep, 0, k)  # "approx. 8 x 5 cm": an abbreviation's point ends no clause
        if k != -1:
            left = left[k + len(sep):]
        k = right.find(sep)
        while sep == ". " and k != -1 and _ABBREV_END.search(right, 0, k):
            k = right.find(sep, k + 1)
        if k != -1:
            right = right[:k]
    return len(left), len(right)


def classify(text: str, start: int, end: int, lower: str | None = None) -> str:
    """What a dimension at text[start:end] measures: the cue word nearest to it in its clause wins.

    ``lower``: :func:`opnote._regex.fold` of ``text`` (the cues are then searched without
    IGNORECASE in it, with the same result), or None.
    """
    source, cues = (lower, _CUES_FOLDED) if lower is not None else (text, _CUES)
    n_left, n_right = _clause_around(text, start, end)
    left, right = source[start - n_left:start], source[end:end + n_right]
    told = _told_outright(left, right)
    if told is not None:
        return told
    best_kind, best_dist = "other", 10**9
    for rank, (kind, rx) in enumerate(cues):
        for m in rx.finditer(left):
            dist = len(left) - m.end()
            if dist < best_dist or (dist == best_dist and rank < _RANK[best_kind]):
                best_kind, best_dist = kind, dist
        after = rx.search(right)
        if after:
            dist = after.start() + 3  # words after the number bind a little less than words before it
            if dist < best_dist or (dist == best_dist and rank < _RANK[best_kind]):
                best_kind, best_dist = kind, dist
    if best_dist == 10**9 and _IMAGING_CUE.search(left) and not _CHEST.search(left + right):
        return "tumor"
    if best_kind == "tumor" and _SPECIMEN_SUBJECT.match(left) and not _TUMOR_MEASURED_BEFORE.search(left):
        return "specimen"
    return best_kind


# Shorter than this, a cut of bone is a joint surface or a trim, not the length of bone resected.
_SHORTEST_RESECTION_MM = 20.0


def _plausible(kind: str, mm: list[float]) -> str:
    """What a dimension measures, checked against its size: a length, width and height measure a
    specimen (or a tumor), not the length of bone resected; a bone cut of a few millimetres
    resurfaces a joint, one of centimetres is the osteotomy of a resection."""
    if kind == "bone_cut":
        return "resection_length" if len(mm) == 1 and mm[0] >= _SHORTEST_RESECTION_MM else "other"
    if kind == "resection_length" and len(mm) == 3:
        return "specimen"
    if kind == "resection_length" and max(mm) < _SHORTEST_RESECTION_MM:
        return "other"
    return kind


def find_dimensions(text: str) -> list[Dimension]:
    """Every dimension in ``text`` as {start, end, values_mm, measures}."""
    out: list[Dimension] = []
    lower = fold(text)
    for m in finditer_folded(DIM_RE, _DIM_FOLDED, text, lower):
        unit = m.group(4)
        nums = [g for g in (m.group(1), m.group(2), m.group(3)) if g]
        values = [parse_number(g) for g in nums]
        if any(v is None for v in values):
            continue
        if unit.lower() == "in" and not re.search(r"\d", m.group(0)):
            continue
        if unit.lower() == "in" and len(nums) == 1:
            # "5 in" is too often prose ("placed 5 in the canal"): want inches spelled out or an "x".
            continue
        mm = [to_mm(v, unit) for v in values if v is not None]
        if not mm or max(mm) <= 0 or max(mm) > 2000:
            continue
        out.append({
            "start": m.start(),
            "end": m.end(),
            "values_mm": mm,
            "measures": _plausible(classify(text, m.start(), m.end(), lower), mm),
        })
    return out


class OpnoteMeasurements:
    """Adds a DIMENSION span per measurement to the candidate span group."""

    def __init__(self, nlp: Language, name: str = "opnote_measurements", *, spans_key: str = CANDIDATES_KEY) -> None:
        self.name = name
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        return self.annotate(doc, find_dimensions(doc_text(doc)))

    def annotate(self, doc: Doc, dims: list[Dimension]) -> Doc:
        """Add the dimensions ``dims`` (what :func:`find_dimensions` found in the Doc's text) to it."""
        spans = []
        user_data = cast("dict[object, Any]", doc.user_data)  # spaCy's own keys are tuples
        for d in dims:
            span = doc.char_span(d["start"], d["end"], label="DIMENSION", alignment_mode="expand")
            if span is None:
                continue
            span.id_ = "dimension"
            spans.append(span)
            user_data[("opnote_dim", span.start_char, span.end_char)] = {"values_mm": d["values_mm"], "measures": d["measures"], "start": d["start"], "end": d["end"]}
        # Append to the group rather than rebuild it from a list of every span in it (a Span
        # object per candidate): the same spans, in the same order.
        if self.spans_key in doc.spans:
            group = doc.spans[self.spans_key]
            for span in spans:
                group.append(span)
        else:
            doc.spans[self.spans_key] = spans
        return doc
