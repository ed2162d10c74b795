"""opnote on Apache Spark: the DataFrame results equal the single-process Checker, bad notes become
error rows without failing the job, and ``opnote spark`` round-trips Parquet, JSON lines and CSV.

These run Spark in local mode (``local[2]``) with one SparkSession for the whole test session.
They need the spark extra (``pip install -e '.[test,spark]'``) and a Java runtime; without them
they are skipped, except the tests of the message a user gets when the extra is missing.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import skip_or_fail
from opnote.cli import app
from opnote.io import DEFAULT_MAX_BYTES, read_note

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"
ITEMS = [
    "tumor_location", "margin_intent", "resection_dimensions", "frozen_section", "preop_imaging",
    "pathology", "diagnosis_code", "reconstruction", "informed_consent",
]


def _spark_missing() -> str | None:
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as e:
        return f"the spark extra is not installed ({e.name} missing): pip install -e '.[test,spark]'"
    if shutil.which("java") is None:
        return "no Java runtime on PATH (Spark needs Java 17+)"
    return None


@pytest.fixture(scope="session")
def spark():
    reason = _spark_missing()
    if reason:
        skip_or_fail(reason, "OPNOTE_REQUIRE_SPARK")
    from opnote.spark import session

    s = session(
        "local[2]",
        app_name="opnote-tests",
        conf={
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.log.level": "ERROR",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            # small Arrow batches, so each task hands its worker several batches
            "spark.sql.execution.arrow.maxRecordsPerBatch": "3",
        },
    )
    yield s
    s.stop()


def _sample_notes(n: int = 12) -> list[tuple[str, str]]:
    """(id, text) for a spread of sample notes from both folders."""
    paths = sorted((SAMPLES / "dev").glob("*.txt")) + sorted((SAMPLES / "heldout").glob("*.txt"))
    paths = [p for p in paths if not p.name.lower().startswith("readme")]
    step = max(1, len(paths) // n)
    return [(p.stem, read_note(p).text) for p in paths[::step][:n]]


@pytest.fixture(scope="session")
def notes():
    return _sample_notes()


def _expected(checker, text, note_id, icd10=None):
    return checker.check(text, icd10, source=note_id).model_dump(mode="json")


def _rows_by_id(df):
    rows = df.collect()
    out = {r["id"]: r.asDict() for r in rows}
    assert len(out) == len(rows), "ids must stay unique"
    return out


@pytest.mark.spark
def test_dataframe_reports_equal_the_single_process_checker(spark, checker, notes):
    from opnote.spark import check_notes

    df = spark.createDataFrame(notes, "id string, text string").repartition(3)
    out = check_notes(df, text_col="text", id_col="id")
    assert out.columns == ["id", "score", "verdict", *ITEMS, "advisories", "error", "error_type", "report"]
    rows = _rows_by_id(out)
    assert sorted(rows) == sorted(i for i, _ in notes)
    verdicts = set()
    for note_id, text in notes:
        row = rows[note_id]
        want = _expected(checker, text, note_id)
        assert row["error"] is None and row["error_type"] is None
        assert json.loads(row["report"]) == want, note_id
        assert row["score"] == want["score"] and row["verdict"] == want["verdict"]
        assert {i: row[i] for i in ITEMS} == {it["id"]: it["status"] for it in want["checklist"]}
        assert row["advisories"] == [a["kind"] + (f":{a['code']}" if a["code"] else "") for a in want["advisories"]]
        verdicts.add(row["verdict"])
    assert len(verdicts) >= 2, "the sample should mix verdicts, or this comparison proves little"


@pytest.mark.spark
def test_claim_codes_column_and_other_id_types(spark, checker, notes):
    from opnote.spark import check_notes

    claims = [["C40.21"], None, ["C40.22", "M89.8X6"]]
    data = [(1000 + k, text, claims[k]) for k, (_, text) in enumerate(notes[:3])]
    data.append((2000, notes[3][1], ["Z99.999"]))  # not an ICD-10-CM code: an error row
    df = spark.createDataFrame(data, "note_id long, body string, codes array<string>")
    out = check_notes(df, text_col="body", id_col="note_id", icd10_col="codes")
    assert dict(out.dtypes)["note_id"] == "bigint"
    rows = {r["note_id"]: r for r in out.collect()}
    assert sorted(rows) == [1000, 1001, 1002, 2000]
    for note_id, text, codes in data[:3]:
        assert json.loads(rows[note_id]["report"]) == _expected(checker, text, str(note_id), codes)
    bad = rows[2000]
    assert bad["report"] is None and bad["error_type"] == "CodeError" and "Z99.999" in bad["error"]

    # the same codes as one comma-separated string give the same reports
    df2 = spark.createDataFrame([(i, t, ",".join(c) if c else None) for i, t, c in data[:3]], "note_id long, body string, codes string")
    rows2 = {r["note_id"]: r["report"] for r in check_notes(df2, "body", "note_id", "codes").collect()}
    assert rows2 == {i: rows[i]["report"] for i in rows2}


@pytest.mark.spark
def test_bad_notes_become_error_rows_and_no_row_is_lost(spark, checker, notes):
    from opnote.spark import check_notes

    good_id, good = notes[0]
    data = [
        ("good", good),
        ("empty", ""),
        ("blank", "   \n\t "),
        ("null", None),
        ("nul", "Right distal femur\x00 resection"),
        ("huge", "x" * (DEFAULT_MAX_BYTES + 1)),
        (None, "  "),
        ("good2", notes[1][1]),
    ]
    out = check_notes(spark.createDataFrame(data, "id string, text string").repartition(2))
    rows = out.collect()
    assert len(rows) == len(data)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {d[0] for d in data}
    expected_type = {"empty": "EmptyNoteError", "blank": "EmptyNoteError", "null": "EmptyNoteError", "nul": "BinaryInputError", "huge": "NoteTooLargeError", None: "EmptyNoteError"}
    for note_id, etype in expected_type.items():
        r = by_id[note_id]
        assert r["error_type"] == etype, note_id
        assert r["error"] and r["report"] is None and r["score"] is None and r["verdict"] is None
        assert all(r[i] is None for i in ITEMS) and r["advisories"] is None
        if note_id is not None:
            assert note_id in r["error"], "the error names the row's id"
        assert "femur" not in r["error"], "no note text in error messages"
    assert json.loads(by_id["good"]["report"]) == _expected(checker, good, "good")
    assert json.loads(by_id["good2"]["report"]) == _expected(checker, notes[1][1], "good2")


@pytest.mark.spark
def test_binary_text_column_is_decoded_like_note_files(spark, checker, notes):
    from opnote.spark import check_notes

    text = notes[2][1] + "\nDictated by Dr. Zo\u00eb Ren\u00e9e.\n"
    text = text.encode("cp1252", errors="replace").decode("cp1252")  # every encoding below can hold it
    data = [
        ("utf8", text.encode("utf-8")),
        ("cp1252", text.encode("cp1252")),
        ("utf16", text.encode("utf-16")),
        ("truncated_utf16", "\ufeffab".encode("utf-16-le") + b"\x00"),
        ("nul_bytes", b"femur\x00\x01\x02"),
        ("empty", b""),
        ("null", None),
    ]
    rows = {r["id"]: r for r in check_notes(spark.createDataFrame(data, "id string, text binary")).collect()}
    assert len(rows) == len(data)
    for note_id in ("utf8", "cp1252", "utf16"):
        raw = dict(data)[note_id]
        want = checker.check_bytes(raw, source=note_id).model_dump(mode="json")
        got = json.loads(rows[note_id]["report"])
        assert got == want and got["encoding"] == want["encoding"]
    assert json.loads(rows["cp1252"]["report"])["encoding"] == "windows-1252"
    errors = {k: rows[k]["error_type"] for k in ("truncated_utf16", "nul_bytes", "empty", "null")}
    assert errors == {"truncated_utf16": "DecodeError", "nul_bytes": "BinaryInputError", "empty": "EmptyNoteError", "null": "EmptyNoteError"}
    assert all(rows[k]["report"] is None for k in errors)


@pytest.mark.spark
def test_each_worker_builds_its_pipeline_once_for_many_batches(spark, notes):
    """Six partitions of several Arrow batches each (3 rows a batch): every worker process that
    checked notes built exactly one pipeline, however many batches and tasks it ran."""
    from opnote.spark import worker as ons

    params = ons._Params(text_col="text", id_col="id", icd10_col=None, code="27365", model=None, max_bytes=DEFAULT_MAX_BYTES, binary=False, icd10_is_array=False)
    rows = [(f"n{k}", notes[k % len(notes)][1]) for k in range(36)]
    df = spark.createDataFrame(rows, "id string, text string").repartition(6)

    def probe(batches):
        import os

        import pandas as pd

        from opnote.spark import worker as worker_spark

        n_in = n_out = 0
        for out in worker_spark.check_batches(batches, params):
            n_out += len(out)
            n_in += int(out["error"].isna().sum())
        yield pd.DataFrame({"pid": [os.getpid()], "builds": [worker_spark.BUILDS], "rows": [n_out], "checked": [n_in]})

    stats = df.mapInPandas(probe, "pid long, builds long, rows long, checked long").collect()
    assert sum(s["rows"] for s in stats) == 36 and sum(s["checked"] for s in stats) == 36
    builds = {}
    for s in stats:
        builds[s["pid"]] = max(builds.get(s["pid"], 0), s["builds"])
    assert set(builds.values()) == {1}, builds


def _write_inputs(tmp: Path, notes) -> dict[str, Path]:
    import pandas as pd

    rows = [{"id": i, "text": t} for i, t in notes[:4]] + [{"id": "bad_empty", "text": ""}]
    pq = tmp / "notes.parquet"
    pd.DataFrame(rows).to_parquet(pq, index=False)
    jl = tmp / "notes.jsonl"
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows) + json.dumps({"id": "no_text"}) + "\n", encoding="utf-8")
    csv_path = tmp / "notes.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    return {"parquet": pq, "jsonl": jl, "csv": csv_path}


@pytest.mark.spark
@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_cli_round_trips_a_file(spark, checker, notes, tmp_path, fmt):
    import pandas as pd

    src = _write_inputs(tmp_path, notes)[fmt]
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["spark", str(src), str(out), "--master", "local[2]"])
    assert res.exit_code == 2, res.output  # the empty note could not be checked; the others were
    got = pd.read_parquet(out)
    want_ids = [i for i, _ in notes[:4]] + ["bad_empty"] + (["no_text"] if fmt == "jsonl" else [])
    assert sorted(got["id"]) == sorted(want_ids)
    by_id = got.set_index("id")
    for note_id, text in notes[:4]:
        assert by_id.loc[note_id, "error"] is None
        assert json.loads(by_id.loc[note_id, "report"]) == _expected(checker, text, note_id)
    assert by_id.loc["bad_empty", "error_type"] == "EmptyNoteError" and by_id.loc["bad_empty", "report"] is None
    if fmt == "jsonl":
        assert by_id.loc["no_text", "error_type"] == "EmptyNoteError"
    assert "could not be checked" in res.output

    again = CliRunner().invoke(app, ["spark", str(src), str(out)])
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.spark
def test_cli_exit_status_follows_the_verdicts(spark, checker, notes, tmp_path):
    import pandas as pd

    ready = []
    for i, t in _sample_notes(100):
        if len(ready) < 2 and checker.check(t).verdict == "ready":
            ready.append((i, t))
    assert ready, "no sample note is ready; pick notes for this test again"
    src = tmp_path / "ready.parquet"
    pd.DataFrame([{"note": i, "body": t} for i, t in ready]).to_parquet(src, index=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["spark", str(src), str(out), "--id-col", "note", "--text-col", "body", "--partitions", "1"])
    assert res.exit_code == 0, res.output
    assert sorted(pd.read_parquet(out)["note"]) == sorted(i for i, _ in ready)

    res = CliRunner().invoke(app, ["spark", str(src), str(out), "--text-col", "nope", "--overwrite"])
    assert res.exit_code == 2 and "no text column 'nope'" in res.output


def test_missing_extra_gives_the_install_command(monkeypatch, tmp_path):
    import opnote.spark as ons

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ons.SparkNotInstalledError, match=r"opnote\[spark\]"):
        ons.check_notes(object())
    with pytest.raises(ImportError):
        ons.session("local[1]")
    (tmp_path / "n.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["spark", str(tmp_path / "n.jsonl"), str(tmp_path / "out")])
    assert res.exit_code == 3 and "opnote[spark]" in res.output
    assert not (tmp_path / "out").exists()
