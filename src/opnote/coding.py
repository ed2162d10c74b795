"""Coding knowledge: ICD-10-CM alignment, code-selection, modifier and bundling advisories.

Every rule here encodes a fact the project's coding reference marks *verified* or *likely*, and
each advisory says which. Unverified facts (pair-specific NCCI edits, 27358, the patella's
exact category in the Neoplasm Table) are never stated as rules. ``simple_icd_10_cm`` (the
official FY2026 tabular, slow to import) is imported only when a claim code is checked.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from .errors import CodeError
from .schema import Advisory, Diagnosis, Evidence, GlobalPeriod

if TYPE_CHECKING:  # pragma: no cover
    from .rules import Checklist
    from .scoring import NoteFacts

ICD_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](?:\.?[0-9A-TV-Z]{1,4})?$", re.I)
PUBLIC_SITE = {"tibia": "tibia_shaft", "thigh": "thigh_soft_tissue"}
SIDE_DIGIT = {"right": "1", "left": "2", None: "0"}

NCCI_REMINDER = "Check this pair against the current quarter's NCCI procedure-to-procedure edits before billing it with the resection."


def _icd():
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


def expected_codes(facts: "NoteFacts") -> list[str]:
    """The ICD-10-CM codes the note's documented tumor supports."""
    cat, site, side = facts.category, facts.site, facts.laterality
    d = SIDE_DIGIT.get(side, "0")
    if not facts.current_tumor:
        return []
    if facts.certainty != "confirmed":
        return ["D49.2"]
    codes: list[str] = []
    if cat == "primary_malignant_bone" and site != "pelvis":
        codes.append(("C40.3" if site == "patella" else "C40.2") + d)
    elif cat == "metastatic_bone":
        codes.append("C79.51")
    elif cat == "primary_malignant_bone" and site == "pelvis":
        codes.append("C41.4")
    elif cat == "soft_tissue_sarcoma":
        codes.append("C49.2" + d)
    elif cat == "benign_aggressive_bone":
        codes.append(("D16.3" if site == "patella" else "D16.2") + d)
    elif cat == "uncertain_behavior_bone":
        codes.append("D48.0")
    elif cat == "hematologic":
        codes.append("C90.30")
    if facts.fracture and site in {"distal_femur", "femoral_shaft", "proximal_femur", "femur"}:
        codes.append({"right": "M84.551A", "left": "M84.552A"}.get(side or "", "M84.553A"))
    return codes


def _family(code: str) -> str:
    c = code.replace(".", "")
    if c.startswith("C40") or c.startswith("C41"):
        return "primary_malignant_bone"
    if c.startswith("C795"):
        return "metastatic_bone"
    if c.startswith("C49"):
        return "soft_tissue_sarcoma"
    if c.startswith("D16"):
        return "benign_aggressive_bone"
    if c.startswith("D48"):
        return "uncertain_behavior_bone"
    if c.startswith("C90") or c.startswith("C83") or c.startswith("C84") or c.startswith("C85"):
        return "hematologic"
    if c.startswith("D49") or c.startswith("R22"):
        return "uncertain"
    if c.startswith("M845"):
        return "fracture"
    if c.startswith("Z85"):
        return "history"
    return "other"


def _side_of(code: str) -> str | None:
    c = code.replace(".", "")
    if c[:3] in {"C40", "C49", "D16", "D21", "R22"} and len(c) >= 5:
        return {"1": "right", "2": "left", "0": "unspecified"}.get(c[4])
    if c.startswith("M8455") and len(c) >= 6:
        return {"1": "right", "2": "left", "3": "unspecified"}.get(c[5])
    return None


def assess_diagnosis(facts: "NoteFacts", claim: list[str], sites: list[str]) -> tuple[Diagnosis, str, str, list[Advisory]]:
    """The diagnosis block, the ``diagnosis_code`` status and message, and laterality advisories."""
    expected = expected_codes(facts)
    tumor_type = facts.tumor["attributes"].get("histology") if facts.tumor else None
    diag = Diagnosis(
        tumor_type=tumor_type,
        category=facts.category if facts.current_tumor and facts.certainty == "confirmed" else "unknown",
        laterality=facts.laterality,
        certainty=facts.certainty if facts.current_tumor else "none",
        site=PUBLIC_SITE.get(facts.site or "", facts.site),
        expected_icd10=expected,
        claim_icd10=list(claim),
    )
    advisories: list[Advisory] = []
    if not facts.current_tumor or facts.tumor is None and facts.certainty != "uncertain":
        diag.consistent = None if not claim else False
        msg = "No current tumor type is documented, so no neoplasm code is supported."
        if claim:
            diag.problems.append("claim codes a neoplasm the note does not document")
            return diag, "conflict", msg + f" The claim gives {', '.join(claim)}.", advisories
        return diag, "missing", msg, advisories
    if facts.certainty != "confirmed":
        diag.consistent = None
        msg = ("The diagnosis is uncertain (suspected / rule out / pending). On a professional or outpatient claim "
               "only the confirmed code may be reported: it needs confirmed pathology or the postoperative diagnosis. "
               "Until then the note supports D49.2 (neoplasm of unspecified behavior of bone).")
        return diag, "partial", msg, advisories
    if not claim:
        diag.consistent = None
        return diag, "met", f"The note supports {', '.join(expected)}; give the claim's codes with --icd10 to check them.", advisories

    cm = _icd()
    problems: list[str] = []
    partial: list[str] = []
    primary_expected = expected[0] if expected else None
    exp_family = _family(primary_expected) if primary_expected else None
    for code in claim:
        if not cm.is_leaf(code):
            kids = [k for k in cm.get_children(code)] if cm.is_valid_item(code) else []
            problems.append(f"{code} is a category, not a billable code; use one of {', '.join(kids[:8])}")
            continue
        fam = _family(code)
        if fam == "fracture":
            continue
        if exp_family and fam != exp_family:
            if {fam, exp_family} == {"primary_malignant_bone", "metastatic_bone"}:
                problems.append(f"{code} codes a {fam.replace('_', ' ')} tumor but the note documents {exp_family.replace('_', ' ')} ({tumor_type})")
            elif fam in {"benign_aggressive_bone"} and exp_family in {"primary_malignant_bone", "metastatic_bone", "soft_tissue_sarcoma"}:
                problems.append(f"{code} is a benign code but the note documents a malignant tumor ({tumor_type})")
            else:
                problems.append(f"{code} does not match the documented tumor ({tumor_type}, expected {primary_expected})")
            continue
        cs = _side_of(code)
        if cs in {"right", "left"} and facts.laterality and cs != facts.laterality:
            problems.append(f"{code} is {cs}-sided but the note documents the {facts.laterality} side")
            advisories.append(Advisory(kind="laterality", code=code, message=f"Claim code {code} is {cs}-sided; the note documents the {facts.laterality} side. Laterality must agree (ICD-10-CM I.B.13).", confidence="verified", source="ICD-10-CM Official Guidelines I.B.13"))
            continue
        if cs == "unspecified" and facts.laterality:
            partial.append(f"{code} leaves the side unspecified but the note documents the {facts.laterality} side (use {primary_expected})")
            continue
        if primary_expected and code[:5] != primary_expected[:5] and fam == exp_family and fam == "primary_malignant_bone":
            partial.append(f"{code} and the expected {primary_expected} differ in the bone group (long vs short bones of the lower limb)")
    diag.problems = problems + partial
    if problems:
        diag.consistent = False
        return diag, "conflict", "The claim's diagnosis code contradicts the note: " + "; ".join(problems) + ".", advisories
    if partial:
        diag.consistent = False
        return diag, "partial", "The claim's diagnosis code is less specific than the note: " + "; ".join(partial) + ".", advisories
    diag.consistent = True
    return diag, "met", f"The claim's code{'s' if len(claim) > 1 else ''} ({', '.join(claim)}) {'match' if len(claim) > 1 else 'matches'} the documented tumor, site and side.", advisories


# --------------------------------------------------------------------------- advisories
def _ev(text: str, recs: list[dict[str, Any]], limit: int = 4) -> list[Evidence]:
    return [Evidence(start=r["start"], end=r["end"], text=text[r["start"]:r["end"]]) for r in recs[:limit]]


def code_selection(facts: "NoteFacts", findings: list[dict[str, Any]], cues: list[dict[str, Any]], cl: "Checklist") -> list[Advisory]:
    """Advisories naming a better-fitting CPT code than the one checked."""
    text = facts.text
    out: list[Advisory] = []
    present = lambda r: r["assertion"] == "present"  # noqa: E731
    procs = [f for f in findings if f.get("kind") == "procedure" and present(f)]
    definitive = [p for p in procs if p.get("section") not in {"consent", "indications", "disposition", "complications"}]
    margins = [f for f in findings if f.get("kind") == "margin" and present(f)]
    wide = [m for m in margins if m["attributes"]["intent"] in ("radical", "wide")]
    recon_kinds = {f["attributes"]["kind"] for f in findings if f.get("kind") == "reconstruction" and present(f)}

    amput = [p for p in definitive if p["attributes"]["procedure"] == "amputation"]
    disart = [p for p in definitive if p["attributes"]["procedure"] == "knee_disarticulation"]
    hipdis = [p for p in definitive if p["attributes"]["procedure"] == "hip_disarticulation"]
    if disart:
        out.append(Advisory(kind="code_selection", code="27598", message="The note describes a knee disarticulation: report the disarticulation code (27598), not a radical resection with limb salvage.", evidence=_ev(text, disart), source="opnote coding reference: 27590-27598 (likely)"))
    elif amput and not (recon_kinds & {"rotationplasty"}):
        out.append(Advisory(kind="code_selection", code="27590", message="The note describes an amputation through the femur: report the thigh amputation code (27590 family), not a radical resection with limb salvage.", evidence=_ev(text, amput), source="opnote coding reference: 27590-27598 (likely)"))
    elif hipdis:
        out.append(Advisory(kind="code_selection", code="27295", message="The note describes a hip-level amputation (hip disarticulation / hindquarter): these are separate codes (27295 / 27290), not a thigh amputation or a radical femur resection.", evidence=_ev(text, hipdis), source="opnote coding reference (likely)"))
    if out:
        return out

    if facts.current_tumor and facts.site in cl.better_code_for_site:
        # Bone tumor codes are chosen by bone: a site in this checklist's region (the proximal
        # tibia for 27365) can still belong to another code.
        code = cl.better_code_for_site[facts.site]
        where = facts.site.replace("_", " ")
        also = f" (the {where} is in the {cl.code} checklist's region, but the code follows the bone)" if facts.site in cl.sites else ""
        out.append(Advisory(kind="code_selection", code=code, message=f"The tumor is in the {where}: a radical resection there is reported as {code}, not {cl.code}{also}.", evidence=_ev(text, facts.site_evidence), source="opnote coding reference: bone tumor codes are chosen by bone (likely)"))
        return out

    if facts.current_tumor and facts.category == "soft_tissue_sarcoma" and not (recon_kinds & BONE_RECON_KINDS):
        sizes = [max(f["attributes"]["values_mm"]) for f in findings if f.get("kind") == "dimension" and f["attributes"]["measures"] in ("tumor", "specimen")]
        if sizes:
            code = "27364" if max(sizes) >= 50 else "27329"
            why = f"measured {max(sizes) / 10:g} cm"
        else:
            code, why = "27329/27364", "no size given: under 5 cm is 27329, 5 cm or more 27364"
        out.append(Advisory(kind="code_selection", code=code, message=f"The note describes a soft-tissue sarcoma resection without bone resection: report the radical soft-tissue resection code for the thigh/knee ({code}; {why}).", evidence=_ev(text, [facts.tumor] if facts.tumor else []), confidence="verified", source="opnote coding reference 1c: 27329/27364 (verified)"))
        return out

    curett = [p for p in definitive if p["attributes"]["procedure"] == "curettage"]
    lesion = [m for m in margins if m["attributes"]["intent"] == "intralesional"]
    if (curett or lesion) and not wide and facts.current_tumor:
        if facts.site in (None, "distal_femur", "femoral_shaft", "proximal_femur", "femur", "knee"):
            if "autograft" in recon_kinds:
                code = "27357"
            elif "allograft" in recon_kinds:
                code = "27356"
            else:
                code = "27355"
            out.append(Advisory(kind="code_selection", code=code, message=f"The note describes curettage / intralesional treatment of a femoral lesion, not a radical resection: report the excision-or-curettage code family ({code}).", evidence=_ev(text, curett + lesion), source="opnote coding reference 1b: 27355-27357 (likely)"))
    return out


BONE_RECON_KINDS = {"endoprosthesis", "allograft", "allograft_prosthetic_composite", "vascularized_fibula", "arthrodesis", "rotationplasty", "cement_spacer", "autograft"}

EBL_RE = re.compile(r"(?:estimated blood loss|\bebl\b|blood loss)[^0-9a-z]{0,12}(?:was |of |approximately |about |approx\.? |~)*(\d[\d,]*(?:\.\d+)?)\s*(ml|cc|l|liters?|milliliters?)\b", re.I)


def _ebl_ml(text: str) -> tuple[float, tuple[int, int]] | None:
    best = None
    for m in EBL_RE.finditer(text):
        v = float(m.group(1).replace(",", ""))
        unit = m.group(2).lower()
        if unit.startswith("l"):
            v *= 1000
        if best is None or v > best[0]:
            best = (v, (m.start(), m.end()))
    return best


def modifiers(facts: "NoteFacts", findings: list[dict[str, Any]], cues: list[dict[str, Any]], text: str) -> list[Advisory]:
    """Modifier cues (22, 58, 62, 78, 79, RT/LT, assistant), each citing the words that fired it."""
    out: list[Advisory] = []
    live = lambda label: [c for c in cues if c["label"] == label and c["assertion"] == "present"]  # noqa: E731
    difficulty = [c for c in live("MOD22") if c["id"] == "mod.difficulty"]
    radiation = [c for c in live("MOD22") if c["id"] == "mod.radiation"]
    ebl = _ebl_ml(text)
    reasons = []
    ev: list[dict[str, Any]] = []
    if difficulty:
        reasons.append("unusual difficulty is described")
        ev += difficulty
    if ebl and ebl[0] >= 2000:
        reasons.append(f"blood loss of {ebl[0]:g} mL")
        ev.append({"start": ebl[1][0], "end": ebl[1][1]})
    if reasons:
        if radiation:
            ev = radiation[:1] + ev
        out.append(Advisory(kind="modifier", code="22", message="Modifier 22 may apply: " + "; ".join(reasons) + ". It needs a separate statement of why the work was substantially greater than usual (prior radiation, extreme blood loss, distorted anatomy); time alone does not qualify.", confidence="verified", evidence=_ev(text, ev), source="opnote coding reference 4 (modifier 22, verified)"))
    elif radiation:
        out.append(Advisory(kind="modifier", code=None, message="Prior radiation is mentioned. If it made the operation substantially harder, say how (and any added time or blood loss) so modifier 22 can be considered.", confidence="verified", evidence=_ev(text, radiation), source="opnote coding reference 4 (modifier 22, verified)"))
    staged = live("MOD58")
    if staged:
        out.append(Advisory(kind="modifier", code="58", message="A planned staged procedure is described: a later planned stage by the same surgeon in the global period takes modifier 58 (and starts a new global period).", confidence="verified", evidence=_ev(text, staged), source="opnote coding reference 4 (modifier 58, verified)"))
    cos = live("MOD62")
    if cos:
        out.append(Advisory(kind="modifier", code="62", message="Co-surgeons are documented: each surgeon appends 62 and each note must describe that surgeon's distinct part (the code's co-surgery indicator must allow it).", confidence="verified", evidence=_ev(text, cos), source="opnote coding reference 4 (modifier 62, verified)"))
    ret = [c for c in live("MOD78") if c.get("section") not in {"consent"}]
    if ret:
        out.append(Advisory(kind="modifier", code="78", message="An unplanned return to the operating room for a related complication is described: in the global period it takes modifier 78 (no new global period).", confidence="verified", evidence=_ev(text, ret), source="opnote coding reference 4 (modifier 78, verified)"))
    unrel = live("MOD79")
    if unrel and live("GLOBAL_CUE"):
        out.append(Advisory(kind="modifier", code="79", message="An unrelated procedure during a global period is described: it takes modifier 79 (a new global period starts).", confidence="verified", evidence=_ev(text, unrel), source="opnote coding reference 4 (modifier 79, verified)"))
    distinct = [f for f in findings if f.get("kind") == "reconstruction" and f["assertion"] == "present"
                and f["attributes"].get("kind") in {"vascularized_fibula", "muscle_flap"}]
    if distinct:
        out.append(Advisory(kind="modifier", code="59/XS", message="A separately reported reconstruction (free fibula or muscle flap) is documented: where an NCCI edit pairs it with the resection and its modifier indicator allows a bypass, XS (separate structure) is preferred to 59, and the note must show it was a distinct procedure. RT/LT describe the side, not distinctness.", confidence="verified", evidence=_ev(text, distinct, 2), source="opnote coding reference 2.9 and 4 (59/X{EPSU}, verified)"))
    if facts.laterality and facts.current_tumor:
        code = "RT" if facts.laterality == "right" else "LT"
        ev = facts.side_evidence.get(facts.laterality, [])
        out.append(Advisory(kind="modifier", code=code, message=f"Side documented as {facts.laterality}: the {code} modifier should agree with the ICD-10-CM side character.", confidence="verified", evidence=_ev(text, ev, 2), source="opnote coding reference 4 (RT/LT, verified)"))
    assist = [c for c in cues if c["label"] == "ASSISTANT"]
    if assist:
        out.append(Advisory(kind="modifier", code="80/82/AS", message="An assistant is documented: physician assistant-at-surgery is 80 (82 when no qualified resident was available, with the reason), a PA/NP/CNS is AS; the code's assistant-at-surgery indicator decides eligibility.", confidence="verified", evidence=_ev(text, assist, 1), source="opnote coding reference 4 (80/82/AS, verified)"))
    return out


BUNDLING = {
    "endoprosthesis": ("27445", "likely", "A hinged knee endoprosthesis is usually reported with the hinged knee arthroplasty code (27445)."),
    "arthroplasty": ("27447", "likely", "A standard total knee arthroplasty is reported with 27447."),
    "vascularized_fibula": ("20955", "likely", "A free vascularized fibula graft is reported with 20955 (bone graft with microvascular anastomosis, fibula)."),
    "muscle_flap": ("15738", "likely", "A lower-extremity muscle flap is reported with 15738 (15736 is the upper-extremity flap)."),
    "allograft": ("20932-20934", "likely", "A structural tumor allograft is reported with the add-on codes 20932 (osteoarticular), 20933 (hemicortical intercalary) or 20934 (intercalary, complete); whether each lists 27365 as a primary could not be verified. The spine-only graft add-ons 20930-20938 do not apply."),
    "allograft_prosthetic_composite": ("20932", "likely", "An allograft-prosthetic composite combines an osteoarticular allograft add-on (20932) with the arthroplasty; document the allograft and the prosthesis separately."),
    "autograft": ("20900/20902", "verified", "A separately harvested bone autograft is reported with 20900/20902 only when taken through a separate skin or fascial incision."),
    "internal_fixation": (None, "likely", "Internal fixation of a tumor allograft is included in the allograft add-ons 20932-20934; document the fixation with the graft."),
}


def bundling(findings: list[dict[str, Any]], text: str) -> list[Advisory]:
    """One reminder per documented reconstruction component."""
    out: list[Advisory] = []
    done: set[str] = set()
    for f in findings:
        if f.get("kind") != "reconstruction" or f["assertion"] != "present":
            continue
        kind = f["attributes"]["kind"]
        if kind in done:
            continue
        done.add(kind)
        if kind in BUNDLING:
            code, conf, msg = BUNDLING[kind]
        else:
            code, conf, msg = None, "likely", f"Document the {kind.replace('_', ' ')} as its own step (implant or graft, fixation, coverage); opnote's reference gives no verified code family for it."
        out.append(Advisory(kind="bundling", code=code, message=msg + " " + NCCI_REMINDER, confidence=conf, evidence=_ev(text, [f], 1), source="opnote coding reference 2 (" + conf + ")"))
    return out


DATE_RE = re.compile(
    r"(?:date of (?:service|surgery|procedure|operation)|\bdos\b|surgery date|operative date)\s*[:\-]?\s*"
    r"(?:(\d{1,2})/(\d{1,2})/(\d{2,4})|(\d{4})-(\d{2})-(\d{2})|([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4}))",
    re.I,
)
MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def global_period(text: str, days: int) -> GlobalPeriod | None:
    """The global period (day before surgery to ``days`` after) from a dated note."""
    m = DATE_RE.search(text)
    if not m:
        return None
    try:
        if m.group(1):
            y = int(m.group(3))
            y = y + 2000 if y < 100 else y
            d = dt.date(y, int(m.group(1)), int(m.group(2)))
        elif m.group(4):
            d = dt.date(int(m.group(4)), int(m.group(5)), int(m.group(6)))
        else:
            mon = MONTHS.get(m.group(7)[:3].lower())
            if mon is None:
                return None
            d = dt.date(int(m.group(9)), mon, int(m.group(8)))
    except ValueError:
        return None
    return GlobalPeriod(
        date_of_service=d.isoformat(),
        starts=(d - dt.timedelta(days=1)).isoformat(),
        ends=(d + dt.timedelta(days=days)).isoformat(),
        days=days,
        evidence=[Evidence(start=m.start(), end=m.end(), text=text[m.start():m.end()])],
    )
