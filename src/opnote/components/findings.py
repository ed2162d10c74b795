"""Turn matched candidates into findings with assertions and normalized attributes.

Reads the candidate span group (targets, measurements, abbreviations) after ConText has run and
writes:

* ``doc.spans["opnote_findings"]``: one span per finding, labelled with its kind;
* ``doc._.opnote_findings``: the findings as plain dicts (kind, start, end, text, section,
  assertion, attributes), which pickle and serialize;
* ``doc._.opnote_cues``: the other matches scoring needs (sides, consent content, modifier cues),
  also as plain dicts.

Operative-note traps handled here: a frozen section "negative for tumor" keeps its result as an
attribute; a template field left blank ("FROZEN SECTION: ___", "N/A") documents nothing.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, cast

from spacy.language import Language
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from .. import rules as rule_files
from .doctext import doc_text
from .targets import CANDIDATES_KEY

FINDINGS_KEY = "opnote_findings"


class FindingRecord(TypedDict):
    """One finding or cue as this component leaves it on the Doc (``doc._.opnote_findings`` and
    ``doc._.opnote_cues``); :func:`opnote.mentions.mention_from_dict` reads it back."""

    label: str
    id: str
    start: int
    end: int
    text: str
    section: str | None
    assertion: str
    sent: int
    attributes: dict[str, Any]
    blank_template: NotRequired[bool]
    header: NotRequired[bool]
    kind: NotRequired[str]
    side_start: NotRequired[int]
    side_end: NotRequired[int]


#: (title_start_char, title_end_char, body_end_char, category) of a section heading.
Header = tuple[int, int, int, str | None]

KIND_BY_LABEL = {
    "SITE": "tumor_location",
    "MARGIN": "margin",
    "DIMENSION": "dimension",
    "FROZEN": "frozen_section",
    "IMAGING": "imaging",
    "RECON": "reconstruction",
    "TUMOR": "pathology",
    "MARGIN_STATUS": "pathology",
    "PATH_PENDING": "pathology",
    "CONSENT": "consent",
    "PROCEDURE": "procedure",
}

CONTRACT_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "proximal_tibia", "patella", "knee"}

BLANK_RE = re.compile(r"^[\s_\-.:*#\[\]]*(?:(?:n/?a|not applicable|not recorded|blank|tbd|\?+|see (?:the )?(?:chart|emr|ehr|record|paper chart)|per (?:the )?chart|in (?:the )?chart|on file)[\s_\-.:*]*)?$", re.I)
PRE_NEGATION_RE = re.compile(r"\b(?:no|not|without|never|neither|nor|at no (?:point|time))\b(?:\s+[\w-]+){0,3}?\s*$", re.I)
LOCAL_NEGATION_LABELS = {"FROZEN", "MARGIN"}
# An imaging study denied right before its name ("no CT", "(no preoperative MRI)", "without a CT
# scan"): "no" further back is usually a finding on the study ("no fracture on CT").
IMAGING_NEGATION_RE = re.compile(
    r"\b(?:no|without|not (?:a|an|any)|never had (?:a|an|any))\s+(?:(?:a|an|any)\s+)?"
    r"(?:(?:pre-?op(?:erative)?|prior|staging|formal|repeat|further|recent|dedicated|cross-sectional)\s+)?$",
    re.I,
)
# ... unless the study is named as the source of a negative finding ("no CT evidence of ...").
IMAGING_FINDING_AFTER = re.compile(r"\s*(?:scan\s+|imaging\s+)?(?:evidence|findings?|signs?|abnormalit\w*|features?)\b", re.I)
_NEXT_FIELD_ON_LINE = re.compile(r"\s(?:\d{1,2}[.)](?:\s|$)|[A-Z][A-Za-z /()-]{0,30}:|[A-Z][A-Za-z][A-Za-z ()-]{0,30}?[ \t]*\.{3,})")
NONE_RE = re.compile(r"^[\s:\-]*(?:none|nil|not sent|not performed|not obtained|not done|not requested|no (?:frozens?|frozen sections?|specimens?|samples?)\b|no\.?\s*(?:\n|$)|no\.?[ \t]+(?=reasons?\b))", re.I)

# A histology named after a negation is the negative result's object ("negative for sarcoma", "free
# of carcinoma"), not a positive result of its own.
_NOT_NEGATED = r"(?<!negative for )(?<!neg for )(?<!free of )(?<!\bno )(?<!without )(?<!no evidence of )(?<!no residual )"
_FS_RESULTS = [
    ("pending", r"pending|awaiting|await|to follow|deferred|defer(?:red)? to permanents?|not yet (?:available|back)"
                r"|(?:had|has|have) not (?:yet )?(?:come back|returned|been (?:reported|received|phoned))|(?:will|to) (?:phone|call|ring|telephone) (?:back |through )?(?:the |with the )?(?:result|report)"),
    ("atypical", r"atypi(?:a|cal)|indeterminate|equivocal|non-?diagnostic|inconclusive|suspicious"),
    ("close", r"\bclose\b(?!\s*:)"),  # "Close: drain x1, layered" is the closure's heading
    ("negative", r"negative|\bneg\b|\(-\)|\bno (?:signs? of )?(?:acute )?(?:infection|inflammation)\b|<\s*\d+\s*(?:pmns?|neutrophils)|\bno (?:evidence of |signs? of |residual |viable |definite |gross )?(?:tumou?r|malignan\w*|neoplas\w*|sarcoma|carcinoma|cancer|disease|osteosarcoma|chondrosarcoma|lesional tissue|atypia|lymphoma|myeloma|plasmacytoma|metasta\w*|ewing\w*|giant cell tumou?r)"
                 r"|\bnot involved|uninvolved|free of (?:tumou?r|disease|malignan\w*|neoplasm|sarcoma)|\bfree\b|tumou?r[- ]free|\bclear\b|without (?:evidence of )?(?:tumou?r|malignan\w*)|benign|normal (?:marrow|bone|tissue|fat|hematopoietic)|no tumor seen|reactive"),
    ("positive", r"positive|consistent with|compatible with|(?<!\bto )confirm(?:ed|s|ing)?\b(?! (?:with|by|over)\b)|diagnostic of|demonstrat(?:ed|es|ing) (?:(?!(?:no|not|without|neither|absence)\b)\w+ ){0,3}(?:sarcoma|carcinoma|tumou?r|malignan\w*|osteosarcoma|chondrosarcoma)|showed (?:(?!(?:no|not|without|neither|absence)\b)\w+ ){0,3}(?:sarcoma|carcinoma|tumou?r|malignan\w*|osteosarcoma|chondrosarcoma)|(?:viable |residual )?tumou?r (?:was |is )?(?:present|seen|identified)|involved|malignant cells|high[- ]grade|" + _NOT_NEGATED + r"(?:sarcoma(?! (?:clinic|service|team|unit|cent(?:er|re)|program(?:me)?|board|mdt|surgeons?|fellow|nurse|meeting|conference|follow-?up))|carcinoma|osteosarcoma|chondrosarcoma|giant cell tumou?r|lymphoma|plasmacytoma|myeloma)|lesional"),
]
# A result said before its frozen section: "margins were negative on frozen section, final pathology
# pending" (the "pending" after it is the final pathology's).
_RESULT_ON_FROZEN = re.compile(r"\b(?P<word>negative|positive|clear|free|involved|close)\s+(?:on|by|per|at)\s+(?:the\s+)?(?:intra-?operative\s+)?$", re.I)


# A "pending" that names the state before the result the sentence goes on to give ("listed above as
# pending, has come back negative", "previously pending, now reported negative").
_EARLIER_PENDING = re.compile(r"\b(?:(?:listed|reported|noted|documented|recorded|described|given|shown|dictated|marked)(?: above| earlier| previously)? as|previously|initially|earlier|originally|which was|that was)\s+(?:still\s+)?pending\b", re.I)


# A blank line before the next heading ("\n\nRecon:"): the end of a paragraph's matter.
_BLANK_LINE = re.compile(r"\n[ \t]*\n(?=[ \t]*(?:[-*\u2022#][ \t]*)?[A-Z][A-Za-z /&()-]{0,40}:)")


_LEAD = re.compile(r"[\s:.\-\u2013]*")


def _paragraph_end(text: str, start: int, end: int) -> int:
    """``end``, or the first blank line before a heading between ``start`` and ``end``, after the
    words that follow ``start`` begin ("Frozen section:\n\nMarrow ... no tumor.": a heading's own
    blank line ends nothing)."""
    lead = _LEAD.match(text, start, end)
    blank = _BLANK_LINE.search(text, lead.end() if lead else start, end)
    return blank.start() if blank is not None else end


# Another test's own label, opening a clause after a frozen section ("Histology / frozen section:
# Biopsy: Ewing sarcoma. Frozen sections of the marrow: pending"): what it labels is that test's
# result ("frozen section of the biopsy: ..." names the frozen section's specimen).
_OTHER_TEST_LABEL = re.compile(r"(?:(?<=[.;:] )|(?<=\n))[ \t]*(?:(?:core |needle |open |incisional |prior |previous |initial |diagnostic )?biops(?:y|ies)|bx|permanents?|permanent sections?|final (?:pathology|histology|report|diagnosis)|cytogenetics|molecular|cultures?|cytology)[ \t]*(?:\([^()\n]{0,30}\)[ \t]*)?:", re.I)
_CLAUSE_STOP = re.compile(r"[.;](?=\s)|\n")


def _first_result(text: str, lo: int, hi: int) -> re.Match[str] | None:
    """The first result in ``text[lo:hi]`` that is not in the clause of another test's label."""
    pos = lo
    while True:
        m = FS_RESULT_RE.search(text, pos, hi)
        if m is None:
            return None
        label = _OTHER_TEST_LABEL.search(text, pos, m.start())
        if label is None:
            return m
        stop = _CLAUSE_STOP.search(text, label.end(), hi)
        if stop is None:
            return None
        pos = stop.end()


def _stated_result(text: str, start: int, window_start: int, window_end: int) -> str | None:
    """The result a frozen section's words give: one said just before it ("negative on frozen
    section"), else the first after it, passing over a "pending" the sentence says came before
    the result it goes on to give ("listed above as pending, has come back negative")."""
    said_before = _RESULT_ON_FROZEN.search(text, max(0, start - 60), start)
    if said_before:
        m = FS_RESULT_RE.search(said_before.group("word"))
        return m.lastgroup if m else None
    m = _first_result(text, window_start, window_end)
    if m is not None and m.lastgroup == "pending" and _EARLIER_PENDING.search(text, max(window_start, m.start() - 40), m.end()):
        later = FS_RESULT_RE.search(text, m.end(), window_end)
        if later is not None and later.lastgroup != "pending":
            m = later
    return m.lastgroup if m else None


# A frozen section said to have found a malignancy: positive, whatever its final typing waits for.
_SAID_MALIGNANT = re.compile(r"\bpositive for\b|\bmalignan\w*", re.I)


# A field's value that points elsewhere for it ("see body of note", "sent - see below", "as above").
_SEE_ELSEWHERE = re.compile(r"\b(?:see|as|refer to|per)\s+(?:the\s+)?(?:below|above|body|note|narrative|text|op(?:erative)? note|report|description)\b", re.I)


# What is sent for a frozen section ("Lesional tissue, left distal femur, for frozen section"): the
# words before it name the specimen, not a result.
_SENT_FOR = re.compile(r"\b(?:for|to)[ \t]+(?:an?[ \t]+|the[ \t]+)?(?:intra-?operative[ \t]+)?\Z", re.I)


# Fields a frozen-section block may hold on the lines under its heading (its specimen, its result).
FS_BLOCK_FIELDS = {"frozen_section", "specimens", "pathology", "findings"}
FS_RESULT_RE = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _FS_RESULTS), re.I)
# A frozen section that found tumor tissue but left the diagnosis itself to the permanent sections
# ("diagnostic lesional tissue present; diagnosis deferred to permanents"): its result is pending.
FS_DIAGNOSIS_DEFERRED_RE = re.compile(
    r"\b(?:diagnosis|diagnoses|classification|grad(?:e|ing)|typing|subtyp\w*)\b[^.;\n]{0,40}?\b(?:deferred|pending|awaited|to follow|(?:would |will )?wait(?:s|ed|ing)? for)\b"
    r"|\bdefer(?:red|s)?\b[^.;\n]{0,30}?\b(?:diagnosis|classification|grad(?:e|ing))\b"
    r"|\b(?:she|he|they|pathologist|pathology|path)\b[^.;\n]{0,30}?\bdefer(?:red|s)?\b(?: (?:it|this|the (?:diagnosis|call|read)))? to (?:the )?(?:permanent|final)",
    re.I,
)
# A result on the line after its frozen section: "- NEG FOR TUMOR PER PATH", "- 10:02 - Pathologist
# reported the marrow margin negative", "NEGATIVE."
NEXT_RESULT_RE = re.compile(
    r"\s*(?:[-\u2013:>]+\s*)?(?:\d{1,2}:\d{2}\s*[-\u2013]?\s*)?(?:(?:the |a )?(?:pathologist|path|pathology|frozen|result|marrow|margin)\w*\b[^.\n]{0,60}?)?"
    r"(?:neg\b|negative|positive|benign|no (?:tumou?r|malignan|evidence)|clear|free of|tumou?r[- ]free|atypi|deferred|pending)",
    re.I,
)
FS_SITE_RE = re.compile(
    r"\b(?:of|from|on|at)\s+(?:the\s+)?((?:(?!(?:was|were|is|are|for|and|with|showed|negative|positive|sent|which|that)\b)[a-z/\-]+\s+){0,5}(?:margins?|canal|marrow|tissues?|specimen|lesion|tumou?r|bone|cuff|stump|nerve|vessels?|cortex|surface|curettings?|intramedullary contents))\b",
    re.I,
)
FS_REASON_RE = re.compile(
    r"\b(?:because|as the|as (?:crp|esr|there|it|this|a|an|diagnosis)|since|given|due to|secondary to|in view of|established|known|already|previous(?:ly)?|prior|biopsy[- ]proven|was not indicated|not indicated|not felt|not needed|not necessary|unnecessary|diagnosis (?:was|had been)|per surgeon|surgeon'?s? (?:discretion|preference)"
    r"|(?:confirmed|proven|proved|made|shown) (?:on|by|at|with|via|from) (?:the |a |an )?(?:[\w-]+ ){0,3}?biops(?:y|ies)\b|(?:no|not) (?:available|possible)|no (?:[\w-]+,? (?:or |and )?){0,4}(?:concern|suspicion)\b|no (?:frozen[- ]section |pathology )?(?:service|facility|pathologist)"
    # tissue kept unfrozen for the studies the diagnosis needs ("freezing compromises the tissue for
    # the molecular studies", "everything went fresh to pathology")
    r"|(?:for|compromise\w*|need\w*|required for) (?:the )?(?:[\w-]+ ){0,2}?(?:molecular|cytogenetic|genetic|flow cytometr\w*)\b|(?:went|sent|go|goes) fresh\b)",
    re.I,
)
# A frozen section the hospital cannot do, as the field's value ("Frozen section: not available in
# this hospital (no cryostat)"); not a result still to come ("not available yet", "at the time of
# dictation").
FS_UNAVAILABLE_RE = re.compile(
    r"[ \t]*[:\-][ \t]*(?:(?:the |a )?(?:facility|service|cryostat|pathologist|frozen section(?: service)?)[ \t]+)?(?:is |was |were )?(?:not available|unavailable)\b"
    r"(?![^.;\n]{0,40}\b(?:yet|at the time|pending|until|for review)\b)", re.I
)
# "not sent - level through uninvolved joint": a "not sent" the note goes on to explain in words.
FS_REASON_AFTER_RE = re.compile(r"[ \t]*[:\-]?[ \t]*(?:not (?:sent|performed|done|requested|obtained|indicated|taken)|none|nil|no)\b[ \t]*(?:[-\u2013\u2014:;(,]|because\b|as\b)[ \t]*(?:[A-Za-z][\w/-]*[ \t,]+){2,}[A-Za-z]", re.I)
# A cause told first and the omission drawn from it: "no tumour-like tissue was seen; therefore no
# frozen section was sent".
FS_REASON_BEFORE_RE = re.compile(r"\w[^.]*?[;,:]?\s+(?:and\s+)?(?:therefore|thus|hence|consequently|accordingly|for (?:this|that) reason)\b[\s,]*[^.;]{0,40}$", re.I)
# A frozen-section field answered no ("Performed: No; Reason: histology established on core biopsy").
FS_PERFORMED_NO_RE = re.compile(r"[\s:.\-]*(?:performed|done|sent|requested)\s*[:?]?\s*(?:no|n|not done)\b(?:[^\n]*?(?P<reason>\breason\s*:\s*\w))?", re.I)
CONTRAST_RE = re.compile(r"\b(?:with(?:out)?(?: and without)? (?:iv |intravenous )?(?:contrast|gadolinium)|contrast[- ]enhanced|gadolinium[- ]enhanced|non-?contrast|post-?contrast)\b", re.I)
PREOP_RE = re.compile(r"preoperative|pre-operative|preop|prior|previous|obtained|reviewed|demonstrat|show|reveal|confirm|staging|planning|template|templat|measured on|based on|per the|outside|available|was done|was performed|were obtained|had|underwent|noted", re.I)


_CANON = {
    "osteogenic sarcoma": "osteosarcoma", "osteo sarcoma": "osteosarcoma", "osteosarcomas": "osteosarcoma",
    "ewing's sarcoma": "ewing sarcoma", "ewings sarcoma": "ewing sarcoma", "ewing 's sarcoma": "ewing sarcoma",
    "ewing's": "ewing sarcoma", "ewing": "ewing sarcoma", "ewing family tumor": "ewing sarcoma",
    "malignant fibrous histiocytoma": "undifferentiated pleomorphic sarcoma", "mfh": "undifferentiated pleomorphic sarcoma",
    "ups": "undifferentiated pleomorphic sarcoma", "pleomorphic sarcoma": "undifferentiated pleomorphic sarcoma",
    "giant cell tumour": "giant cell tumor", "giant-cell tumor": "giant cell tumor", "gct": "giant cell tumor",
    "gctb": "giant cell tumor", "giant cell tumor of bone": "giant cell tumor", "chondro sarcoma": "chondrosarcoma",
    "chondrosarcomas": "chondrosarcoma", "clear-cell chondrosarcoma": "clear cell chondrosarcoma",
    "low grade central osteosarcoma": "low-grade central osteosarcoma", "os": "osteosarcoma", "abc": "aneurysmal bone cyst", "rcc": "renal cell carcinoma",
    "mpnst": "malignant peripheral nerve sheath tumor", "sts": "soft tissue sarcoma",
}
# Grades, and the subtypes of conventional osteosarcoma (by its dominant matrix), are not another
# tumor type: "high-grade chondroblastic osteosarcoma" is an osteosarcoma.
_GRADE = re.compile(r"^(?:conventional|high[- ]grade|low[- ]grade(?! central osteosarcoma)|intermediate[- ]grade|grade \w+|recurrent|primary|(?:osteo|chondro|fibro)blastic(?= osteo))\s+", re.I)
_MET_TAIL = re.compile(r"\s+(?:(?:of|from)\s+(?:(?:a|an|the)\s+)?)?((?:[a-z-]+\s+){0,3}?(?:carcinoma|cancer|adenocarcinoma|melanoma|sarcoma|myeloma|tumou?r))\b", re.I)


_MET_ABBREVIATION = re.compile(r"^(?:met|mets)\s+")
_CA_END = re.compile(r"\bca\.?$")


def _histology(span: Span, text: str, attrs: dict[str, Any]) -> str:
    """The histology as written, normalized: "Conventional high-grade osteosarcoma" -> "osteosarcoma"."""
    low = " ".join(span.text.lower().split())
    low = _CANON.get(low, low)
    while _GRADE.match(low):
        low = _GRADE.sub("", low, count=1)
    if attrs.get("category") == "metastatic_bone":
        if low in {"metastatic", "metastasis", "metastases", "metastatic disease", "metastatic lesion", "oligometastatic"}:
            m = _MET_TAIL.match(text, span.end_char)
            return ("metastatic " + " ".join(m.group(1).lower().split())) if m else "metastatic carcinoma"
        if low.startswith("metasta"):
            return low
        low = _CA_END.sub("carcinoma", _MET_ABBREVIATION.sub("", low))  # "met breast ca"
        return "metastatic " + low
    if low in {"high-grade sarcoma", "high grade sarcoma"}:
        return "sarcoma"
    return low


_ASSERTION_EXTS = ("is_negated", "is_hypothetical", "is_uncertain", "is_historical", "is_family")
_SPAN_KEYS_OK: bool | None = None


def _plain_span_exts() -> dict[str, Any] | None:
    """{name: default} of the assertion extensions, if every registered one is a plain value.

    A plain Span extension lives in ``doc.user_data[("._.", name, start_char, end_char)]`` (spaCy
    3.7's Underscore, checked once on a probe Doc); reading that key is what ``span._.name``
    does, without building an Underscore object per span. None: use ``span._`` (a getter, a
    method, a mutable default, or another key layout).
    """
    global _SPAN_KEYS_OK
    out: dict[str, Any] = {}
    for name in _ASSERTION_EXTS:
        ext = Span.get_extension(name)
        if ext is None:
            continue  # getattr(span._, name, False) is False
        default, method, getter, setter = ext
        if method is not None or getter is not None or setter is not None or isinstance(default, (dict, list, set)):
            return None
        out[name] = default
    if out and _SPAN_KEYS_OK is None:
        from spacy.vocab import Vocab

        probe = Doc(Vocab(), words=["a", "b"])
        span = probe[1:2]
        name = next(iter(out))
        marker = object()
        setattr(span._, name, marker)
        user_data = cast("dict[object, object]", probe.user_data)  # spaCy's own keys are tuples
        _SPAN_KEYS_OK = user_data.get(("._.", name, span.start_char, span.end_char)) is marker and len(user_data) == 1
    return out if (not out or _SPAN_KEYS_OK) else None


# An operation or a reconstruction is done or not: one only "possible" is one weighed, not done.
_DONE_OR_NOT = {"PROCEDURE", "RECON"}


def _assertion_plain(user_data: dict[object, Any], exts: dict[str, Any], start_char: int, end_char: int) -> str:
    """:func:`_assertion` from ``doc.user_data`` (see :func:`_plain_span_exts`)."""

    def get(name: str) -> Any:
        if name not in exts:
            return False
        return user_data.get(("._.", name, start_char, end_char), exts[name])

    if get("is_negated"):
        return "negated"
    if get("is_hypothetical"):
        return "hypothetical"
    if get("is_uncertain"):
        return "possible"
    if get("is_historical") or get("is_family"):
        return "historical"
    return "present"


def _assertion(span: Span) -> str:
    x = span._
    if getattr(x, "is_negated", False):
        return "negated"
    if getattr(x, "is_hypothetical", False):
        return "hypothetical"
    if getattr(x, "is_uncertain", False):
        return "possible"
    if getattr(x, "is_historical", False) or getattr(x, "is_family", False):
        return "historical"
    return "present"


def _section(doc: Doc, span: Span) -> str | None:
    tok = doc[span.start]
    if tok.has_extension("section_category"):
        category: str | None = tok._.section_category
        return category
    return None


def _token_sections(doc: Doc) -> list[str | None] | None:
    """``token._.section_category`` for every token, from ``doc._.sections`` in one pass.

    medspaCy's Sectionizer sets ``token._.section`` to each section of ``doc._.sections`` in
    turn over its ``section_span``; reading it back per span through the extension getters cost
    more than the rest of this component. None when the extensions are not registered.
    """
    if not Token.has_extension("section_category") or not Doc.has_extension("sections"):
        return None
    cats: list[str | None] = [None] * len(doc)
    for sec in doc._.sections or []:
        start, end = sec.section_span
        cats[start:end] = [sec.category] * (end - start)
    return cats


def _section_info(doc: Doc) -> list[Header]:
    """(title_start_char, title_end_char, body_end_char, category) per section."""
    out: list[Header] = []
    if not Doc.has_extension("sections"):
        return out
    n = len(doc)
    for sec in doc._.sections or []:
        if sec.category is None or sec.title_start is None or sec.title_end is None or sec.title_end <= sec.title_start:
            continue
        ts = doc[sec.title_start].idx
        te = doc[sec.title_end - 1].idx + len(doc[sec.title_end - 1].text)
        be = len(doc_text(doc)) if sec.body_end >= n else doc[sec.body_end].idx
        out.append((ts, te, be, sec.category))
    return out


class OpnoteFindings:
    """Builds opnote findings and cues from the candidate span group."""

    def __init__(self, nlp: Language, name: str = "opnote_findings", *, spans_key: str = CANDIDATES_KEY) -> None:
        self.name = name
        self.spans_key = spans_key
        self.attrs = rule_files.target_attrs()
        self.exclusions = rule_files.target_exclusions()
        for ext in ("opnote_findings", "opnote_cues", "opnote_sections", "opnote_sents"):
            if not Doc.has_extension(ext):
                Doc.set_extension(ext, default=None)

    # ------------------------------------------------------------ persistence
    def to_disk(self, path: Any, *, exclude: Any = ()) -> None:
        """Save the attribute table of the target groups, so a saved pipeline is self-contained."""
        import json
        from pathlib import Path

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        data = {
            "attrs": {k: [label, attrs] for k, (label, attrs) in sorted(self.attrs.items())},
            "exclusions": {k: sorted(v) for k, v in sorted(self.exclusions.items())},
        }
        (p / "target_attrs.json").write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")

    def from_disk(self, path: Any, *, exclude: Any = ()) -> OpnoteFindings:
        import json
        from pathlib import Path

        data = json.loads((Path(path) / "target_attrs.json").read_text(encoding="utf-8"))
        self.attrs = {k: (v[0], dict(v[1])) for k, v in data["attrs"].items()}
        self.exclusions = {k: set(v) for k, v in data["exclusions"].items()}
        return self

    # ---------------------------------------------------------------- the records
    def __call__(self, doc: Doc) -> Doc:
        ctx = _DocContext.of(doc)
        doc._.opnote_sections = [
            {"category": c, "title_start": ts, "title_end": te, "end": be} for ts, te, be, c in ctx.sections
        ]
        doc._.opnote_sents = [list(b) for b in ctx.sents]
        cands = list(doc.spans[self.spans_key]) if self.spans_key in doc.spans else []
        findings: list[FindingRecord] = []
        cues: list[FindingRecord] = []
        group: list[Span] = []
        for span in _longest_per_label(cands):
            label = span.label_
            gid = span.id_ or label.lower()
            if self._excluded(doc, span, gid):
                continue
            rec = ctx.record(span, label, gid, dict(self.attrs.get(gid, (label, {}))[1]))
            hdr = ctx.header_of(span)
            if hdr is not None:
                _read_header_field(rec, ctx.text, hdr)
            elif label == "FROZEN" and _BLANK_FIELD_AFTER.match(ctx.text, span.end_char):
                rec["blank_template"] = True  # "Frozen: N/A Disposition: ..." (a form's lines joined)
            if not self._label_attributes(rec, span, doc, ctx, hdr):
                continue
            if rec.get("blank_template"):
                cues.append({**rec, "label": "BLANK_" + label})
                continue
            kind = _kind_of(rec, label)
            if kind is None:
                cues.append(rec)
                continue
            rec["kind"] = kind
            findings.append(rec)
            fs = doc.char_span(rec["start"], rec["end"], label=kind, alignment_mode="expand")
            if fs is not None:
                group.append(fs)
        self._laterality(findings + [c for c in cues if c["label"] == "SITE"], cues, ctx.text)
        doc._.opnote_findings = findings
        doc._.opnote_cues = cues
        doc.spans[FINDINGS_KEY] = group
        return doc

    def _excluded(self, doc: Doc, span: Span, gid: str) -> bool:
        """Whether the word after ``span`` is one its group must not be followed by ("spacer" + "blocks")."""
        if gid not in self.exclusions or span.end >= len(doc):
            return False
        nxt = doc[span.end] if not doc[span.end].is_space or span.end + 1 >= len(doc) else doc[span.end + 1]
        return nxt.lower_ in self.exclusions[gid]

    def _label_attributes(self, rec: FindingRecord, span: Span, doc: Doc, ctx: _DocContext, hdr: Header | None) -> bool:
        """The attributes a label reads from the words around it; False drops the match."""
        label = rec["label"]
        if label == "DIMENSION":
            return _dimension(rec, span, ctx)
        if label == "FROZEN":
            block_end = next((be for ts, te, be, cat in ctx.sections if cat == "frozen_section" and ts <= rec["start"] < be), None)
            if block_end is not None:  # its section, or the block of lines it heads up to a blank line
                blank = ctx.text.find("\n\n", rec["end"])
                blank = blank if blank != -1 else len(ctx.text)
                # ... and not past a field that cannot belong to a frozen section ("EBL: 1600 mL",
                # then "Specimen: thigh sarcoma" is another field, not the frozen section's result).
                other = next((ts for ts, te, be, cat in ctx.sections if block_end <= ts < blank and cat not in FS_BLOCK_FIELDS), blank)
                block_end = max(block_end, other)
            self._frozen(rec, ctx.text, ctx.sents, hdr, block_end)
        elif label == "IMAGING":
            _imaging_contrast(rec, span, ctx)
        elif label == "MARGIN" and rec["attributes"].get("intent") == "intralesional" and _sampling_curettage(rec, ctx):
            return False
        elif label == "TUMOR":
            h = rec["attributes"].get("histology")
            if h is None:
                rec["label"] = "TUMOR_GENERIC"
            else:
                rec["attributes"]["histology"] = _histology(span, ctx.text, rec["attributes"])
        return True

    # ------------------------------------------------------------ attributes
    @staticmethod
    def _frozen(rec: FindingRecord, text: str, sents: list[tuple[int, int]], hdr: Header | None, block_end: int | None = None) -> None:
        if rec["assertion"] == "negated" or FS_UNAVAILABLE_RE.match(text, rec["end"]):
            _frozen_not_sent(rec, text, sents, hdr)
            return
        if hdr is not None:
            window_start, window_end = rec["end"], min(hdr[2], rec["end"] + 400)
            # A template's answer: "Frozen section: Performed: No; Reason: diagnosis established on ..."
            no = FS_PERFORMED_NO_RE.match(text, window_start, window_end)
            if no is not None:
                rec["attributes"]["result"] = "not_performed"
                rec["attributes"]["reason"] = bool(no.group("reason") or FS_REASON_RE.search(text, window_start, window_end))
                rec["attributes"]["site"] = None
                return
            first = text[window_start:window_end].split("\n", 1)[0]
            if _SEE_ELSEWHERE.search(first) and not FS_RESULT_RE.search(first):
                # "FROZEN SECTION: see body of note": the result is told where it points, at most
                # in the lines right under the field, not past a blank line
                blank = text.find("\n\n", window_start, window_end)
                window_end = blank if blank != -1 else window_end
                block_end = min(block_end, window_end) if block_end is not None else window_end
        else:
            s_start, s_end = sents[rec["sent"]] if sents else (0, len(text))
            window_start, window_end = rec["end"], min(s_end, rec["end"] + 300)
            # A following sentence that carries the result ("Frozen sections were sent. Both were negative.")
            next_sent = rec["sent"] + 1
            if next_sent < len(sents) and not FS_RESULT_RE.search(text, window_start, window_end):
                ns, ne = sents[next_sent]
                head = text[ns:min(ne, ns + 120)]
                ends_label = text[s_start:window_end].rstrip().endswith(":")
                if (ends_label or re.match(r"\s*(?:\w+\s+){0,4}?(?:these|this|they|both|all|it|which|the (?:result|frozen|margin|margins|pathologists?))\b", head, re.I)
                        or re.match(r"\s*(?:result|results|read|reading)\b", head, re.I) or NEXT_RESULT_RE.match(head)):
                    window_end = min(ne, ns + 300)
        # A frozen section's result is told in its own paragraph: not past a blank line and a heading.
        window_end = _paragraph_end(text, rec["end"], window_end)
        block_end = _paragraph_end(text, rec["end"], block_end) if block_end is not None else None
        result = _stated_result(text, rec["start"], window_start, window_end)
        if result == "positive" and FS_DIAGNOSIS_DEFERRED_RE.search(text, window_start, window_end) and not _SAID_MALIGNANT.search(text, window_start, window_end):
            result = "pending"  # tumor tissue found, its diagnosis left to the permanents (not "positive for malignant cells")
        if result is None and hdr is None and not _SENT_FOR.search(text, max(0, rec["start"] - 40), rec["start"]):
            s_start, _ = sents[rec["sent"]] if sents else (0, 0)
            before = text[max(s_start, rec["start"] - 200):rec["start"]]
            mb = _last_match(FS_RESULT_RE, before)
            result = mb.lastgroup if mb else None
        if result is None and block_end is not None:
            # Under a frozen-section heading the result may stand lines below ("Specimen: ...",
            # then "Result: negative"): the whole section is about the frozen section.
            m = FS_RESULT_RE.search(text, rec["end"], min(block_end, rec["end"] + 400))
            result = m.lastgroup if m else None
        rec["attributes"]["result"] = result or "unknown"
        ms = FS_SITE_RE.search(text, rec["end"], window_end)
        rec["attributes"]["site"] = ms.group(1).strip().lower() if ms else None

    @staticmethod
    def _laterality(findings: list[FindingRecord], cues: list[FindingRecord], text: str) -> None:
        # "the contralateral right leg", "the other knee": not the tumor's side.
        sides = [
            c for c in cues
            if c["label"] == "SIDE" and c["assertion"] != "negated"
            and not re.search(r"\b(?:contralateral|opposite|other|non-?operative|uninvolved|normal)\s*$", text[max(0, c["start"] - 20):c["start"]], re.I)
        ]
        by_sent: dict[int, list[FindingRecord]] = {}  # sides per sentence, in order
        for s in sides:
            by_sent.setdefault(s["sent"], []).append(s)
        for f in findings:
            if f["label"] != "SITE":
                continue
            best = None
            best_dist = 10**9
            for s in by_sent.get(f["sent"], ()):
                dist = _side_distance(text, s, f)
                if dist is not None and dist < best_dist:
                    best, best_dist = s, dist
            f["attributes"]["laterality"] = best["attributes"]["laterality"] if best else None
            if best:
                f["side_start"], f["side_end"] = best["start"], best["end"]


def _frozen_not_sent(rec: FindingRecord, text: str, sents: list[tuple[int, int]], hdr: Header | None) -> None:
    """A frozen section said not to be sent: whether the note gives the reason."""
    s_start, s_end = sents[rec["sent"]] if sents else (0, len(text))
    if hdr is not None:
        s_end = max(s_end, min(hdr[2], rec["end"] + 300))  # "FROZEN SECTION: not sent - diagnosis established"
    sentence = text[max(s_start, rec["start"] - 200):min(s_end, rec["end"] + 300)]
    rec["attributes"]["result"] = "not_performed"
    rec["attributes"]["reason"] = bool(
        FS_REASON_RE.search(sentence)
        or FS_REASON_AFTER_RE.match(text, rec["end"], min(len(text), rec["end"] + 200))
        or FS_REASON_BEFORE_RE.search(text, max(s_start, rec["start"] - 300), rec["start"])
    )
    if not rec["attributes"]["reason"] and rec["sent"] + 1 < len(sents):
        ns, ne = sents[rec["sent"] + 1]
        nxt = text[ns:min(ne, ns + 300)]
        rec["attributes"]["reason"] = bool(re.match(r"\s*(?:the |this )?(?:diagnosis|biopsy|it|this|freezing|frozen tissue)\b", nxt, re.I) and FS_REASON_RE.search(nxt))
    rec["assertion"] = "present"
    rec["attributes"]["site"] = None


# A curette that samples the marrow at the osteotomies for frozen section, or cleans the removed
# segment on the back table, is not the margin of the operation.
_SAMPLED_AFTER = re.compile(r"\s*(?:of|from)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:medullary canal|canal|marrow|stumps?|osteotomy (?:surface|site|level)s?)\b", re.I)
_SAMPLED_BEFORE = re.compile(r"(?:marrow|medullary|canal)\w*(?:\s+contents?)?(?:\s+(?:was|were))?\s+(?:\w+\s+)?$", re.I)
_BACK_TABLE = re.compile(r"\bback[- ]table\b|\bex vivo\b|\bextracorporeal", re.I)


_FOR_FROZEN = re.compile(r"\b(?:sent|submitted|taken)\b[^.;\n]{0,30}\bfor (?:a )?frozen\b", re.I)
_OLD_TRACT = re.compile(r"\s*(?:tract|scar|cavity of the (?:previous|prior|index))\b", re.I)


def _sampling_curettage(rec: FindingRecord, ctx: _DocContext) -> bool:
    text = ctx.text
    s_start, s_end = ctx.sents[rec["sent"]] if ctx.sents else (0, len(text))
    if _SAMPLED_AFTER.match(text, rec["end"], min(s_end, rec["end"] + 80)) or _OLD_TRACT.match(text, rec["end"], s_end):
        return True
    if _FOR_FROZEN.search(text, s_start, s_end):
        return True  # "medullary contents of the remaining femur were curetted and sent for frozen section"
    if _SAMPLED_BEFORE.search(text, max(s_start, rec["start"] - 40), rec["start"]):
        return True
    return bool(_BACK_TABLE.search(text, s_start, s_end))


def _side_in_capitals_closes(text: str, side: FindingRecord, site: FindingRecord) -> bool:
    """A side in capitals after a site in lower case ("distal femur RIGHT") names it; after a site
    also in capitals (a note typed in capitals), only where it ends the phrase ("DISTAL FEMUR RIGHT,"):
    in "VASTUS INTERMEDIUS LEFT CIRCUMFERENTIALLY ON THE BONE" it is a verb."""
    return not text[site["start"]:site["end"]].isupper() or re.match(r"[ \t]*(?:[,.;:)\]]|\n|$)", text[side["end"]:]) is not None


def _side_distance(text: str, side: FindingRecord, site: FindingRecord) -> int | None:
    """How far a side word stands from the site it names, or None where it does not name it."""
    if site["start"] <= side["start"] and side["end"] <= site["end"]:
        return 0  # "the distal metaphysis of the right femur": the side inside the site's phrase
    if side["end"] <= site["start"]:
        gap = text[side["end"]:site["start"]]
        if len(gap) > 40 or re.search(r"[.;]|\band\b|\bwith\b", gap):
            return None
        if re.search(r"\w\s+-\s", gap):
            return None  # "s/p Lt nephrectomy 2022 - femur lesion": a list's next item after its dash
        if side["text"].endswith(".") and re.search(r"[,:()]", gap):
            return None  # "Psoas off LT. Capsulotomy, hip dislocated": the side's period may end its sentence
        # "against the right side, the femoral osteotomy was planned": "side" closes its own
        # phrase and a new one begins after the comma.
        if re.match(r"\s*sided?\s*,\s*(?:the|a|an|this|that|its|his|her|their)\b", gap, re.I):
            return None
        return len(gap)
    if side["start"] >= site["end"]:
        # After the site only as "femur, right" / "femur (right)" / "femur - RIGHT", or a word that
        # follows its noun ("distaler Femur links", "distal femur re."):
        # "a cuff of vastus intermedius left on the tumor" uses "left" as a verb.
        gap = text[site["end"]:side["start"]]
        if not re.fullmatch(r"\s*[,(:\-]\s*|\s*[,(:\-]?\s*(?:side|sided)\s*[,(:\-]?\s*", gap) and not (
            re.fullmatch(r"\s+", gap)
            and ((side["text"].isupper() and len(side["text"]) > 1 and _side_in_capitals_closes(text, side, site))
                 or side["text"].lower() in rule_files.case_rules().side.after_the_site
                 or text[side["end"]:side["end"] + 6].lower() == "-sided")  # "femur sin." read as "femur left-sided"
        ):
            return None
        return len(gap) + 5
    return None


def _dimension(rec: FindingRecord, span: Span, ctx: _DocContext) -> bool:
    """A dimension's values and what it measures; False when the measurement component kept none."""
    d = ctx.user_data.get(("opnote_dim", span.start_char, span.end_char))
    if d is None:
        return False
    measures = d["measures"]
    if measures == "other" and rec["section"] == "specimens" and not _implant_size(ctx.text, rec["start"], rec["end"]):
        # "Specimen: right distal femur ... 19 x 11 x 10 cm"; not an implant's size that a section
        # under the specimen's heading goes on to ("... body segment 100 mm, 12 mm stem")
        measures = "specimen"
    rec["attributes"] = {"values_mm": d["values_mm"], "measures": measures}
    if _DENIED_NUMBER.search(ctx.text, max(0, rec["start"] - 16), rec["start"]):
        rec["assertion"] = "negated"  # "eighteen centimeters, not eighty centimeters as transcribed"
    return True


# An implant's part named just before or after a size, in its clause.
_IMPLANT_PART = r"\b(?:stems?|body|segment|component|prosthe\w*|implant|spacer|nail|plate|screws?|trial|bushing|liner|head|collar|poly\w*)\b"
_IMPLANT_SIZE_BEFORE = re.compile(_IMPLANT_PART + r"[^.;:\d]{0,15}\Z", re.I)
_IMPLANT_SIZE_AFTER = re.compile(r"[^.;:,\d]{0,20}?" + _IMPLANT_PART, re.I)


def _implant_size(text: str, start: int, end: int) -> bool:
    """Whether the size at text[start:end] is an implant part's ("body segment 100 mm", "12 mm cemented stem")."""
    return bool(_IMPLANT_SIZE_BEFORE.search(text, max(0, start - 40), start) or _IMPLANT_SIZE_AFTER.match(text, end, end + 40))
# A measurement denied where it is given ("18 cm, not 80 cm as transcribed above"): a correction.
_DENIED_NUMBER = re.compile(r"\b(?:not|rather than|instead of)\s+\Z", re.I)


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text):
        last = m
    return last


def _longest_per_label(cands: list[Span]) -> list[Span]:
    """Longest match wins within one label (keeps "distal femur" over "femur"), in note order."""
    by_label: dict[str, list[Span]] = {}
    for s in cands:
        by_label.setdefault(s.label_, []).append(s)
    kept: list[Span] = []
    for spans in by_label.values():
        kept.extend(filter_spans(spans))
    kept.sort(key=lambda s: (s.start_char, -s.end_char))
    return kept


# A field left blank mid-line, up to the next field: "Frozen: N/A Disposition: ...", "Frozen section
# .......... N/A 7. Implants", once a form's lines were joined; also with a remark in brackets before
# its colon ("TRANS-OPERATIVE BIOPSY (estudio por congelacion): N/A"), the match before it or in it.
_BLANK_FIELD_AFTER = re.compile(
    r"[ \t]*(?:\([^()\n]{0,40}\)|\))?[ \t]*(?:\.{2,}[ \t]*:?|:)[ \t]*(?i:n/?a|not applicable|tbd|_{2,}|\*{3})[ \t]*"
    r"(?:$|\n|(?=[A-Z][A-Za-z /()-]{0,30}:|\d{1,2}[.)]\s|\[|[A-Z][A-Za-z /()-]{0,30}?[ \t]*\.{2,}))"
)


# A blank field whose heading has a remark in brackets before its colon: "(congelacion): N/A".
_BLANK_AFTER_REMARK = re.compile(r"^[ \t]*\([^()\n]{0,40}\)[ \t]*[:.]*[ \t]*(?:n/?a|not applicable|not recorded|tbd|_{2,}|\*{3})[\s_\-.:*]*$", re.I)


def _read_header_field(rec: FindingRecord, text: str, hdr: Header) -> None:
    """A match inside a section heading: the field after it may be blank ("FROZEN SECTION: ___")
    or say none was done ("FROZEN SECTION: not sent")."""
    body = text[hdr[1]:hdr[2]]
    first_line = body.split("\n", 1)[0] if body.strip("\n ") else ""
    whole_line = first_line
    if first_line.strip():
        # the field's value ends where the next field or list item starts on the same line
        # ("FROZEN SECTION: ___ 6. SPECIMEN: ..." once the lines of a note were joined)
        nxt = _NEXT_FIELD_ON_LINE.search(first_line)
        if nxt and first_line[:nxt.start()].strip(" -*"):  # not a list's first item ("FROZEN SECTION: - Proximal margin: ...")
            first_line = first_line[:nxt.start()]
    value = first_line if first_line.strip() else body
    if not body.strip() or BLANK_RE.match(value) or _BLANK_AFTER_REMARK.match(whole_line):
        rec["blank_template"] = True
    elif NONE_RE.match(body):
        rec["assertion"] = "negated"
    rec["header"] = True


def _imaging_contrast(rec: FindingRecord, span: Span, ctx: _DocContext) -> None:
    text = ctx.text
    s_start, s_end = ctx.sents[rec["sent"]] if ctx.sents else (0, len(text))
    # Windows around the mention stay bounded, so a giant one-sentence note stays linear.
    m = CONTRAST_RE.search(text, max(s_start, span.start_char - 200), min(s_end, span.end_char + 200))
    if m:
        rec["attributes"]["contrast"] = "without" if re.match(r"(?i)without contrast|non-?contrast", m.group(0)) else "with"


def _kind_of(rec: FindingRecord, label: str) -> str | None:
    """The contract's finding kind of a record; None for a cue."""
    if label == "SITE" and rec["attributes"].get("site") not in CONTRACT_SITES:
        return None  # tibia, fibula, pelvis, thigh, limb: scoring cues, not 27365 sites
    return KIND_BY_LABEL.get(rec["label"])


@dataclass(slots=True)
class _DocContext:
    """What every record of one Doc is read against: its text, sentences and sections."""

    doc: Doc
    text: str
    sents: list[tuple[int, int]]
    sent_starts: list[int]
    sections: list[Header]
    title_starts: list[int]
    titles_apart: bool
    tok_sections: list[str | None] | None
    plain_exts: dict[str, Any] | None
    user_data: dict[object, Any]

    @classmethod
    def of(cls, doc: Doc) -> _DocContext:
        sents = [(s.start_char, s.end_char) for s in doc.sents] if len(doc) else []
        sections = _section_info(doc)
        return cls(
            doc=doc,
            text=doc_text(doc),
            sents=sents,
            sent_starts=[s for s, _ in sents],
            sections=sections,
            # Section titles come sorted and apart (pruned matches), so at most the last title
            # starting at or before a span can hold it: a bisect instead of a scan per span, which
            # grew with the square of the note's length.
            title_starts=[ts for ts, _, _, _ in sections],
            titles_apart=all(a[1] <= b[0] for a, b in itertools.pairwise(sections)),
            tok_sections=_token_sections(doc),
            plain_exts=_plain_span_exts(),
            user_data=cast("dict[object, Any]", doc.user_data),  # spaCy's own keys are tuples
        )

    def sent_index(self, char: int) -> int:
        return max(0, bisect.bisect_right(self.sent_starts, char) - 1)

    def header_of(self, span: Span) -> Header | None:
        """The section heading ``span`` stands in, if any."""
        if self.titles_apart:
            k = bisect.bisect_right(self.title_starts, span.start_char) - 1
            if k >= 0:
                ts, te, be, cat = self.sections[k]
                if span.start_char >= ts and span.end_char <= te:
                    return ts, te, be, cat
            return None
        for ts, te, be, cat in self.sections:
            if span.start_char >= ts and span.end_char <= te:
                return ts, te, be, cat
        return None

    def record(self, span: Span, label: str, gid: str, attrs: dict[str, Any]) -> FindingRecord:
        """The record of one match, with its section, sentence and assertion."""
        start, end = span.start_char, span.end_char
        plain = self.plain_exts
        assertion = _assertion_plain(self.user_data, plain, start, end) if plain is not None else _assertion(span)
        if assertion == "possible" and label in _DONE_OR_NOT:
            assertion = "hypothetical"  # "resection versus amputation": an option, not a done thing
        rec: FindingRecord = {
            "label": label,
            "id": gid,
            "start": start,
            "end": end,
            "text": self.text[start:end],  # == span.text, without a Token per word
            "section": self.tok_sections[span.start] if self.tok_sections is not None else _section(self.doc, span),
            "assertion": assertion,
            "sent": self.sent_index(start),
            "attributes": attrs,
        }
        if label in LOCAL_NEGATION_LABELS and rec["assertion"] == "present":
            s_start = self.sents[rec["sent"]][0] if self.sents else 0
            if PRE_NEGATION_RE.search(self.text[max(s_start, start - 40):start]):
                rec["assertion"] = "negated"
        elif label == "IMAGING" and rec["assertion"] == "present":
            s_start = self.sents[rec["sent"]][0] if self.sents else 0
            if IMAGING_NEGATION_RE.search(self.text, max(s_start, start - 40), start) and not IMAGING_FINDING_AFTER.match(self.text, end):
                rec["assertion"] = "negated"
        return rec
