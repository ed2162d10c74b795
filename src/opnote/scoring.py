"""Score findings against a CPT checklist. Pure functions over plain data: no spaCy here.

Input is what the ``opnote_findings`` component leaves on a Doc (``findings`` and ``cues`` as
dicts) and the note's text; output is the :class:`~opnote.schema.Report`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import __version__
from . import coding
from . import rules as rule_files
from .schema import Advisory, ChecklistItem, Evidence, Finding, Report

SPECIFIC_SITES = {"distal_femur", "femoral_shaft", "proximal_femur", "proximal_tibia", "tibia", "fibula", "patella", "pelvis", "thigh"}
KEY_SECTIONS = {"preop_diagnosis", "postop_diagnosis", "procedure"}
DEFINITE_FS = {"negative", "positive", "close", "atypical"}
BENIGNISH = {"benign_aggressive_bone", "uncertain_behavior_bone"}
GENERIC_HISTOLOGY = {
    "soft tissue sarcoma", "soft-tissue sarcoma", "sarcoma", "bone sarcoma", "metastatic carcinoma", "metastatic disease",
    "metastatic lesion", "benign bone tumor", "benign lesion", "benign tumor", "benign bone lesion", "metastatic",
    "metastasis", "metastases", "lymphoma", "myeloma",
}
BONE_GROUP = {
    # Mentions of these sites carry the tumor's side; a leg, thigh or knee elsewhere in the
    # note ("left leg scissored down" on a fracture table) counts only beside the tumor.
    **{k: {"distal_femur", "femoral_shaft", "proximal_femur", "femur", "knee"} for k in ("distal_femur", "femoral_shaft", "proximal_femur", "femur")},
    "knee": {"distal_femur", "femur", "knee", "proximal_tibia", "patella"},
    "patella": {"patella", "knee"},
    "proximal_tibia": {"proximal_tibia", "tibia", "knee"},
    "tibia": {"proximal_tibia", "tibia"},
    "fibula": {"fibula"},
    "pelvis": {"pelvis"},
    "thigh": {"thigh", "femur", "knee"},
}


@dataclass
class NoteFacts:
    """What the scoring rules derive from a note's findings (kept for the report and tests)."""

    text: str
    findings: list[dict[str, Any]]
    cues: list[dict[str, Any]]
    current_tumor: bool = False
    tumor: dict[str, Any] | None = None
    category: str = "unknown"
    certainty: str = "none"
    site: str | None = None
    site_evidence: list[dict[str, Any]] = field(default_factory=list)
    laterality: str | None = None
    laterality_conflict: bool = False
    side_evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fracture: bool = False


def _ev(text: str, recs: Iterable[dict[str, Any]], limit: int = 6) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[tuple[int, int]] = set()
    for r in recs:
        key = (r["start"], r["end"])
        if key in seen:
            continue
        seen.add(key)
        out.append(Evidence(start=r["start"], end=r["end"], text=text[r["start"]:r["end"]]))
        if len(out) >= limit:
            break
    return out


def _is(rec: dict[str, Any], *assertions: str) -> bool:
    return rec["assertion"] in assertions


def _of(findings: list[dict[str, Any]], kind: str | None = None, label: str | None = None) -> list[dict[str, Any]]:
    return [f for f in findings if (kind is None or f.get("kind") == kind) and (label is None or f["label"] == label)]


def _by_sent(recs: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Records grouped by sentence index, so neighbours are found without scanning the note."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in recs:
        out.setdefault(r["sent"], []).append(r)
    return out


def _overlaps(a: dict[str, Any], others: Iterable[dict[str, Any]]) -> bool:
    return any(a is not o and a["start"] < o["end"] and o["start"] < a["end"] and (o["end"] - o["start"]) > (a["end"] - a["start"]) for o in others)


def derive_facts(text: str, findings: list[dict[str, Any]], cues: list[dict[str, Any]]) -> NoteFacts:
    facts = NoteFacts(text=text, findings=findings, cues=cues)
    tumors = [f for f in _of(findings, label="TUMOR")]
    current = [t for t in tumors if _is(t, "present", "possible")]
    historical = [t for t in tumors if _is(t, "historical")]
    findings_by_sent = _by_sent(findings)
    generic = [
        c for c in cues
        if c["label"] == "TUMOR_GENERIC" and _is(c, "present", "possible") and not _overlaps(c, findings_by_sent.get(c["sent"], ()))
    ]
    facts.fracture = any(c["label"] == "FRACTURE" and _is(c, "present") for c in cues)
    if current:
        facts.current_tumor = True
    elif not historical and generic:
        facts.current_tumor = True
    if current:
        # The tumor's category is the one the note names most, diagnosis headings counting most;
        # a bare "metastatic" (often "no metastatic disease" elsewhere) counts little.
        weight: Counter[str] = Counter()
        for t in current:
            cat = t["attributes"].get("category") or "unknown"
            w = 3.0 if t.get("section") in {"preop_diagnosis", "postop_diagnosis", "procedure"} else 1.0
            if t["attributes"].get("histology") in GENERIC_HISTOLOGY:
                w *= 0.5
            if t["assertion"] != "present":
                w *= 0.5
            weight[cat] += w
        cat = max(weight, key=lambda k: (weight[k], k == "metastatic_bone"))
        facts.category = cat
        in_cat = [t for t in current if t["attributes"].get("category") == cat]
        confirmed = [t for t in in_cat if t["assertion"] == "present"]
        facts.certainty = "confirmed" if confirmed else "uncertain"

        def specificity(t: dict[str, Any]) -> tuple[int, int, int]:
            return (
                0 if t["attributes"].get("histology") in GENERIC_HISTOLOGY else 1,
                1 if t.get("section") in {"postop_diagnosis", "preop_diagnosis"} else 0,
                len(t["attributes"].get("histology") or ""),
            )

        facts.tumor = max(confirmed or in_cat, key=specificity)
    elif facts.current_tumor:
        facts.certainty = "uncertain"

    # Site: where the tumor is, weighted by section and by a tumor word in the same sentence.
    # A site inside a graft's name ("iliac crest bone graft", "free fibula") is a donor site.
    grafts = _by_sent(f for f in findings if f["label"] == "RECON")
    all_sites = [
        s for s in _of(findings, kind="tumor_location") + [c for c in cues if c["label"] == "SITE"]
        if not any(g["start"] <= s["start"] and s["end"] <= g["end"] for g in grafts.get(s["sent"], ()))
    ]
    sites = [f for f in all_sites if _is(f, "present")]
    tumor_sents = {t["sent"] for t in current} | {g["sent"] for g in generic} | {
        f["sent"] for f in findings if f["label"] in {"MARGIN"} and _is(f, "present")
    }
    histo_marks = [t for t in current if t["attributes"].get("histology") not in GENERIC_HISTOLOGY]
    tumor_marks = current + generic + [f for f in findings if f["label"] == "MARGIN" and _is(f, "present")]
    histo_by_sent, tumor_by_sent = _by_sent(histo_marks), _by_sent(tumor_marks)
    scores: Counter[str] = Counter()
    by_site: dict[str, list[dict[str, Any]]] = {}
    for s in sites:
        site = s["attributes"]["site"]
        if site == "limb":
            continue
        # A site counts where the tumor is discussed (diagnosis / procedure headings, or a
        # sentence naming the tumor); elsewhere it is mostly anatomy of the approach or a donor site.
        w = 0.2
        if s.get("section") in {"preop_diagnosis", "postop_diagnosis"}:
            w += 2
        elif s.get("section") == "procedure":
            w += 1
        # Nearness to the histology ("osteosarcoma of the right distal femur") counts most.
        w += _nearness(s, histo_by_sent, (6, 3, 1)) or _nearness(s, tumor_by_sent, (2, 1, 0.5))
        scores[site] += w
        by_site.setdefault(site, []).append(s)
    # Thigh muscles are named in every distal femur resection; they locate the tumor only for a
    # soft-tissue tumor (or when no bone is named at all).
    if scores.get("thigh"):
        if facts.category == "soft_tissue_sarcoma":
            scores["thigh"] += 5
        elif any(k in scores for k in SPECIFIC_SITES - {"thigh"} | {"femur", "knee"}):
            del scores["thigh"]
    chosen = None
    if scores and facts.current_tumor:
        specific = {k: v for k, v in scores.items() if k in SPECIFIC_SITES}
        if specific:
            chosen = max(specific, key=lambda k: (specific[k], k == "distal_femur"))
        elif scores.get("femur"):
            chosen = "femur"
        elif scores.get("knee"):
            chosen = "knee"
    facts.site = chosen
    if chosen:
        facts.site_evidence = sorted(by_site.get(chosen, []), key=lambda r: (r.get("section") not in KEY_SECTIONS, r["start"]))

    # Side: from mentions of the tumor's bone that carry one; other sites (a donor fibula, the
    # other knee) only where the diagnosis or procedure heading names them.
    votes: Counter[str] = Counter()
    side_ev: dict[str, list[dict[str, Any]]] = {"right": [], "left": []}
    if facts.current_tumor:
        group = BONE_GROUP.get(chosen or "", set())
        for s in all_sites:
            if not _is(s, "present"):
                continue
            lat = s["attributes"].get("laterality")
            if not lat:
                continue
            site = s["attributes"]["site"]
            key = s.get("section") in KEY_SECTIONS
            if site in group:
                w = 3 if key else 2
            elif site in {"limb", "knee", "thigh"} and s["sent"] in tumor_sents:
                w = 1
            elif key:
                w = 1
            else:
                continue
            votes[lat] += w
            side_ev[lat].append({"start": min(s["start"], s["side_start"]), "end": max(s["end"], s["side_end"])})
    if votes:
        top = max(votes, key=lambda k: votes[k])
        other = "left" if top == "right" else "right"
        if votes[other] >= 2 and votes[other] >= 0.25 * votes[top]:
            facts.laterality_conflict = True
            facts.laterality = None
        else:
            facts.laterality = top
    facts.side_evidence = side_ev
    return facts


def _nearness(s: dict[str, Any], marks: dict[int, list[dict[str, Any]]], bonus: tuple[float, float, float]) -> float:
    """Bonus for a site mention by its distance to the nearest mark in the same sentence."""
    best = None
    for t in marks.get(s["sent"], ()):
        d = s["start"] - t["end"] if s["start"] >= t["end"] else t["start"] - s["end"]
        best = d if best is None or d < best else best
    if best is None:
        return 0.0
    return bonus[0] if best <= 40 else bonus[1] if best <= 100 else bonus[2]


def _status_item(rule: rule_files.ChecklistItemRule, status: str, message: str, evidence: list[Evidence]) -> ChecklistItem:
    suggestion = None if status in ("met", "not_applicable") else rule.suggestion
    return ChecklistItem(
        id=rule.id, status=status, evidence=evidence, message=message, suggestion=suggestion,
        title=rule.title, severity=rule.severity, why=rule.why,
    )


def evaluate(
    text: str,
    findings: list[dict[str, Any]],
    cues: list[dict[str, Any]],
    *,
    code: str = "27365",
    icd10: list[str] | None = None,
    source: str | None = None,
    encoding: str | None = None,
) -> Report:
    """Score one note's findings against the checklist for ``code``."""
    cl = rule_files.checklist(code)
    rules = {r.id: r for r in cl.items}
    facts = derive_facts(text, findings, cues)
    items: dict[str, ChecklistItem] = {}
    T = text

    # tumor_location ----------------------------------------------------------------
    r = rules["tumor_location"]
    in_region = facts.site in cl.sites
    if facts.laterality_conflict:
        ev = _ev(T, facts.side_evidence["right"][:3] + facts.side_evidence["left"][:3])
        items[r.id] = _status_item(r, "conflict", "The note gives both right and left for the tumor; the side must be consistent.", ev)
    elif facts.site and in_region and facts.laterality:
        items[r.id] = _status_item(r, "met", f"Tumor site ({facts.site.replace('_', ' ')}) and side ({facts.laterality}) are documented.", _ev(T, facts.site_evidence))
    elif facts.site and in_region:
        items[r.id] = _status_item(r, "partial", f"Tumor site ({facts.site.replace('_', ' ')}) is documented but the side is not.", _ev(T, facts.site_evidence))
    elif facts.laterality:
        where = f" ({facts.site.replace('_', ' ')} is outside the {cl.code} region)" if facts.site else ""
        items[r.id] = _status_item(r, "partial", f"The side ({facts.laterality}) is documented but not a tumor site in the {cl.code} region{where}.", _ev(T, facts.site_evidence or facts.side_evidence.get(facts.laterality, [])))
    else:
        items[r.id] = _status_item(r, "missing", "No tumor site and side were found.", [])

    # margin_intent -----------------------------------------------------------------
    r = rules["margin_intent"]
    margins = [f for f in _of(findings, kind="margin") if _is(f, "present")]
    wide = [f for f in margins if f["attributes"]["intent"] in ("radical", "wide")]
    lesser = [f for f in margins if f["attributes"]["intent"] in ("marginal", "intralesional")]
    if wide:
        intents = sorted({f["attributes"]["intent"] for f in wide})
        items[r.id] = _status_item(r, "met", f"Margin intent documented: {', '.join(intents)}.", _ev(T, wide))
    elif lesser:
        intents = sorted({f["attributes"]["intent"] for f in lesser})
        items[r.id] = _status_item(r, "partial", f"Only {' and '.join(intents)} margins are documented; a radical resection needs a radical or wide margin.", _ev(T, lesser))
    else:
        items[r.id] = _status_item(r, "missing", "No margin intent (radical, wide, en bloc) was found.", [])

    # resection_dimensions ----------------------------------------------------------
    r = rules["resection_dimensions"]
    dims = [f for f in _of(findings, kind="dimension") if _is(f, "present", "historical")]
    good = [d for d in dims if d["attributes"]["measures"] in ("resection_length", "specimen", "margin_distance")]
    tumor_dims = [d for d in dims if d["attributes"]["measures"] == "tumor"]
    if good:
        items[r.id] = _status_item(r, "met", "Resection measurements are documented.", _ev(T, good))
    elif tumor_dims:
        items[r.id] = _status_item(r, "partial", "Only the tumor size is given; the resection length, specimen size or margin distance is not.", _ev(T, tumor_dims))
    else:
        items[r.id] = _status_item(r, "missing", "No resection length, specimen size or margin distance was found.", [])

    # frozen_section ----------------------------------------------------------------
    r = rules["frozen_section"]
    fs = [f for f in _of(findings, kind="frozen_section") if _is(f, "present")]
    definite = [f for f in fs if f["attributes"].get("result") in DEFINITE_FS]
    reasoned = [f for f in fs if f["attributes"].get("result") == "not_performed" and f["attributes"].get("reason")]
    if definite:
        res = sorted({f["attributes"]["result"] for f in definite})
        items[r.id] = _status_item(r, "met", f"Frozen section documented with its result ({', '.join(res)}).", _ev(T, definite))
    elif reasoned:
        items[r.id] = _status_item(r, "met", "The note states that no frozen section was sent, with the reason.", _ev(T, reasoned))
    elif fs:
        res = sorted({f["attributes"].get("result", "unknown") for f in fs})
        what = {"pending": "its result is pending", "unknown": "no result is given", "not_performed": "it was not sent and no reason is given"}
        items[r.id] = _status_item(r, "partial", "A frozen section is mentioned but " + " / ".join(what.get(x, x) for x in res) + ".", _ev(T, fs))
    else:
        blank = [c for c in cues if c["label"] == "BLANK_FROZEN"]
        msg = "The frozen-section field is left blank." if blank else "No intraoperative frozen section (or reason for none) was found."
        items[r.id] = _status_item(r, "missing", msg, [])

    # preop_imaging -----------------------------------------------------------------
    r = rules["preop_imaging"]
    imaging = [f for f in _of(findings, kind="imaging") if _is(f, "present", "historical")]
    generic_img = [c for c in cues if c["label"] == "IMAGING_GENERIC" and _is(c, "present", "historical")]
    if imaging:
        mods = sorted({f["attributes"]["modality"] for f in imaging})
        items[r.id] = _status_item(r, "met", f"Preoperative imaging named: {', '.join(m.replace('_', ' ') for m in mods)}.", _ev(T, imaging))
    elif generic_img:
        items[r.id] = _status_item(r, "partial", "Imaging is referred to but no modality (MRI, CT, bone scan, PET, radiographs) is named.", _ev(T, generic_img))
    else:
        items[r.id] = _status_item(r, "missing", "No preoperative imaging was found.", [])

    # pathology ---------------------------------------------------------------------
    r = rules["pathology"]
    histology_ok = facts.certainty == "confirmed" and facts.tumor is not None and facts.tumor["attributes"].get("histology")
    # Margin status and pending pathology speak for a tumor only when the note has one
    # (bone cuts of a knee arthroplasty are also "sent to pathology").
    mstatus = [f for f in findings if f["label"] == "MARGIN_STATUS" and _is(f, "present")] if facts.current_tumor else []
    pending = [f for f in findings if f["label"] == "PATH_PENDING" and _is(f, "present", "hypothetical")] if facts.current_tumor else []
    hist_ev = [facts.tumor] if facts.tumor else []
    if histology_ok and (mstatus or pending):
        what = "margin status" if mstatus else "final pathology pending"
        items[r.id] = _status_item(r, "met", f"Histology ({facts.tumor['attributes']['histology']}) and {what} are documented.", _ev(T, hist_ev + mstatus + pending))
    elif histology_ok:
        items[r.id] = _status_item(r, "partial", f"Histology ({facts.tumor['attributes']['histology']}) is documented but not the margin status or that final pathology is pending.", _ev(T, hist_ev))
    elif mstatus or pending:
        items[r.id] = _status_item(r, "partial", "Margin status or pending pathology is documented but not a confirmed histology.", _ev(T, mstatus + pending + hist_ev))
    else:
        items[r.id] = _status_item(r, "missing", "Neither a confirmed histology nor a margin status was found.", [])

    # diagnosis / diagnosis_code ------------------------------------------------------
    r = rules["diagnosis_code"]
    diag, dx_status, dx_msg, dx_adv = coding.assess_diagnosis(facts, icd10 or [], cl.sites)
    diag_ev = _ev(T, hist_ev + facts.site_evidence[:1])
    diag.evidence = diag_ev
    items[r.id] = _status_item(r, dx_status, dx_msg, diag_ev if dx_status != "missing" else [])

    # reconstruction ----------------------------------------------------------------
    r = rules["reconstruction"]
    recon = [f for f in _of(findings, kind="reconstruction") if _is(f, "present")]
    generic_recon = [c for c in cues if c["label"] == "RECON_GENERIC" and _is(c, "present") and not c.get("header")]
    if recon:
        kinds = sorted({f["attributes"]["kind"] for f in recon})
        items[r.id] = _status_item(r, "met", f"Reconstruction documented: {', '.join(k.replace('_', ' ') for k in kinds)}.", _ev(T, recon, limit=10))
    elif generic_recon:
        items[r.id] = _status_item(r, "partial", "Reconstruction is mentioned but its components (implant or graft, fixation, coverage) are not named.", _ev(T, generic_recon))
    else:
        items[r.id] = _status_item(r, "not_applicable", "No reconstruction is described.", [])

    # informed_consent --------------------------------------------------------------
    r = rules["informed_consent"]
    consents = [f for f in _of(findings, kind="consent") if _is(f, "present")]
    if consents:
        onc_cues = [x for x in cues if x["label"] == "ONCOLOGIC"]
        limb_cues = [x for x in cues if x["label"] == "AMPUTATION_DISCUSSION"]
        onc_by_sent, limb_by_sent = _by_sent(onc_cues), _by_sent(limb_cues)
        onc_in_consent = [x for x in onc_cues if x.get("section") == "consent"]
        limb_in_consent = [x for x in limb_cues if x.get("section") == "consent"]
        best = None
        for c in consents:
            # The discussion often comes before the word "consent" ("We discussed ... She signed consent").
            lo, hi = c["sent"] - 4, c["sent"] + 2
            onc = [x for k in range(lo, hi + 1) for x in onc_by_sent.get(k, ()) if not _is(x, "negated")]
            if c.get("section") == "consent":
                onc += onc_in_consent
            # "a wide resection rather than an amputation" discusses amputation even though it is declined.
            limb = [x for k in range(lo, hi + 1) for x in limb_by_sent.get(k, ())]
            if c.get("section") == "consent":
                limb += limb_in_consent
            score = (bool(onc) + bool(limb), -c["start"])
            if best is None or score > best[0]:
                best = (score, c, onc, limb)
        _, c, onc, limb = best  # type: ignore[misc]
        waived = facts.category in BENIGNISH
        if onc and (limb or waived):
            msg = "Consent documents the oncologic nature of the surgery" + (" and limb salvage versus amputation." if limb else " (benign tumor: the amputation discussion is not required).")
            items[r.id] = _status_item(r, "met", msg, _ev(T, [c] + onc[:2] + limb[:2]))
        else:
            lacking = []
            if not onc:
                lacking.append("the oncologic nature of the surgery")
            if not limb and not waived:
                lacking.append("limb salvage versus amputation")
            items[r.id] = _status_item(r, "partial", "Consent is documented but does not name " + " or ".join(lacking) + ".", _ev(T, [c] + onc[:2] + limb[:2]))
    else:
        items[r.id] = _status_item(r, "missing", "No informed consent was found.", [])

    # advisories --------------------------------------------------------------------
    advisories: list[Advisory] = []
    advisories += coding.code_selection(facts, findings, cues, cl)
    advisories += dx_adv
    advisories += coding.modifiers(facts, findings, cues, T)
    advisories += coding.bundling(findings, T)
    global_period = coding.global_period(T, cl.global_days)

    checklist = [items[r.id] for r in cl.items]
    weights = {r.id: r.weight for r in cl.items}
    got = sum(weights[i.id] * (1.0 if i.status in ("met", "not_applicable") else 0.5 if i.status == "partial" else 0.0) for i in checklist)
    score = int(round(100 * got / sum(weights.values())))
    conflict = any(i.status == "conflict" for i in checklist)
    code_sel = [a for a in advisories if a.kind == "code_selection"]
    resection = _resection_documented(findings, cues)
    # A tumor elsewhere (breast, colon, a humerus) is not this code's business at all.
    off_site = facts.current_tumor and facts.site is None
    if not facts.current_tumor or off_site or not resection or conflict or code_sel:
        verdict = "not_supported"
    elif all(i.status in ("met", "not_applicable") for i in checklist):
        verdict = "ready"
    else:
        verdict = "at_risk"
    gaps = [i for i in checklist if i.status in ("partial", "missing", "conflict")]
    if verdict == "not_supported":
        if code_sel:
            summary = f"Not supported as {cl.code}: the note reads like {code_sel[0].code}."
        elif not facts.current_tumor:
            summary = f"Not supported as {cl.code}: no current bone tumor is documented."
        elif off_site:
            summary = f"Not supported as {cl.code}: no tumor of the femur or knee region is described."
        elif not resection:
            summary = f"Not supported as {cl.code}: no tumor resection is described in this operation."
        else:
            summary = f"Not supported as {cl.code}: " + "; ".join(f"{i.title.lower()} in conflict" for i in checklist if i.status == "conflict") + "."
    elif verdict == "ready":
        summary = f"Ready: all {len(checklist)} checklist items are documented."
    else:
        summary = f"At risk: {len(gaps)} item{'s' if len(gaps) != 1 else ''} to complete ({', '.join(i.title.lower() for i in gaps)})."

    out_findings = [
        Finding(kind=f["kind"], text=f["text"], start=f["start"], end=f["end"], section=f.get("section"), assertion=f["assertion"], attributes=_public_attrs(f))
        for f in findings
    ]
    return Report(
        source=source,
        code=cl.code,
        score=score,
        verdict=verdict,
        summary=summary,
        checklist=checklist,
        findings=out_findings,
        diagnosis=diag,
        advisories=advisories,
        encoding=encoding,
        opnote_version=__version__,
        checklist_version=cl.version,
        global_period=global_period,
    )


def _resection_documented(findings: list[dict[str, Any]], cues: list[dict[str, Any]]) -> bool:
    """Does this operation resect a tumor or bone (not only mention a past resection)?"""
    anchored = {x["sent"] for x in findings + cues if x["label"] in {"SITE", "TUMOR", "TUMOR_GENERIC"} and x["assertion"] == "present"}
    for f in findings:
        if f["assertion"] != "present":
            continue
        if f.get("kind") == "margin":
            return True
        if f.get("kind") == "procedure" and f["attributes"].get("procedure") in {"resection", "curettage", "amputation", "knee_disarticulation", "hip_disarticulation", "soft_tissue_resection"}:
            # "the wound edges were excised" is not a tumor resection: the sentence must name a site or tumor.
            if f["sent"] in anchored:
                return True
        if f.get("kind") == "dimension" and f["attributes"].get("measures") in {"resection_length", "specimen"}:
            return True
    return False


def _public_attrs(f: dict[str, Any]) -> dict[str, Any]:
    a = dict(f["attributes"])
    if f["kind"] == "pathology":
        if f["label"] == "TUMOR":
            return {"histology": a.get("histology"), "category": a.get("category"), "margin_status": None}
        return {"histology": None, "margin_status": a.get("margin_status")}
    if f["kind"] == "tumor_location":
        return {"site": a.get("site"), "laterality": a.get("laterality")}
    return a
