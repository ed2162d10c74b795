"""The command line: parity with the API, exit statuses, schema, checklist and evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from notes import note
from opnote.cli import app
from opnote.rules import Checklist, validate
from opnote.errors import RuleFileError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
READY = ROOT / "sample_notes/dev/right_distal_femur_osteosarcoma_dfr_templated.txt"


@pytest.mark.slow
def test_cli_json_equals_the_api_report(checker):
    res = runner.invoke(app, ["check", str(READY), "--format", "json"])
    assert res.exit_code == 0, res.output
    api = checker.check_file(READY).model_dump(mode="json")
    assert json.loads(res.stdout) == api


@pytest.mark.slow
def test_cli_json_validates_against_the_schema(tmp_path):
    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    res = runner.invoke(app, ["check", str(READY), "--format", "json", "--icd10", "C40.21"])
    jsonschema.validate(json.loads(res.stdout), schema)


def test_cli_exit_status_one_when_gaps(tmp_path):
    p = tmp_path / "gappy.txt"
    p.write_text(note(desc=None))
    res = runner.invoke(app, ["check", str(p)])
    assert res.exit_code == 1
    assert "MISSING" in res.stdout or "PARTIAL" in res.stdout


def test_cli_bad_icd10_is_a_usage_error_naming_the_code():
    res = runner.invoke(app, ["check", str(READY), "--icd10", "Q99.999X"])
    assert res.exit_code == 2
    assert "Q99.999X" in res.stderr


def test_cli_unknown_cpt_code_is_a_usage_error():
    res = runner.invoke(app, ["check", str(READY), "--code", "99999"])
    assert res.exit_code == 2 and "99999" in res.stderr


def test_cli_code_27645_applies_the_tibia_checklist(tmp_path):
    p = tmp_path / "tibia.txt"
    p.write_text(note(pre="PREOPERATIVE DIAGNOSIS: Osteosarcoma of the right proximal tibia.",
                      proc="PROCEDURE: Radical resection of the right proximal tibia with proximal tibial replacement."))
    rep = json.loads(runner.invoke(app, ["check", str(p), "--code", "27645", "--format", "json"]).stdout)
    assert rep["code"] == "27645"
    assert not [a for a in rep["advisories"] if a["kind"] == "code_selection"]


def test_cli_stdin_note():
    res = runner.invoke(app, ["check", "-", "--format", "json"], input=READY.read_text())
    assert res.exit_code == 0
    assert json.loads(res.stdout)["verdict"] == "ready"


def test_cli_several_notes_as_a_json_array(tmp_path):
    for i in range(3):
        shutil.copy(READY, tmp_path / f"n{i}.txt")
    res = runner.invoke(app, ["check", str(tmp_path), "--format", "json"])
    data = json.loads(res.stdout)
    assert [Path(d["source"]).name for d in data] == ["n0.txt", "n1.txt", "n2.txt"]


def test_cli_checklist_text_and_json():
    text = runner.invoke(app, ["checklist"]).stdout
    assert "Margin intent" in text and "why:" in text and "source:" in text
    data = json.loads(runner.invoke(app, ["checklist", "27645", "--format", "json"]).stdout)
    assert data["code"] == "27645" and len(data["items"]) == 9


def test_cli_malformed_checklist_gives_a_clear_error():
    good = json.loads(runner.invoke(app, ["checklist", "--format", "json"]).stdout)
    bad = json.loads(json.dumps(good))
    bad["items"][0]["weight"] = "heavy"
    with pytest.raises(RuleFileError) as e:
        validate(Checklist, bad, "checklists/broken.json")
    assert "checklists/broken.json" in str(e.value) and "items.0.weight" in str(e.value)
    twice = json.loads(json.dumps(good))
    twice["items"].append(twice["items"][0])
    with pytest.raises(RuleFileError, match="each id once"):
        validate(Checklist, twice, "checklists/twice.json")
    unknown = json.loads(json.dumps(good))
    unknown["items"][0]["id"] = "bone_density"
    from opnote.assess import check_checklist

    with pytest.raises(RuleFileError, match="no assessor for checklist item 'bone_density'"):
        check_checklist(validate(Checklist, unknown, "checklists/unknown.json"))
    extra = json.loads(json.dumps(good))
    extra["colour"] = "red"
    with pytest.raises(RuleFileError, match="colour"):
        validate(Checklist, extra, "checklists/extra.json")


@pytest.mark.slow
def test_cli_evaluate_reports_accuracy_and_fails_below_threshold(tmp_path):
    src = ROOT / "sample_notes/dev"
    for name in ("right_distal_femur_osteosarcoma_dfr_templated", "left_total_knee_arthroplasty_osteoarthritis_no_tumor"):
        shutil.copy(src / f"{name}.txt", tmp_path)
        shutil.copy(src / f"{name}.expected.json", tmp_path)
    res = runner.invoke(app, ["evaluate", str(tmp_path), "--format", "json"])
    data = json.loads(res.stdout)
    assert data["n_notes"] == 2
    assert set(data["overall"]["items"]) >= {"tumor_location", "informed_consent"}
    # Break one gold label: the miss is listed and --min-accuracy 1.0 fails.
    g = tmp_path / "right_distal_femur_osteosarcoma_dfr_templated.expected.json"
    gold = json.loads(g.read_text())
    gold["checklist"]["frozen_section"] = "missing"
    g.write_text(json.dumps(gold))
    res = runner.invoke(app, ["evaluate", str(tmp_path), "--min-accuracy", "1.0"])
    assert res.exit_code == 1
    assert "frozen_section expected missing got met" in res.stdout


@pytest.mark.slow
def test_cli_build_writes_a_loadable_pipeline(tmp_path):
    import spacy

    out = tmp_path / "model"
    assert runner.invoke(app, ["build", "--out", str(out)]).exit_code == 0
    nlp = spacy.load(out)
    assert "opnote_findings" in nlp.pipe_names
