"""--format fhir and Report.to_fhir(): a valid FHIR R4B Bundle whose evidence offsets index the note."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from opnote import Report
from opnote.fhir import (
    ADVISORY_SYSTEM,
    CHECKLIST_SYSTEM,
    DERIVATION_REFERENCE,
    advisory_severity,
    issue_severity,
    to_fhir,
    to_fhir_resource,
    validate_fhir,
)
from opnote.render import render
from opnote.schema import Advisory, ChecklistItem

Bundle = pytest.importorskip("fhir.resources.R4B.bundle").Bundle

ROOT = Path(__file__).resolve().parents[1]
DEV = sorted((ROOT / "sample_notes" / "dev").glob("*.txt"))


def note_and_codes(path: Path) -> tuple[str, list[str]]:
    gold_file = path.with_name(path.stem + ".expected.json")
    gold = json.loads(gold_file.read_text(encoding="utf-8")) if gold_file.is_file() else {}
    return path.read_bytes().decode("utf-8"), list(gold.get("icd10") or [])


def resources(bundle: dict, kind: str) -> list[tuple[str, dict]]:
    return [(e["fullUrl"], e["resource"]) for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def derivation(ref: dict) -> dict:
    (ext,) = [x for x in ref["extension"] if x["url"] == DERIVATION_REFERENCE]
    return {sub["url"]: sub for sub in ext["extension"]}


@pytest.fixture(scope="module")
def reports(checker) -> list[tuple[Path, str, Report]]:
    out = []
    for path in DEV:
        text, codes = note_and_codes(path)
        out.append((path, text, checker.check(text, codes, source=path.name)))
    return out


@pytest.mark.slow
def test_every_sample_bundle_validates_as_r4b(reports):
    for path, text, report in reports:
        bundle = report.to_fhir(text)
        model = Bundle.model_validate(bundle)
        assert model.type == "collection", path.name
        urls = [e["fullUrl"] for e in bundle["entry"]]
        assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)


def test_one_issue_per_gap_and_per_advisory(reports):
    saw_conflict = saw_advisory = saw_missing = False
    for path, text, report in reports:
        bundle = to_fhir(report, text)
        (doc_url, _), = resources(bundle, "DocumentReference")
        issues = [r for _, r in resources(bundle, "DetectedIssue")]
        gaps = [i for i in report.checklist if i.status in ("partial", "missing", "conflict")]
        assert len(issues) == len(gaps) + len(report.advisories), path.name
        for item, issue in zip(gaps, issues[: len(gaps)]):
            saw_conflict |= item.status == "conflict"
            saw_missing |= item.status == "missing"
            assert issue["status"] == "preliminary"
            assert issue["code"]["coding"] == [{"system": CHECKLIST_SYSTEM, "code": item.id, "display": item.title}]
            assert issue["severity"] == issue_severity(item)
            assert item.message in issue["detail"]
            if item.suggestion:
                assert item.suggestion in issue["detail"]
            assert [r["reference"] for r in issue["implicated"]] == [doc_url]
        for adv, issue in zip(report.advisories, issues[len(gaps):]):
            saw_advisory = True
            assert issue["status"] == "preliminary"
            code = adv.kind if adv.code is None else f"{adv.kind}:{adv.code}"
            assert [(c["system"], c["code"]) for c in issue["code"]["coding"]] == [(ADVISORY_SYSTEM, code)]
            assert issue["severity"] == ("high" if adv.kind == "laterality" else "low")
            assert adv.message in issue["detail"]
            assert [r["reference"] for r in issue["implicated"]] == [doc_url]
    assert saw_conflict and saw_advisory and saw_missing, "the sample notes no longer cover conflicts, gaps and advisories"


def test_evidence_offsets_and_lengths_index_the_note(reports):
    n = 0
    for path, text, report in reports:
        bundle = to_fhir(report, text)
        (doc_url, _), = resources(bundle, "DocumentReference")
        issues = [r for _, r in resources(bundle, "DetectedIssue")]
        sources = [i for i in report.checklist if i.status in ("partial", "missing", "conflict")] + list(report.advisories)
        for src, issue in zip(sources, issues):
            spans = []
            for ev in issue.get("evidence", []):
                for ref in ev["detail"]:
                    assert ref["reference"] == doc_url
                    sub = derivation(ref)
                    assert sub["reference"]["valueReference"]["reference"] == doc_url
                    start, length = sub["offset"]["valueInteger"], sub["length"]["valueInteger"]
                    assert text[start:start + length] == ref["display"], path.name
                    spans.append((start, start + length))
                    n += 1
            assert spans == [(e.start, e.end) for e in src.evidence]
    assert n > 20


def assert_offsets_index(bundle, text):
    """Every evidence reference's offset and length point at its display text in the note."""
    refs = [ref for _, r in resources(bundle, "DetectedIssue") for ev in r.get("evidence", []) for ref in ev["detail"]]
    assert refs
    for ref in refs:
        sub = derivation(ref)
        start, length = sub["offset"]["valueInteger"], sub["length"]["valueInteger"]
        assert text[start:start + length] == ref["display"]


def test_offsets_count_characters_not_bytes(checker):
    text = "Résumé — dictée 2025.\n" + DEV[0].read_bytes().decode("utf-8")
    report = checker.check(text)
    bundle = to_fhir(report, text, validate=True)
    assert_offsets_index(bundle, text)


def test_document_reference_embeds_the_note_when_text_is_given(reports):
    path, text, report = reports[0]
    (_, doc), = resources(to_fhir(report, text), "DocumentReference")
    att = doc["content"][0]["attachment"]
    assert att["contentType"].startswith("text/plain")
    assert base64.b64decode(att["data"]).decode("utf-8") == text
    assert att["size"] == len(text.encode("utf-8"))
    assert base64.b64decode(att["hash"]) == hashlib.sha1(text.encode("utf-8")).digest()
    assert att["title"] == path.name
    (_, bare), = resources(to_fhir(report), "DocumentReference")
    assert "data" not in bare["content"][0]["attachment"]
    Bundle.model_validate(to_fhir(report))


def test_same_report_same_bundle_and_different_notes_differ(reports):
    (_, t1, r1), (_, t2, r2) = reports[0], reports[1]
    assert to_fhir(r1, t1) == to_fhir(r1, t1)
    assert {e["fullUrl"] for e in to_fhir(r1, t1)["entry"]}.isdisjoint(e["fullUrl"] for e in to_fhir(r2, t2)["entry"])


def test_text_that_is_not_the_reports_note_is_rejected(reports):
    (_, t1, r1), (_, t2, _) = reports[2], reports[3]
    assert any(i.evidence for i in r1.checklist)
    with pytest.raises(ValueError, match="offsets"):
        to_fhir(r1, t2)


def test_severity_mapping():
    def item(status, severity="required"):
        return ChecklistItem(id="x", status=status, message="m", severity=severity)

    assert issue_severity(item("conflict")) == "high"
    assert issue_severity(item("missing")) == "high"
    assert issue_severity(item("missing", "recommended")) == "moderate"
    assert issue_severity(item("partial")) == "moderate"
    assert issue_severity(item("partial", "recommended")) == "low"
    with pytest.raises(ValueError):
        issue_severity(item("met"))
    assert advisory_severity(Advisory(kind="modifier", code="62", message="m")) == "low"
    assert advisory_severity(Advisory(kind="laterality", code="C40.22", message="m")) == "high"


def test_render_fhir_and_resource_model(reports):
    _, text, report = reports[0]
    assert json.loads(render(report, "fhir", text=text)) == report.to_fhir(text)
    model = to_fhir_resource(report, text)
    assert isinstance(model, Bundle) and len(model.entry) == len(report.to_fhir(text)["entry"])


def test_invalid_bundle_is_rejected_by_validation(reports):
    _, text, report = reports[0]
    bundle = to_fhir(report, text)
    del bundle["entry"][0]["resource"]["status"]
    with pytest.raises(Exception):
        validate_fhir(bundle)


def test_missing_fhir_resources_gives_a_clear_error(reports, monkeypatch):
    _, text, report = reports[0]
    monkeypatch.setitem(sys.modules, "fhir.resources.R4B.bundle", None)
    assert to_fhir(report, text)["resourceType"] == "Bundle"  # building needs no extra
    with pytest.raises(ImportError, match="'fhir' extra"):
        to_fhir(report, text, validate=True)
    with pytest.raises(ImportError, match="'fhir' extra"):
        to_fhir_resource(report)


def test_core_does_not_import_fhir_resources(reports, tmp_path):
    """`import opnote` and building a Bundle never load fhir.resources (it is an optional extra)."""
    _, text, report = reports[0]
    saved = tmp_path / "report.json"
    saved.write_text(report.model_dump_json(), encoding="utf-8")
    script = (
        "import sys, json\n"
        "sys.modules['fhir'] = None\n"  # as if the package were not installed
        "import opnote\n"
        "from opnote import Report\n"
        "r = Report.model_validate_json(open(sys.argv[1], encoding='utf-8').read())\n"
        "b = r.to_fhir()\n"
        "print(json.dumps({'n': len(b['entry']), 'loaded': [m for m in sys.modules if m.startswith('fhir.')]}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(saved)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out == {"n": len(to_fhir(report)["entry"]), "loaded": []}


@pytest.mark.slow
def test_cli_format_fhir(tmp_path):
    note = ROOT / "sample_notes" / "dev" / "left_distal_femur_osteosarcoma_laterality_conflict.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "opnote", "check", str(note), "--format", "fhir", "--icd10", "C40.22"],
        capture_output=True, text=True, encoding="utf-8", cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # the note has gaps
    bundle = json.loads(proc.stdout)
    Bundle.model_validate(bundle)
    text = note.read_bytes().decode("utf-8")
    (_, doc), = resources(bundle, "DocumentReference")
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8") == text
    severities = [r["severity"] for _, r in resources(bundle, "DetectedIssue")]
    assert "high" in severities and "low" in severities


def test_the_example_in_docs_is_valid_and_indexes_its_note():
    page = (ROOT / "docs" / "fhir.md").read_text(encoding="utf-8")
    example = json.loads(page.split("```json\n", 1)[1].split("\n```", 1)[0])
    Bundle.model_validate(example)
    (_, doc), = resources(example, "DocumentReference")
    note = ROOT / doc["content"][0]["attachment"]["title"]
    text = note.read_bytes().decode("utf-8")
    assert_offsets_index(example, text)
    assert {r["status"] for _, r in resources(example, "DetectedIssue")} == {"preliminary"}


def test_fhir_renderer_sits_with_the_others_and_the_old_import_still_works():
    import opnote.fhir
    import opnote.render.fhir

    for name in opnote.fhir.__all__:
        assert getattr(opnote.fhir, name) is getattr(opnote.render.fhir, name)


@pytest.mark.parametrize(
    "first,never",
    [("opnote.schema", ("opnote.fhir", "opnote.render.fhir")), ("opnote.render.fhir", ("opnote.schema",)), ("opnote.fhir", ("opnote.schema",))],
)
def test_schema_and_fhir_renderer_do_not_import_each_other(first, never):
    """Neither module needs the other to load (Report.to_fhir imports the renderer when called)."""
    script = f"import sys, json, {first}\nprint(json.dumps([m for m in {list(never)!r} if m in sys.modules]))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == []
