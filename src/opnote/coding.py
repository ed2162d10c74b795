"""Coding knowledge: ICD-10-CM alignment, code-selection, modifier and bundling advisories.

Everything here reads the settled :class:`~opnote.case.Case` (what was done, to which tissue, on
which side, when) and never re-derives those facts from words. Every rule encodes a fact the
project's coding reference marks *verified* or *likely*, and each advisory says which; facts it
marks unverified (pair-specific NCCI edits, 27358, whether 27445 is reported beside 27365, the
patella's Neoplasm Table entry) are never stated as rules. Companion ICD-10-CM codes are judged
from the tabular's own notes (use additional code, code also, code first, excludes1) as
``simple_icd_10_cm`` exposes them, plus guideline I.C.2 for a metastasis with its primary or its
history. ``simple_icd_10_cm`` (the official FY2026 tabular, slow to import) is imported only when
a claim code is checked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

from . import rules as rule_files
from .errors import CodeError
from .schema import Advisory, Confidence, Diagnosis, Evidence, FeeContext, GlobalPeriod

if TYPE_CHECKING:  # pragma: no cover
    from .case import Case, Span
    from .mentions import Mention, NoteView
    from .rules import Checklist, CodeEntry

ICD_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](?:\.?[0-9A-TV-Z]{1,4})?$", re.I)
CODE_IN_TEXT = re.compile(r"\b([A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?)(-?)(?:\s*-\s*([A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?))?")
PUBLIC_SITE = {"tibia": "tibia_shaft", "thigh": "thigh_soft_tissue", "calf": "leg_soft_tissue"}
SIDE_DIGIT = {"right": "1", "left": "2"}
FEMUR_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "knee", "patella"}
TIBIA_SITES = {"proximal_tibia", "tibia", "fibula"}
LEG_SOFT_TISSUE = {"calf", "tibia", "proximal_tibia", "fibula"}
UNCERTAIN_OK = ("D49", "R22", "M89.8", "D48", "R93")

BUNDLING_SOURCE = "CPT reconstruction and graft codes as published code tables describe them; CPT graft guidelines (harvest included in 27357; 20900/20902 need a separate incision); pair edits: the current NCCI PTP tables"
NCCI_REMINDER = "Check the pair against the current quarter's NCCI procedure-to-procedure edits before billing it with the resection."


# ----------------------------------------------------------------------------- the tabular
def _icd() -> ModuleType:
    import warnings

    with warnings.catch_warnings():
        # The package reads its data with importlib.resources' legacy API (DeprecationWarning).
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm  # noqa: PLC0415 - lazy on purpose (about a second to import)

        cm.is_valid_item("C40.21")  # the tabular is parsed on first use: do it inside the filter
    return cm


def normalize_icd(code: str) -> str:
    """Upper-case, add the dot after the category: "c4021" -> "C40.21"."""
    c = code.strip().upper().replace(" ", "")
    if not ICD_RE.match(c):
        raise CodeError(f"{code!r} is not an ICD-10-CM code")
    c = c.replace(".", "")
    return c if len(c) <= 3 else c[:3] + "." + c[3:]


def validate_claim_codes(codes: list[str]) -> list[str]:
    """Normalize claim codes; an unknown code is a :class:`CodeError` naming it."""
    out = []
    for code in codes:
        c = normalize_icd(code)
        if not _icd().is_valid_item(c):
            raise CodeError(f"{code!r} is not in the ICD-10-CM FY2026 tabular")
        out.append(c)
    return out


def _bare(code: str) -> str:
    return code.replace(".", "").upper()


def _matches(pattern: tuple[str, str | None], code: str) -> bool:
    """Does ``code`` fall under a tabular reference: "M89.7-" (a family), "C40-C41" (a range), "C79.51"?"""
    first, last = pattern
    c = _bare(code)
    a = _bare(first)
    if last is None:
        return c.startswith(a)
    b = _bare(last)
    return a[: len(c)] <= c[: len(a)] <= b or c.startswith(b)


@lru_cache(maxsize=512)
def _notes(code: str) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """The code references in the tabular notes of ``code`` and its ancestors, by kind."""
    cm = _icd()
    kinds = {
        "companion": (cm.get_use_additional_code, cm.get_code_also, cm.get_code_first),
        "excludes1": (cm.get_excludes1,),
    }
    out: dict[str, tuple[tuple[str, str | None], ...]] = {}
    chain = [code] + [a for a in cm.get_ancestors(code) if ICD_RE.match(a)]
    for kind, getters in kinds.items():
        refs: list[tuple[str, str | None]] = []
        for c in chain:
            for get in getters:
                note = get(c)
                texts = note if isinstance(note, list) else [note]
                for t in texts:
                    for m in CODE_IN_TEXT.finditer(t or ""):
                        refs.append((m.group(1), m.group(3)))
                    if kind == "companion" and t and "neoplasm" in t.lower() and not CODE_IN_TEXT.search(t):
                        refs.append(("C00", "D49.9"))  # "code also underlying neoplasm"
        out[kind] = tuple(refs)
    return out


def _companion(a: str, b: str) -> bool:
    """Whether the tabular (or guideline I.C.2) pairs ``a`` with ``b``."""
    if any(_matches(p, b) for p in _notes(a)["companion"]) or any(_matches(p, a) for p in _notes(b)["companion"]):
        return True
    # I.C.2: a secondary neoplasm is coded with its primary site, or the primary's history (Z85.-).
    # A bone or soft-tissue primary code (C40, C41, C49) beside a bone metastasis claims the wrong
    # primary, not a companion.
    for x, y in ((a, b), (b, a)):
        primary = ("C00" <= _bare(y)[:3] <= "C76") and _bare(y)[:3] not in ("C40", "C41", "C49")
        if _bare(x)[:3] in ("C77", "C78", "C79") and (primary or _bare(y).startswith("Z85")):
            return True
    return False


def _excluded(a: str, b: str) -> bool:
    return any(_matches(p, b) for p in _notes(a)["excludes1"]) or any(_matches(p, a) for p in _notes(b)["excludes1"])


# ----------------------------------------------------------------------------- expected codes
def _histology(case: Case) -> str:
    return str(case.tumor.attr("histology") or "").lower() if case.tumor is not None else ""


def expected_codes(case: Case) -> list[str]:
    """The ICD-10-CM codes the note's settled case supports."""
    if not case.current_tumor:
        return {"primary_malignant_bone": ["Z85.830"], "soft_tissue_sarcoma": ["Z85.831"]}.get(case.historical_category or "", []) if case.tumor_status.value == "historical" else []
    if case.certainty != "confirmed":
        return ["D49.2"]
    codes = _tumor_codes(case)
    if case.fracture and case.site in {"distal_femur", "femoral_shaft", "proximal_femur", "femur"}:
        codes.append({"right": "M84.551A", "left": "M84.552A"}.get(case.laterality or "", "M84.553A"))
    return codes


def _tumor_codes(case: Case) -> list[str]:
    cat, site, h = case.category, case.site, _histology(case)
    d = SIDE_DIGIT.get(case.laterality or "", "0")
    if cat == "primary_malignant_bone":
        if site == "pelvis":
            return ["C41.4"]
        return [("C40.3" if site == "patella" else "C40.2") + d]
    if cat == "metastatic_bone":
        return ["C79.51"]
    if cat == "soft_tissue_sarcoma":
        return [("C47.2" if "nerve sheath" in h else "C49.2") + d]
    if cat == "benign_aggressive_bone":
        return _benign_bone_codes(case, h, d)
    if cat == "uncertain_behavior_bone":
        return ["D48.0"]
    if cat == "hematologic":
        if "lymphoma" in h:  # the diagnosis line's "lymphoma of bone", the history's type
            h = " ".join([h] + [x for x in case.histologies if "lymphoma" in x])
        return _hematologic_codes(h)
    return []


def _benign_bone_codes(case: Case, h: str, d: str) -> list[str]:
    """A benign aggressive tumor's code; the non-neoplastic lesions are coded in chapter 13 (M85) or 17."""
    site = case.site
    leg = site in TIBIA_SITES
    side9 = SIDE_DIGIT.get(case.laterality or "", "9")
    if "aneurysmal" in h:
        return [("M85.56" if leg else "M85.55") + side9]
    if "fibrous dysplasia" in h:
        return ["Q78.1"] if "polyostotic" in h else [("M85.06" if leg else "M85.05") + side9]
    if "bone cyst" in h:
        return []  # M85.4-: the femur's place in the Neoplasm Table index could not be verified
    return [("D16.3" if site == "patella" else "D16.2") + d]


def _hematologic_codes(h: str) -> list[str]:
    if "myeloma" in h and "solitary" not in h:
        return ["C90.00"]
    if "lymphoma" in h:
        return ["C83.398"] if ("large b" in h or "dlbcl" in h or "diffuse" in h) else []
    return ["C90.30"]


def _family(code: str) -> str:
    c = _bare(code)
    table = [
        (("C40", "C41"), "primary_malignant_bone"), (("C795",), "metastatic_bone"), (("C49", "C47"), "soft_tissue_sarcoma"),
        (("D16",), "benign_aggressive_bone"), (("M855", "M850", "M854", "Q781"), "non_neoplastic_bone_lesion"), (("D48",), "uncertain_behavior_bone"),
        (("C90", "C83", "C84", "C85"), "hematologic"), (("D49", "R22", "M898", "R93"), "uncertain"),
        (("M845",), "fracture"), (("Z85",), "history"), (("T84",), "complication"), (("M897",), "osseous_defect"),
    ]
    for prefixes, fam in table:
        if c.startswith(prefixes):
            return fam
    return "other"


_TUMOR_FAMILIES = frozenset({
    "primary_malignant_bone", "metastatic_bone", "soft_tissue_sarcoma", "benign_aggressive_bone", "uncertain_behavior_bone", "hematologic",
})


def _side_of(code: str) -> str | None:
    c = _bare(code)
    if c[:3] in {"C40", "C49", "C47", "D16", "D21", "R22"} and len(c) >= 5:
        return {"1": "right", "2": "left", "0": "unspecified"}.get(c[4])
    if c.startswith(("M8455",)) and len(c) >= 6:
        return {"1": "right", "2": "left", "3": "unspecified"}.get(c[5])
    if c.startswith(("M8555", "M8556", "M8505", "M8506", "M8975")) and len(c) >= 6:
        return {"1": "right", "2": "left", "9": "unspecified"}.get(c[5])
    return None


# ----------------------------------------------------------------------------- diagnosis
def assess_diagnosis(case: Case, claim: list[str], text: str) -> tuple[Diagnosis, str, str, list[Advisory]]:
    """The diagnosis block, the ``diagnosis_code`` status and message, and laterality advisories."""
    expected = expected_codes(case)
    tumor_type = str(case.tumor.attr("histology")) if case.tumor is not None and case.tumor.attr("histology") else None
    diag = Diagnosis(
        tumor_type=tumor_type,
        category=case.category if case.current_tumor and case.certainty == "confirmed" else "unknown",  # type: ignore[arg-type]
        laterality=case.laterality if case.current_tumor else None,  # type: ignore[arg-type]
        certainty=case.certainty if case.current_tumor else "none",  # type: ignore[arg-type]
        site=PUBLIC_SITE.get(case.site or "", case.site),
        expected_icd10=expected,
        claim_icd10=list(claim),
    )
    if not case.current_tumor or (case.tumor is None and case.certainty != "uncertain"):
        return _no_tumor(diag, claim, expected)
    if case.certainty != "confirmed":
        return _uncertain(diag, claim)
    if not claim:
        diag.consistent = None
        if not expected:
            return diag, "partial", "The documented tumor type does not settle one ICD-10-CM code; name the histology as pathology reports it.", []
        unspecified = [c for c in expected if _side_of(c) == "unspecified"]
        if unspecified:
            # docs/items.md: met needs one specific code, the side known
            return diag, "partial", (f"The note does not state the side, so it supports only {', '.join(unspecified)} "
                                     "(side unspecified); state the side of the tumor."), []
        return diag, "met", f"The note supports {', '.join(expected)}; give the claim's codes with --icd10 to check them.", []
    return _check_claim(case, diag, claim, expected, text)


def _no_tumor(diag: Diagnosis, claim: list[str], expected: list[str]) -> tuple[Diagnosis, str, str, list[Advisory]]:
    msg = "No current tumor type is documented, so no neoplasm code is supported."
    if expected:
        msg += f" A tumor treated before with none now is coded as its history ({', '.join(expected)})."
    neoplasm = [c for c in claim if _family(c) not in ("history", "complication", "other", "osseous_defect")]
    if neoplasm:
        diag.consistent = False
        diag.problems.append("claim codes a neoplasm the note does not document as current")
        return diag, "conflict", msg + f" The claim gives {', '.join(neoplasm)}.", []
    diag.consistent = None if not claim else True
    diag.companions = [c for c in claim if _family(c) in ("history", "complication")]
    return diag, "missing", msg, []


def _uncertain(diag: Diagnosis, claim: list[str]) -> tuple[Diagnosis, str, str, list[Advisory]]:
    msg = ("The diagnosis is uncertain (suspected / rule out / pending). On a professional or outpatient claim "
           "only the confirmed code may be reported: it needs confirmed pathology or the postoperative diagnosis. "
           "Until then the note supports D49.2 (neoplasm of unspecified behavior of bone).")
    confirmed = [c for c in claim if not c.startswith(UNCERTAIN_OK) and _family(c) not in ("fracture", "history", "osseous_defect")]
    if confirmed:
        diag.consistent = False
        diag.problems.append(f"{', '.join(confirmed)} codes a confirmed diagnosis the note leaves uncertain")
        return diag, "conflict", (f"The claim gives {', '.join(confirmed)}, a confirmed diagnosis, but the note documents it only as "
                                  "suspected or pending; uncertain diagnoses are not coded as confirmed on a professional or "
                                  "outpatient claim (ICD-10-CM guidelines, Section IV). Code D49.2 or the sign, or add the confirmation."), []
    diag.consistent = None
    return diag, "partial", msg, []


def _check_claim(case: Case, diag: Diagnosis, claim: list[str], expected: list[str], text: str) -> tuple[Diagnosis, str, str, list[Advisory]]:
    judged = _ClaimCheck(case, claim, expected, diag.tumor_type)
    for code in claim:
        judged.judge(code)
    for i, a in enumerate(claim):
        for b in claim[i + 1:]:
            if _excluded(a, b):
                judged.problems.append(f"{a} and {b} may not be coded together (an Excludes1 note of the tabular)")
    return _claim_result(diag, claim, judged)


class _ClaimCheck:
    """The claim's codes judged one by one against the codes the note supports."""

    def __init__(self, case: Case, claim: list[str], expected: list[str], tumor_type: str | None) -> None:
        self.cm = _icd()
        self.case, self.claim, self.expected, self.tumor_type = case, claim, expected, tumor_type
        self.primary = expected[0] if expected else None
        self.exp_family = _family(self.primary) if self.primary else None
        self.problems: list[str] = []
        self.partial: list[str] = []
        self.advisories: list[Advisory] = []
        self.companions: list[str] = []

    def judge(self, code: str) -> None:
        cm = self.cm
        primary, exp_family = self.primary, self.exp_family
        if not cm.is_leaf(code):
            kids = list(cm.get_children(code)) if cm.is_valid_item(code) else []
            self.problems.append(f"{code} is a category, not a billable code; use one of {', '.join(kids[:8])}")
            return
        fam = _family(code)
        if primary and fam != exp_family and code not in self.expected:
            if self._companion(code, fam):
                self.companions.append(code)
                same = next((e for e in self.expected if _family(e) == fam), None)
                side_problem = _side_problem(self.case, code, same or "the sided code")
                if side_problem is not None:  # a companion's side is judged like the tumor code's
                    self._side(code, *side_problem)
            else:
                self.problems.append(_mismatch(code, fam, exp_family or "", primary, self.tumor_type))
            return
        side_problem = _side_problem(self.case, code, primary)
        if side_problem is not None:
            self._side(code, *side_problem)
            return
        if primary and fam == exp_family == "primary_malignant_bone" and code[:5] != primary[:5]:
            self.partial.append(f"{code} and the expected {primary} differ in the bone group (long vs short bones of the lower limb)")

    def _companion(self, code: str, fam: str) -> bool:
        """A code of another family that the tabular pairs with the tumor's code, or a fracture."""
        # A fracture's "code also the underlying neoplasm" names the tumor's own code: another
        # tumor code (a primary bone code beside a metastasis) is not that neoplasm.
        tumor_code = fam in _TUMOR_FAMILIES
        if any(_companion(e, code) for e in self.expected if not (tumor_code and _family(e) == "fracture")):
            return True
        if any(_companion(o, code) for o in self.claim if o != code and _family(o) == self.exp_family):
            return True
        return fam == "fracture"

    def _side(self, code: str, kind: str, msg: str) -> None:
        (self.problems if kind == "conflict" else self.partial).append(msg)
        if kind == "conflict":
            self.advisories.append(Advisory(kind="laterality", code=code, message=f"Claim code {code} is {_side_of(code)}-sided; the note documents the {self.case.laterality} side. Laterality must agree (ICD-10-CM I.B.13).", confidence="verified", source="ICD-10-CM Official Guidelines I.B.13"))


def _claim_result(diag: Diagnosis, claim: list[str], judged: _ClaimCheck) -> tuple[Diagnosis, str, str, list[Advisory]]:
    problems, partial, companions, advisories = judged.problems, judged.partial, judged.companions, judged.advisories
    diag.companions = companions
    diag.problems = problems + partial
    if problems:
        diag.consistent = False
        return diag, "conflict", "The claim's diagnosis code contradicts the note: " + "; ".join(problems) + ".", advisories
    if partial:
        diag.consistent = False
        return diag, "partial", "The claim's diagnosis code is less specific than the note: " + "; ".join(partial) + ".", advisories
    diag.consistent = True
    main = [c for c in claim if c not in companions]
    tail = f"; {', '.join(companions)} {'are' if len(companions) > 1 else 'is a'} legitimate companion code{'s' if len(companions) > 1 else ''} (tabular notes / guideline I.C.2)" if companions else ""
    return diag, "met", f"The claim's code{'s' if len(main) > 1 else ''} ({', '.join(main)}) {'match' if len(main) > 1 else 'matches'} the documented tumor, site and side{tail}.", advisories


def _mismatch(code: str, fam: str, exp_family: str, primary: str, tumor_type: str | None) -> str:
    if {fam, exp_family} == {"primary_malignant_bone", "metastatic_bone"}:
        return f"{code} codes a {fam.replace('_', ' ')} tumor but the note documents {exp_family.replace('_', ' ')} ({tumor_type})"
    if {fam, exp_family} == {"primary_malignant_bone", "soft_tissue_sarcoma"}:
        return f"{code} codes a {fam.replace('_', ' ')} but the note documents a {exp_family.replace('_', ' ')} ({tumor_type}); the code follows the tissue the tumor arose in"
    if {fam, exp_family} == {"benign_aggressive_bone", "non_neoplastic_bone_lesion"}:
        return f"{code} codes a benign neoplasm, but {tumor_type or 'the lesion'} is not a neoplasm in ICD-10-CM (expected {primary})"
    if fam == "benign_aggressive_bone" and exp_family in {"primary_malignant_bone", "metastatic_bone", "soft_tissue_sarcoma"}:
        return f"{code} is a benign code but the note documents a malignant tumor ({tumor_type})"
    return f"{code} does not match the documented tumor ({tumor_type}, expected {primary})"


def _side_problem(case: Case, code: str, primary: str | None) -> tuple[str, str] | None:
    cs = _side_of(code)
    if cs in {"right", "left"} and case.laterality and cs != case.laterality:
        return "conflict", f"{code} is {cs}-sided but the note documents the {case.laterality} side"
    if cs == "unspecified" and case.laterality:
        return "partial", f"{code} leaves the side unspecified but the note documents the {case.laterality} side (use {primary})"
    return None


# ----------------------------------------------------------------------------- code selection
def _ev(text: str, spans: Iterable[Span], limit: int = 4) -> list[Evidence]:
    out: list[Evidence] = []
    for s, e in spans:
        if len(out) >= limit:
            break
        out.append(Evidence(start=s, end=e, text=text[s:e]))
    return out


def _m_spans(ms: Iterable[Mention]) -> list[Span]:
    return [(m.start, m.end) for m in ms]


def _advice(entry: CodeEntry, code: str, msg: str, text: str, ev: list[Span]) -> Advisory:
    return Advisory(kind="code_selection", code=code, message=msg, confidence=entry.confidence, source=entry.source, evidence=_ev(text, ev))


def code_selection(case: Case, view: NoteView, cl: Checklist) -> list[Advisory]:
    """Advisories naming the code the case's facts point to, when it is not the one checked."""
    table = rule_files.coding().operation_codes
    op = case.operation.value or "unknown"
    text = view.text
    ev = case.operation.evidence
    if op in ("amputation", "disarticulation"):
        entry = table[op].get(case.amputation_level.value or "")
        if entry is None or entry.code is None:
            return [Advisory(kind="code_selection", code=None, message=f"The note describes an amputation ({case.amputation_level.value or 'level not stated'}), not a radical resection with limb salvage; the amputation code follows the level.", evidence=_ev(text, ev))]
        return [_advice(entry, entry.code, f"The note describes {entry.what}: report the amputation code ({entry.code}), not a radical resection with limb salvage.", text, ev)]
    if op == "intralesional":
        return _curettage(case, view, table["intralesional"])
    if op == "soft_tissue_resection" or (op == "radical_resection" and case.tissue.value == "soft_tissue"):
        return _soft_tissue(case, view, table["soft_tissue_resection"])
    if op == "prophylactic_fixation" and case.site in FEMUR_SITES | {None}:
        entry = table["prophylactic_fixation"]["femur"]
        return [_advice(entry, entry.code or "", f"The note describes {entry.what} without a tumor resection: report {entry.code}.", text, ev)]
    if op == "arthroplasty":
        said = " ".join(text[s:e] for s, e in ev)
        if re.search(r"\bhemi-?arthroplast", said, re.I):
            # a partial joint replacement: neither the total knee nor the total hip code
            return _no_code("a hemiarthroplasty without a tumor resection", cl, text, ev)
        joint = "hip" if re.search(r"\bhip\b|acetabul|femoral head", said, re.I) else "knee"
        entry = table["arthroplasty"][joint]
        return [_advice(entry, entry.code or "", f"The note describes {entry.what} without a tumor resection: report {entry.code}.", text, ev)]
    if op in ("biopsy", "revision", "other"):
        what = {"biopsy": "a biopsy, not a resection", "revision": "a revision of an earlier reconstruction, not a tumor resection", "other": "no tumor resection"}[op]
        return _no_code(what, cl, text, ev)
    if op == "radical_resection" and case.current_tumor and case.site in cl.better_code_for_site:
        code = cl.better_code_for_site[case.site]
        where = case.site.replace("_", " ")
        also = f" (the {where} is in the {cl.code} checklist's region, but the code follows the bone)" if case.site in cl.sites else ""
        return [Advisory(kind="code_selection", code=code, message=f"The tumor is in the {where}: a radical resection there is reported as {code}, not {cl.code}{also}.", evidence=_ev(text, _m_spans(case.site_evidence)), source="CPT bone tumor radical resection codes are chosen by bone (27365 femur/knee, 27645 tibia, 27646 fibula, 27075-27078 pelvis)")]
    return []


def _no_code(what: str, cl: Checklist, text: str, ev: Iterable[Span]) -> list[Advisory]:
    """The advice for an operation that is not the checklist's and for which this reference names no code."""
    return [Advisory(kind="code_selection", code=None, message=f"The note describes {what}; {cl.code} does not apply, and this reference names no code for it.", evidence=_ev(text, ev))]


def _graft(view: NoteView) -> str:
    kinds = {m.attr("kind") for m in view.of("RECON") if m.present}
    if "autograft" in kinds:
        return "autograft"
    if "allograft" in kinds or any(re.search(r"\b(?:bone chips|cancellous|dbm|demineralized|bone graft substitute)\b", m.text, re.I) for m in view.of("RECON")):
        return "allograft"
    return "none"


def _curettage(case: Case, view: NoteView, table: dict[str, CodeEntry]) -> list[Advisory]:
    bone = "tibia" if case.site in TIBIA_SITES else "femur" if case.site in FEMUR_SITES | {None} else None
    if bone is None:
        return []
    entry = table[bone]
    graft = _graft(view)
    code = getattr(entry, graft) or entry.none or ""
    with_graft = {"none": "", "allograft": " with allograft (bone chips, cancellous allograft or DBM are part of it)", "autograft": " with autograft (its harvest is included)"}[graft]
    msg = f"The note describes {entry.what}{with_graft}, not a radical resection: report {code}."
    return [_advice(entry, code, msg, view.text, case.operation.evidence)]


def soft_tissue_size_mm(view: NoteView) -> tuple[float | None, list[Mention]]:
    """Greatest tumor diameter plus the narrowest margin, as the soft-tissue codes measure size."""
    dims = [m for m in view.of("DIMENSION") if m.present]
    # The tumor's own size may come from the imaging in the history: it is still this tumor's size.
    sized = [m for m in view.of("DIMENSION") if m.present or (m.is_("historical") and m.attr("measures") == "tumor")]
    tumor = [m for m in sized if m.attr("measures") in ("tumor", "specimen") and m.attr("values_mm")]
    if not tumor:
        return None, []
    biggest = max(tumor, key=lambda m: max(m.attr("values_mm")))
    size = float(max(biggest.attr("values_mm")))
    margins = [m for m in dims if m.attr("measures") == "margin_distance" and m.attr("values_mm")]
    used = [biggest]
    if margins and biggest.attr("measures") == "tumor":
        narrow = min(margins, key=lambda m: min(m.attr("values_mm")))
        size += float(min(narrow.attr("values_mm")))
        used.append(narrow)
    return size, used


def _soft_tissue(case: Case, view: NoteView, table: dict[str, CodeEntry]) -> list[Advisory]:
    leg = case.site in LEG_SOFT_TISSUE  # the case's site: a gastrocnemius named in a thigh operation is not the tumor's
    entry = table["leg" if leg else "thigh"]
    size, used = soft_tissue_size_mm(view)
    small, large = entry.small or "", entry.large or ""
    if size is None:
        code, why = f"{small}/{large}", f"no size given: under 5 cm is {small}, 5 cm or more {large}"
    else:
        code = large if size >= 50 else small
        why = f"tumor plus narrowest margin {size / 10:g} cm" if len(used) > 1 else f"measured {size / 10:g} cm"
    msg = f"The note describes a soft-tissue tumor resected without bone: report {entry.what} ({code}; {why})."
    ev = case.tissue.evidence + _m_spans(used)
    return [_advice(entry, code, msg, view.text, ev)]


# ----------------------------------------------------------------------------- modifiers
EBL_RE = re.compile(r"(?:estimated blood loss|\bebl\b|blood loss)[^0-9a-z]{0,12}(?:was |of |approximately |about |approx\.? |~)*(\d[\d,]*(?:\.\d+)?)\s*(ml|cc|l|liters?|milliliters?)\b", re.I)
TUMOR_STAGE_RE = re.compile(r"\b(?:enneking|ajcc|msts|tnm|musculoskeletal tumou?r society|clinical(?:ly)?|patholog\w*|tumou?r|disease|cancer|sarcoma)\s+(?:stag\w*)|\bstage[d]?\s+(?:[0-4]|i{1,3}v?|iv)[abc]?\b(?![^.;]{0,40}\b(?:procedure|reconstruction|operation|surgery|resection|return|revision)\b)", re.I)
SEPARATE_CODE_RE = re.compile(r"\b(?:separate(?:ly)? (?:note|dictat\w+|report\w*|operative (?:note|report)|procedure note|code)|(?:will|to) dictate (?:separately|their own|his own|her own)|under (?:a |their |his |her )?(?:own|separate) (?:note|code|dictation)|own operative (?:note|report)|reported separately)\b", re.I)
RESIDENT_RE = re.compile(r"\b(?:resident|residents|pgy-?\s?\d|house ?officer|registrar|trainee|intern|fellow)\b", re.I)
NO_ASSIST_RE = re.compile(r"\b(?:no|without|none)\b[^.;\n]{0,20}$", re.I)
NO_ASSIST_AFTER_RE = re.compile(r"^[^.;\n]{0,12}\b(?:none|n/a|not used|was not used|were not used|not present|not required)\b", re.I)
RETURN_RE = re.compile(r"\b(?:return(?:ed|s)? to the (?:operating room|or|theatre|theater)|unplanned return|take[- ]?back|(?:post-?operative|post-op) day \d+|\d+ (?:days?|weeks?) (?:after|following|post)|dehiscence|wound breakdown|(?:deep|periprosthetic|postoperative|post-operative) infection|infected (?:wound|prosthesis|endoprosthesis|implant))", re.I)


def _ebl_ml(text: str) -> tuple[float, Span] | None:
    best: tuple[float, Span] | None = None
    low = text.lower()
    if "blood loss" not in low and "ebl" not in low:
        return None  # most notes: no need to run the expression over the whole text
    for m in EBL_RE.finditer(text):
        v = float(m.group(1).replace(",", ""))
        if m.group(2).lower().startswith("l"):
            v *= 1000
        if best is None or v > best[0]:
            best = (v, (m.start(), m.end()))
    return best


def _live(view: NoteView, label: str) -> list[Mention]:
    return [c for c in view.of(label) if c.present and c.place not in ("consent",)]


def modifiers(case: Case, view: NoteView) -> list[Advisory]:
    """Modifier cues (22, 58, 62, 78, 79, 59/XS, RT/LT, assistant), each citing its words."""
    out: list[Advisory] = []
    for rule in (_mod22, _mod58, _mod62, _mod78, _mod79, _mod59, _mod_side, _mod_assistant):
        out += rule(case, view)
    return out


def _mod22(case: Case, view: NoteView) -> list[Advisory]:
    text = view.text
    difficulty = [c for c in _live(view, "MOD22") if c.group == "mod.difficulty"]
    radiation = [c for c in _live(view, "MOD22") if c.group == "mod.radiation"]
    ebl = _ebl_ml(text)
    reasons: list[str] = []
    ev: list[Span] = []
    if difficulty:
        reasons.append("unusual difficulty is described")
        ev += _m_spans(difficulty)
    if ebl and ebl[0] >= 2000:
        reasons.append(f"blood loss of {ebl[0]:g} mL")
        ev.append(ebl[1])
    src = "Medicare modifier 22 guidance (MAC publications): substantially greater work, documented"
    if reasons:
        ev = _m_spans(radiation[:1]) + ev
        return [Advisory(kind="modifier", code="22", message="Modifier 22 may apply: " + "; ".join(reasons) + ". It needs a separate statement of why the work was substantially greater than usual (prior radiation, extreme blood loss, distorted anatomy); time alone does not qualify.", confidence="verified", evidence=_ev(text, ev), source=src)]
    if radiation:
        return [Advisory(kind="modifier", code=None, message="Prior radiation is mentioned. If it made the operation substantially harder, say how (and any added time or blood loss) so modifier 22 can be considered.", confidence="verified", evidence=_ev(text, _m_spans(radiation)), source=src)]
    return []


def _mod58(case: Case, view: NoteView) -> list[Advisory]:
    staged = []
    for c in _live(view, "MOD58"):
        s, e = view.sentence(c.sent)
        window = view.text[max(s, c.start - 40):min(e, c.end + 40)]
        if TUMOR_STAGE_RE.search(window) and not re.search(r"\b(?:planned|staged|two[- ]stage|first[- ]stage|second[- ]stage)\b", c.text, re.I):
            continue  # a tumor's stage ("Enneking stage IIB"), not a staged procedure
        staged.append(c)
    if not staged:
        return []
    return [Advisory(kind="modifier", code="58", message="A planned staged procedure is described: a later planned stage by the same surgeon in the global period takes modifier 58 (and starts a new global period).", confidence="verified", evidence=_ev(view.text, _m_spans(staged)), source="CMS global surgery rules: modifier 58 for a staged or planned procedure")]


OWN_CODE_WORK_RE = re.compile(r"\b(?:flap|free fibula|vascularized fibula|fibula(?:r)? (?:harvest|graft)|harvest(?:ed|ing)?|microvascular|anastomos\w+|bypass|graft(?:ing)? of the (?:artery|vessel)|skin graft|arterial reconstruction|vascular reconstruction)\b", re.I)


def _mod62(case: Case, view: NoteView) -> list[Advisory]:
    cos: list[Mention] = []
    own: list[Mention] = []
    for c in _live(view, "MOD62"):
        s, e = view.sentence(c.sent)
        clause = view.text[s:min(e + 200, len(view.text))]
        if SEPARATE_CODE_RE.search(clause):
            continue
        (own if OWN_CODE_WORK_RE.search(view.text[s:e]) else cos).append(c)
    if own and not cos:
        return [Advisory(kind="modifier", code=None, message="A second surgeon is documented doing a procedure that has its own code (a flap, a fibula harvest, a microvascular anastomosis, a bypass): each surgeon reports their own code, which is not co-surgery; modifier 62 is for two surgeons sharing one code.", confidence="verified", evidence=_ev(view.text, _m_spans(own)), source="Medicare modifier 62 guidance (MAC fact sheets): two surgeons sharing one code")]
    if not cos:
        return []
    return [Advisory(kind="modifier", code="62", message="Co-surgeons are documented: when two surgeons share one code, each appends 62 and each note must describe that surgeon's distinct part (the code's co-surgery indicator must allow it). A surgeon who reports a procedure under its own code (a flap, a bypass) is not a co-surgeon.", confidence="verified", evidence=_ev(view.text, _m_spans(cos)), source="Medicare modifier 62 guidance (MAC fact sheets): two surgeons sharing one code")]


def _mod78(case: Case, view: NoteView) -> list[Advisory]:
    # A washout or irrigation before closing the index operation is not a return to the OR: 78 is
    # for an operation that is itself the return.
    if case.operation.value in ("radical_resection", "intralesional", "soft_tissue_resection", "amputation", "disarticulation"):
        return []
    # Surgery on the complication of an operation for a tumor treated long ago (an infected tumor
    # prosthesis years later) is past any global period: no return in it.
    if case.tumor_status.value == "historical":
        return []
    ret = [c for c in _live(view, "MOD78") if RETURN_RE.search(view.sentence_text(c.sent)) or c.group == "mod.return" and "return" in c.text.lower()]
    if not ret:
        return []
    return [Advisory(kind="modifier", code="78", message="An unplanned return to the operating room for a related complication is described: in the global period it takes modifier 78, and no new global period starts.", confidence="verified", evidence=_ev(view.text, _m_spans(ret)), source="CMS global surgery rules: modifier 78 for an unplanned related return; no new global period")]


def _mod79(case: Case, view: NoteView) -> list[Advisory]:
    unrel = _live(view, "MOD79")
    if not (unrel and _live(view, "GLOBAL_CUE")):
        return []
    return [Advisory(kind="modifier", code="79", message="An unrelated procedure during a global period is described: it takes modifier 79 (a new global period starts).", confidence="verified", evidence=_ev(view.text, _m_spans(unrel)), source="CMS global surgery rules: modifier 79 for an unrelated procedure in the global period")]


def _mod59(case: Case, view: NoteView) -> list[Advisory]:
    if case.operation.value in ("amputation", "disarticulation"):
        return []  # a flap closing an amputation stump is part of the amputation
    distinct = [m for m in view.of("RECON") if m.present and m.attr("kind") in {"vascularized_fibula", "muscle_flap"} and m.place in ("procedure", "narrative", "diagnosis", "implants")]
    distinct = [m for m in distinct if not SEPARATE_CODE_RE.search(view.sentence_text(m.sent))]
    if not distinct:
        return []
    return [Advisory(kind="modifier", code="59/XS", message="A separately reported reconstruction (free fibula or muscle flap) is documented: where an NCCI edit pairs it with the resection and its modifier indicator allows a bypass, XS (separate structure) is preferred to 59, and the note must show it was a distinct procedure. RT/LT describe the side, not distinctness.", confidence="verified", evidence=_ev(view.text, _m_spans(distinct), 2), source="CMS NCCI modifier 59 / X{EPSU} guidance (MLN SE1418)")]


def _mod_side(case: Case, view: NoteView) -> list[Advisory]:
    if not (case.laterality and case.current_tumor and not case.side_conflict):
        return []
    code = "RT" if case.laterality == "right" else "LT"
    return [Advisory(kind="modifier", code=code, message=f"Side documented as {case.laterality}: the {code} modifier should agree with the ICD-10-CM side character.", confidence="verified", evidence=_ev(view.text, case.side.evidence, 2), source="HCPCS anatomic modifiers RT/LT; ICD-10-CM guideline I.B.13")]


def _mod_assistant(case: Case, view: NoteView) -> list[Advisory]:
    text = view.text
    found: list[Mention] = []
    for c in view.of("ASSISTANT"):
        s, e = view.sentence(c.sent)
        line_end = text.find("\n", c.end)
        after = text[c.end:min(e, line_end if line_end > 0 else e, c.end + 40)]
        if c.is_("negated") or NO_ASSIST_RE.search(text[max(s, c.start - 30):c.start]) or NO_ASSIST_AFTER_RE.search(after):
            continue
        found.append(c)
    if not found:
        return []
    c = found[0]
    s, e = view.sentence(c.sent)
    line_end = text.find("\n", c.end)
    who = text[c.start:min(e, line_end if line_end > 0 else e, c.end + 80)]
    src = "Medicare assistant-at-surgery guidance (MAC publications); teaching physician rules for residents"
    if RESIDENT_RE.search(who):
        return [Advisory(kind="modifier", code=None, message="The assistant documented is a resident or fellow: at a teaching hospital a resident's assistance is not billable as 80/82 unless no qualified resident was available, and then the reason must be written in the note.", confidence="verified", evidence=_ev(text, [(c.start, c.end)], 1), source=src)]
    return [Advisory(kind="modifier", code="80/82/AS", message="An assistant is documented: physician assistant-at-surgery is 80 (82 when no qualified resident was available, with the reason), a PA/NP/CNS is AS; the code's assistant-at-surgery indicator decides eligibility.", confidence="verified", evidence=_ev(text, [(c.start, c.end)], 1), source=src)]


# ----------------------------------------------------------------------------- bundling
def bundling(case: Case, view: NoteView) -> list[Advisory]:
    """One reminder per reconstruction component done in this tumor operation."""
    if case.operation.value not in ("radical_resection", "intralesional") or not case.current_tumor:
        return []
    out: list[Advisory] = []
    done: set[str] = set()
    recon = [m for m in view.of("RECON") if m.present and m.place not in ("consent", "plan", "history")]
    kinds = {str(m.attr("kind")) for m in recon}
    for m in recon:
        kind = str(m.attr("kind"))
        if kind in done:
            continue
        done.add(kind)
        advice = _bundle(case, view, m, kinds)
        if advice is not None:
            code, conf, msg = advice
            out.append(Advisory(kind="bundling", code=code, message=msg + " " + NCCI_REMINDER, confidence=conf, evidence=_ev(view.text, [(m.start, m.end)], 1), source=BUNDLING_SOURCE))
    return out


#: What a reconstruction kind done with a curettage is reported as: (code, confidence, advice).
_CURETTAGE_BUNDLE: dict[str, tuple[str | None, Confidence, str]] = {
    "autograft": (None, "likely", "A graft after curettage is part of the curettage-with-autograft code (its harvest is included): do not add 20900/20902."),
    "allograft": (None, "likely", "Bone chips, cancellous allograft or DBM packed after curettage are part of the curettage-with-allograft code, not the structural allograft add-ons 20932-20934."),
    "internal_fixation": (None, "likely", "Document the fixation with the curettage; whether an add-on code applies could not be verified."),
}
#: The same for a resection, where the kind alone decides.
_RESECTION_BUNDLE: dict[str, tuple[str | None, Confidence, str]] = {
    "endoprosthesis": (None, "likely", "Document the endoprosthesis components (body, stem, fixation, articulation) in the note; whether a separate arthroplasty code is reported beside the resection could not be verified."),
    "vascularized_fibula": ("20955", "likely", "A free vascularized fibula graft is reported with 20955 (bone graft with microvascular anastomosis, fibula)."),
    "allograft": ("20932-20934", "likely", "A structural tumor allograft is reported with the add-on codes 20932 (osteoarticular), 20933 (hemicortical intercalary) or 20934 (intercalary, complete); whether each lists 27365 as a primary could not be verified. The spine-only graft add-ons 20930, 20931 and 20936-20939 do not apply."),
    "allograft_prosthetic_composite": ("20932", "likely", "An allograft-prosthetic composite combines an osteoarticular allograft add-on (20932) with the arthroplasty; document the allograft and the prosthesis separately."),
    "autograft": ("20900/20902", "verified", "A separately harvested bone autograft is reported with 20900/20902 only when taken through a separate skin or fascial incision."),
}


def _bundle(case: Case, view: NoteView, m: Mention, kinds: set[str]) -> tuple[str | None, Confidence, str] | None:
    kind = str(m.attr("kind"))
    if case.operation.value == "intralesional" and kind in _CURETTAGE_BUNDLE:
        return _CURETTAGE_BUNDLE[kind]
    if kind in _RESECTION_BUNDLE:
        return _RESECTION_BUNDLE[kind]
    sentence = view.sentence_text(m.sent).lower()
    if kind == "arthroplasty":
        hip = bool(re.search(r"\bhip\b|acetabul|femoral head", sentence))
        return ("27130", "likely", "A total hip arthroplasty is reported with 27130.") if hip else ("27447", "likely", "A standard total knee arthroplasty is reported with 27447.")
    if kind == "muscle_flap":
        if re.search(r"\bfree (?:flap|tissue transfer|muscle|anterolateral|latissimus|gracilis|rectus)|microvascular|anastomos", sentence):
            return "15756-15758", "likely", "A free flap with microvascular anastomosis is reported with 15756-15758 (not 15738)."
        return "15738", "likely", "A pedicled lower-extremity muscle flap is reported with 15738 (15736 is the upper-extremity flap)."
    if kind == "internal_fixation":
        if kinds & {"allograft", "allograft_prosthetic_composite"}:
            return None, "likely", "Internal fixation of a tumor allograft is included in the allograft add-ons 20932-20934; document the fixation with the graft."
        return None, "likely", "Document the fixation (implant, screws, construct) as its own step; opnote's reference gives no verified code for it beside the resection."
    return None, "likely", f"Document the {kind.replace('_', ' ')} as its own step (implant or graft, fixation, coverage); opnote's reference gives no verified code family for it."


# ----------------------------------------------------------------------------- global period and fee
DATE_RE = re.compile(
    r"(?:date of (?:service|surgery|procedure|operation)|\bdos\b|surgery date|operative date|date)\s*[:\-]?\s*"
    r"(?:(\d{1,2})/(\d{1,2})/(\d{2,4})|(\d{4})-(\d{2})-(\d{2})|([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})|(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4}))",
    re.I,
)
MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


@lru_cache(maxsize=16)
def date_of_service(text: str) -> tuple[dt.date, Span] | None:
    """The date of service the note gives, if any (cached: several rules ask for it)."""
    low = text.lower()
    starts = [i for i in (low.find("date"), low.find("dos")) if i >= 0]
    if not starts:
        return None
    for m in DATE_RE.finditer(text, min(starts)):
        d = _parse_date(m)
        if d is not None:
            return d, (m.start(), m.end())
    return None


def _parse_date(m: re.Match[str]) -> dt.date | None:
    try:
        if m.group(1):
            y = int(m.group(3))
            y = y + 2000 if y < 100 else y
            a, b = int(m.group(1)), int(m.group(2))
            # dd/mm/yyyy where the first number cannot be a month (British notes)
            month, day = (b, a) if a > 12 else (a, b)
            return dt.date(y, month, day)
        if m.group(4):
            return dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
        if m.group(7):
            mon = MONTHS.get(m.group(7)[:3].lower())
            return dt.date(int(m.group(9)), mon, int(m.group(8))) if mon else None
        mon = MONTHS.get(m.group(11)[:3].lower())
        return dt.date(int(m.group(12)), mon, int(m.group(10))) if mon else None
    except ValueError:
        return None


def global_period(case: Case, text: str, days: int) -> GlobalPeriod | None:
    """The global period (day before surgery to ``days`` after) a dated index operation starts.

    A return to the operating room in the global period (modifier 78) starts none.
    """
    found = date_of_service(text)
    if found is None or case.operation.value in ("other", "revision") and RETURN_RE.search(text):
        return None
    d, (s, e) = found
    return GlobalPeriod(
        date_of_service=d.isoformat(),
        starts=(d - dt.timedelta(days=1)).isoformat(),
        ends=(d + dt.timedelta(days=days)).isoformat(),
        days=days,
        evidence=[Evidence(start=s, end=e, text=text[s:e])],
    )


def fee_context(code: str, text: str) -> FeeContext | None:
    """The fee-schedule figures for ``code`` in the year of the note's date of service."""
    fees = [f for f in rule_files.coding().fees if f.code == code]
    if not fees:
        return None
    found = date_of_service(text)
    year = found[0].year if found else max(f.year for f in fees)
    match = next((f for f in fees if f.year == year), None)
    if match is None:
        known = ", ".join(str(f.year) for f in sorted(fees, key=lambda f: f.year))
        return FeeContext(code=code, year=year, note=f"No fee-schedule figures for {year} (opnote has {known}).")
    note = "" if found else f"No date of service in the note: the {year} figures are shown."
    return FeeContext(code=code, year=match.year, national_amount=match.national_amount, total_rvus=match.total_rvus,
                      global_days=match.global_days, currency=match.currency, setting=match.setting,
                      confidence=match.confidence, source=match.source, note=note)


def claim_codes_in(seq: Sequence[str]) -> list[str]:  # pragma: no cover - kept for callers of 0.1
    return list(seq)
