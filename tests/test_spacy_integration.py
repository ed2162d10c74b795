"""opnote's components inside spaCy: factories, entry points, user pipelines, saved pipelines.

A user should be able to add ``opnote_*`` components to a pipeline they already have, save it, and
``spacy.load`` it in a fresh interpreter (through the ``spacy_factories`` entry points, without
importing opnote first), and get the same findings and reports as ``Checker``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

import opnote
from opnote import factories
from opnote.pipeline import build_nlp

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_MODEL = ROOT / "models" / "opnote_27365"
DEV_NOTES = sorted((ROOT / "sample_notes" / "dev").glob("*.txt"))
# A few notes with different layouts (templated, dictated, abbreviations, conflicts) for the slower tests.
SOME_NOTES = [
    ROOT / "sample_notes" / "dev" / f"{name}.txt"
    for name in (
        "right_distal_femur_osteosarcoma_dfr_templated",
        "right_distal_femur_ewing_dictation_no_frozen_section",
        "left_distal_femur_ups_abbreviations_typos",
        "left_distal_femur_osteosarcoma_laterality_conflict",
        "right_femur_chondrosarcoma_narrative_vague",
    )
]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def factory_func(name: str):
    return spacy.registry.factories.get(Language.get_factory_name(name))


def report_json(report: opnote.Report) -> dict:
    return report.model_dump(mode="json")


@pytest.fixture(scope="module")
def saved_pipeline(tmp_path_factory) -> Path:
    """A pipeline freshly built from the package's rules and saved with to_disk."""
    path = tmp_path_factory.mktemp("pipeline") / "opnote_27365"
    build_nlp().to_disk(path)
    return path


# --------------------------------------------------------------------------------- factories


@pytest.mark.parametrize("name", factories.PIPELINE)
def test_factory_is_registered_with_requires_assigns_and_documented_config(name):
    assert Language.has_factory(name)
    meta = Language.get_factory_meta(name)
    assert meta.assigns, f"{name} declares nothing it assigns"
    doc = factory_func(name).__doc__ or ""
    assert doc.strip(), f"{name}'s factory has no docstring"
    for option in meta.default_config or {}:
        assert f"``{option}``" in doc, f"{name}: config option {option!r} is not documented in the factory docstring"
    components_md = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    assert f"`{name}`" in components_md, f"{name} is missing from docs/components.md"
    for option in meta.default_config or {}:
        assert f"`{option}`" in components_md, f"{name}: option {option!r} is missing from docs/components.md"


def test_entry_points_register_every_factory():
    """pyproject's spacy_factories entry points, and the installed ones, name every factory."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = pyproject["project"]["entry-points"]["spacy_factories"]
    expected = {name: f"opnote.factories:{factory_func(name).__name__}" for name in factories.PIPELINE}
    assert declared == expected
    installed = {ep.name: ep.value for ep in entry_points(group="spacy_factories") if ep.name.startswith("opnote_")}
    assert installed == expected, "installed entry points are stale: reinstall the project (pip install -e .)"


def test_analyze_pipes_full_pipeline_has_no_problems(nlp):
    analysis = nlp.analyze_pipes()
    assert all(not problems for problems in analysis["problems"].values()), analysis["problems"]
    summary = analysis["summary"]
    assert summary["opnote_findings"]["requires"] == ["token.is_sent_start", "doc.spans"]
    assert "doc._.opnote_findings" in summary["opnote_findings"]["assigns"]
    assert summary["opnote_sectionizer"]["requires"] == ["token.is_sent_start"]
    assert "span._.is_negated" in summary["opnote_context"]["assigns"]


def test_analyze_pipes_reports_what_a_partial_pipeline_lacks():
    """Without any sentence splitter, spaCy names the attribute opnote_findings needs."""
    nlp = spacy.blank("en")
    nlp.add_pipe("opnote_targets")
    nlp.add_pipe("opnote_findings")
    problems = nlp.analyze_pipes()["problems"]
    assert problems["opnote_findings"] == ["token.is_sent_start"]


@pytest.mark.parametrize(
    "name, config",
    [
        ("opnote_sentencizer", {"split_on_newline": "perhaps"}),
        ("opnote_findings", {"not_an_option": 1}),
        ("opnote_targets", {"spans_key": ""}),
        ("opnote_measurements", {"spans_key": "  "}),
        ("opnote_sectionizer", {"max_section_length": 0}),
    ],
)
def test_bad_config_is_rejected(name, config):
    nlp = spacy.blank("en")
    with pytest.raises(Exception) as err:
        nlp.add_pipe(name, config=config)
    option = next(iter(config))
    assert option in str(err.value)
    assert name not in nlp.pipe_names


def test_custom_spans_key_gives_the_same_findings(checker):
    """Every component honours spans_key: candidates in a group of the user's choosing."""
    nlp = spacy.blank("en")
    for name in factories.PIPELINE:
        cfg = {"spans_key": "my_candidates"} if "spans_key" in Language.get_factory_meta(name).default_config else {}
        nlp.add_pipe(name, config=cfg)
    text = read(SOME_NOTES[0])
    doc = opnote.process(nlp, text)
    assert "opnote_candidates" not in doc.spans and len(doc.spans["my_candidates"]) > 0
    assert report_json(opnote.report_from_doc(doc)) == report_json(checker.check(text))


# --------------------------------------------------------------------- inside a user pipeline


@Language.component("test_user_count_findings")
def _count_findings(doc: Doc) -> Doc:
    """A user's component after opnote's: reads the findings span group."""
    doc.user_data["n_opnote_findings"] = len(doc.spans["opnote_findings"])
    return doc


def test_user_components_before_and_after(checker):
    """A user's span_ruler before and their own component after do not change opnote's reports."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("span_ruler", config={"spans_key": "user_terms"})
    ruler.add_patterns([{"label": "ANTIBIOTIC", "pattern": [{"LOWER": "cefazolin"}]},
                        {"label": "BODY", "pattern": [{"LOWER": "femur"}]}])
    for name in factories.PIPELINE:
        nlp.add_pipe(name)
    nlp.add_pipe("test_user_count_findings")
    assert nlp.pipe_names[0] == "span_ruler" and nlp.pipe_names[-1] == "test_user_count_findings"
    assert all(not p for p in nlp.analyze_pipes()["problems"].values())
    for path in SOME_NOTES:
        text = read(path)
        doc = opnote.process(nlp, text)
        assert any(s.label_ == "BODY" for s in doc.spans["user_terms"]), "the user's own span group was lost"
        assert doc.user_data["n_opnote_findings"] == len(doc.spans["opnote_findings"]) > 0
        for span in doc.spans["opnote_findings"]:
            assert span.label_ in {"tumor_location", "margin", "dimension", "frozen_section", "imaging",
                                   "reconstruction", "pathology", "consent", "procedure"}
        assert [(f["start"], f["end"], f["kind"]) for f in doc._.opnote_findings] == \
            [(f["start"], f["end"], f["kind"]) for f in checker.explain(text)._.opnote_findings]
        assert report_json(opnote.report_from_doc(doc)) == report_json(checker.check(text)), path.name


def test_users_own_sentencizer_instead_of_opnotes():
    """spaCy's own sentencizer satisfies opnote's requires; the findings still index the note."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    for name in factories.PIPELINE[1:]:
        nlp.add_pipe(name)
    assert all(not p for p in nlp.analyze_pipes()["problems"].values())
    text = read(SOME_NOTES[0])
    doc = nlp(text)
    report = opnote.report_from_doc(doc, source="note.txt")
    assert report.source == "note.txt" and len(report.checklist) == 9
    assert report.findings and all(text[f.start:f.end] == f.text for f in report.findings)


def test_report_from_doc_rejects_a_doc_opnote_did_not_process(nlp):
    doc = spacy.blank("en")("Right distal femur.")
    with pytest.raises(ValueError, match="opnote_findings"):
        opnote.report_from_doc(doc)


def test_report_from_doc_passes_claim_codes(nlp, checker):
    text = read(SOME_NOTES[3])
    doc = opnote.process(nlp, text)
    assert report_json(opnote.report_from_doc(doc, icd10=["C40.22"], source="x")) == \
        report_json(checker.check(text, ["C40.22"], source="x"))


# ------------------------------------------------------------------------- saved pipelines


@pytest.mark.slow
def test_to_disk_then_spacy_load_gives_identical_reports(saved_pipeline, checker):
    loaded = spacy.load(saved_pipeline)
    assert loaded.pipe_names == factories.PIPELINE
    assert loaded.config["components"] == checker.nlp.config["components"]
    for path in DEV_NOTES:
        text = read(path)
        assert report_json(opnote.report_from_doc(opnote.process(loaded, text))) == report_json(checker.check(text)), path.name


@pytest.mark.slow
def test_checker_on_a_saved_pipeline_gives_identical_reports(saved_pipeline, checker):
    from opnote import Checker

    from_disk = Checker(saved_pipeline)
    for path in SOME_NOTES:
        assert report_json(from_disk.check_file(path)) == report_json(checker.check_file(path))


FRESH_LOAD = textwrap.dedent(
    """
    import json, sys
    import spacy
    assert not [m for m in sys.modules if m == "opnote" or m.startswith("opnote.")], "opnote imported early"
    nlp = spacy.load(sys.argv[1])
    out = {"pipe_names": nlp.pipe_names, "factories_loaded": "opnote.factories" in sys.modules, "notes": []}
    import opnote  # only now, to turn the Doc into a Report
    for path in sys.argv[2:]:
        text = open(path, "rb").read().decode("utf-8")
        doc = opnote.process(nlp, text)
        out["notes"].append({
            "spans": [[s.start_char, s.end_char, s.label_] for s in doc.spans["opnote_findings"]],
            "report": opnote.report_from_doc(doc).model_dump(mode="json"),
        })
    print(json.dumps(out))
    """
)


def run_fresh(script: str, *args: str, cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_spacy_load_in_a_fresh_interpreter_through_entry_points(saved_pipeline, checker, tmp_path):
    out = run_fresh(FRESH_LOAD, str(saved_pipeline), *map(str, SOME_NOTES), cwd=tmp_path)
    assert out["pipe_names"] == factories.PIPELINE
    assert out["factories_loaded"], "spacy.load did not find opnote's factories through the entry points"
    for path, got in zip(SOME_NOTES, out["notes"]):
        text = read(path)
        doc = checker.explain(text)
        assert got["spans"] == [[s.start_char, s.end_char, s.label_] for s in doc.spans["opnote_findings"]]
        assert got["report"] == report_json(checker.check(text)), path.name


ALONE = textwrap.dedent(
    """
    import json, sys
    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("opnote_findings")
    doc = nlp("Right distal femur osteosarcoma.")
    import opnote
    report = opnote.report_from_doc(doc)
    print(json.dumps({"findings": doc._.opnote_findings, "cues": doc._.opnote_cues,
                      "group": len(doc.spans["opnote_findings"]), "verdict": report.verdict}))
    """
)


@pytest.mark.slow
def test_one_component_alone_in_a_fresh_interpreter_registers_its_extensions(tmp_path):
    out = run_fresh(ALONE, cwd=tmp_path)
    assert out == {"findings": [], "cues": [], "group": 0, "verdict": "not_supported"}


# ----------------------------------------------------------------- the committed pipeline


def _component_files(root: Path, name: str) -> dict[str, bytes]:
    base = root / name
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def _first_difference(a: bytes, b: bytes) -> str:
    la, lb = a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines()
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            return f"line {i}: built {x[:100]!r} vs committed {y[:100]!r}"
    return f"built has {len(la)} lines, committed has {len(lb)}"


def test_committed_model_is_up_to_date_with_the_rule_files(saved_pipeline):
    """models/opnote_27365 must be what `opnote build` writes from the current rule files."""
    fresh = spacy.load(saved_pipeline)
    assert COMMITTED_MODEL.is_dir(), "models/opnote_27365 is missing: run `opnote build`"
    committed_cfg = spacy.util.load_config(COMMITTED_MODEL / "config.cfg")
    stale: list[str] = []
    if committed_cfg["nlp"]["pipeline"] != fresh.config["nlp"]["pipeline"]:
        stale.append("config.cfg: pipeline")
    elif committed_cfg["components"] != fresh.config["components"]:
        stale.append("config.cfg: component settings")
    for name in fresh.pipe_names:
        built, committed = _component_files(saved_pipeline, name), _component_files(COMMITTED_MODEL, name)
        for rel in sorted(set(built) | set(committed)):
            if rel not in committed:
                stale.append(f"{name}/{rel}: missing from the committed model")
            elif rel not in built:
                stale.append(f"{name}/{rel}: no longer written by the build")
            elif built[rel] != committed[rel]:
                stale.append(f"{name}/{rel}: {_first_difference(built[rel], committed[rel])}")
    assert not stale, (
        "models/opnote_27365 is out of date with the rule files; run `opnote build` and commit the result:\n  "
        + "\n  ".join(stale)
    )
