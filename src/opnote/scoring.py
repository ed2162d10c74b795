"""From a processed note to its Report: settle the case, judge each item, decide the verdict.

Pure functions over plain data (no spaCy here): the input is what the ``opnote_findings``
component leaves on a Doc and the note's text; the output is the
:class:`~opnote.schema.Report`. The order is fixed: the case model first (``case.py``), then one
assessor per checklist item (``assess/``), then the verdict, the coding advisories and the
report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import __version__, coding
from . import rules as rule_files
from .assess import Assessment, Context, assessor_for
from .case import Case, Fact, build_case, reassert
from .mentions import Mention, NoteView, note_view
from .schema import (
    AmputationLevelFact,
    ChecklistItem,
    Evidence,
    Finding,
    OperationFact,
    Report,
    SideConflict,
    SideFact,
    TissueFact,
    TumorStatusFact,
    trusted,
)
from .schema import Case as CaseBlock

__all__ = ["evaluate", "evaluate_view"]


def evaluate(
    text: str,
    findings: Sequence[Mapping[str, Any]],
    cues: Sequence[Mapping[str, Any]],
    *,
    code: str = "27365",
    icd10: list[str] | None = None,
    source: str | None = None,
    encoding: str | None = None,
    sentences: Sequence[Sequence[int]] | None = None,
    sections: Sequence[Mapping[str, Any]] | None = None,
) -> Report:
    """Score one note's findings against the checklist for ``code``."""
    view = note_view(text, findings, cues, sentences, sections)
    return evaluate_view(view, code=code, icd10=icd10, source=source, encoding=encoding)


def _evidence(text: str, spans: Sequence[tuple[int, int]], limit: int = 10) -> list[Evidence]:
    # Built without validation: offsets into ``text`` are non-negative ints (the model's only
    # constraint), and two spans with the same offsets are the same evidence.
    out: list[Evidence] = []
    seen: set[tuple[int, int]] = set()
    for s, e in spans:
        if (s, e) not in seen:
            seen.add((s, e))
            out.append(trusted(Evidence, {"start": s, "end": e, "text": text[s:e]}))
        if len(out) >= limit:
            break
    return out


def _item(rule: rule_files.ChecklistItemRule, a: Assessment, text: str) -> ChecklistItem:
    suggestion = None if a.status in ("met", "not_applicable") else rule.suggestion
    return ChecklistItem(
        id=rule.id, status=a.status, evidence=_evidence(text, a.evidence), message=a.message, suggestion=suggestion,  # type: ignore[arg-type]
        title=rule.title, severity=rule.severity, why=rule.why,
    )


def evaluate_view(
    view: NoteView,
    *,
    code: str = "27365",
    icd10: list[str] | None = None,
    source: str | None = None,
    encoding: str | None = None,
) -> Report:
    """Score a :class:`NoteView` (see :func:`evaluate`)."""
    cl = rule_files.checklist(code)
    text = view.text
    case = build_case(view)
    reassert(view, case)
    diag, dx_status, dx_msg, dx_adv = coding.assess_diagnosis(case, icd10 or [], text)
    diag.evidence = _evidence(text, ([(case.tumor.start, case.tumor.end)] if case.tumor else []) + [(m.start, m.end) for m in case.site_evidence[:1]])
    ctx = Context(view=view, case=case, checklist=cl, diagnosis=diag, diagnosis_status=(dx_status, dx_msg))
    checklist = [_item(rule, assessor_for(rule.assessor_name)(ctx), text) for rule in cl.items]

    advisories = coding.code_selection(case, view, cl) + dx_adv + coding.modifiers(case, view) + coding.bundling(case, view)
    weights = {r.id: r.weight for r in cl.items}
    got = sum(weights[i.id] * (1.0 if i.status in ("met", "not_applicable") else 0.5 if i.status == "partial" else 0.0) for i in checklist)
    score = int(round(100 * got / sum(weights.values())))
    reason = verdict_reason(case, cl, checklist, [a for a in advisories if a.kind == "code_selection"])
    verdict = "ready" if reason == "ready" else "at_risk" if reason == "gaps" else "not_supported"
    return Report(
        source=source,
        code=cl.code,
        score=score,
        verdict=verdict,  # type: ignore[arg-type]
        verdict_reason=reason,  # type: ignore[arg-type]
        summary=_summary(reason, case, cl, checklist, advisories),
        checklist=checklist,
        findings=[_finding(m) for m in view.mentions if m.kind is not None],
        diagnosis=diag,
        case=case_block(case, text),
        advisories=advisories,
        encoding=encoding,
        opnote_version=__version__,
        checklist_version=cl.version,
        global_period=coding.global_period(case, text, cl.global_days),
        fee=coding.fee_context(cl.code, text),
    )


def verdict_reason(case: Case, cl: rule_files.Checklist, checklist: Sequence[ChecklistItem], code_sel: Sequence[Any]) -> str:
    """Why the verdict is what it is: the first fact of the case that rules the code out, else the items."""
    if not case.current_tumor:
        return "tumor_status"
    if case.operation.value != "radical_resection":
        return "operation"
    if case.tissue.value == "soft_tissue":
        return "tissue"
    if case.site is None or case.site not in cl.sites or case.site in cl.better_code_for_site:
        return "site"
    if any(i.status == "conflict" for i in checklist):
        return "conflict"
    if code_sel:
        return "code_selection"
    if all(i.status in ("met", "not_applicable") for i in checklist):
        return "ready"
    return "gaps"


def _summary(reason: str, case: Case, cl: rule_files.Checklist, checklist: Sequence[ChecklistItem], advisories: Sequence[Any]) -> str:
    gaps = [i for i in checklist if i.status in ("partial", "missing", "conflict")]
    named = next((a.code for a in advisories if a.kind == "code_selection" and a.code), None)
    like = f" (it reads like {named})" if named else ""
    op = (case.operation.value or "unknown").replace("_", " ")
    if case.operation.value in ("amputation", "disarticulation") and case.amputation_level.value:
        op = f"{op} ({case.amputation_level.value})"
    texts = {
        "tumor_status": f"Not supported as {cl.code}: no current tumor is documented ({case.tumor_status.value}){like}.",
        "operation": f"Not supported as {cl.code}: the operation is {'an' if op[0] in 'aeiou' else 'a'} {op}, not a radical resection of bone{like}.",
        "tissue": f"Not supported as {cl.code}: a soft-tissue tumor resected without bone{like}.",
        "site": f"Not supported as {cl.code}: the tumor is not in the femur or knee region{like}.",
        "conflict": f"Not supported as {cl.code}: " + "; ".join(f"{i.title.lower()} in conflict" for i in checklist if i.status == "conflict") + ".",
        "code_selection": f"Not supported as {cl.code}{like}.",
        "ready": f"Ready: all {len(checklist)} checklist items are documented.",
    }
    if reason in texts:
        return texts[reason]
    return f"At risk: {len(gaps)} item{'s' if len(gaps) != 1 else ''} to complete ({', '.join(i.title.lower() for i in gaps)})."


def case_block(case: Case, text: str) -> CaseBlock:
    """The report's ``case`` block."""

    def ev(f: Fact) -> list[Evidence]:
        return _evidence(text, f.evidence, limit=4)

    conflicts = [SideConflict(value=c.value, place=c.place, evidence=_evidence(text, [c.span])) for c in case.side_conflicts]  # type: ignore[arg-type]
    return CaseBlock(
        operation=OperationFact(value=case.operation.value or "unknown", evidence=ev(case.operation)),  # type: ignore[arg-type]
        amputation_level=AmputationLevelFact(value=case.amputation_level.value, evidence=ev(case.amputation_level)),  # type: ignore[arg-type]
        tissue=TissueFact(value=case.tissue.value or "unknown", evidence=ev(case.tissue)),  # type: ignore[arg-type]
        tumor_status=TumorStatusFact(value=case.tumor_status.value or "unknown", evidence=ev(case.tumor_status)),  # type: ignore[arg-type]
        side=SideFact(value=case.side.value, evidence=ev(case.side), conflicts=conflicts),  # type: ignore[arg-type]
    )


def _finding(m: Mention) -> Finding:
    # Built without validation, like _evidence: every value comes from a typed Mention.
    return trusted(Finding, {"kind": m.kind, "text": m.text, "start": m.start, "end": m.end, "section": m.section,
                             "assertion": m.assertion, "attributes": _public_attrs(m)})


def _public_attrs(m: Mention) -> dict[str, Any]:
    a = dict(m.attrs)
    if m.kind == "pathology":
        if m.label == "TUMOR":
            return {"histology": a.get("histology"), "category": a.get("category"), "margin_status": None}
        return {"histology": None, "margin_status": a.get("margin_status")}
    if m.kind == "tumor_location":
        return {"site": a.get("site"), "laterality": a.get("laterality")}
    return a
