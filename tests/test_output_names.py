"""Property tests: no set of input names can make two outputs share a path or overwrite an input.

The first test draws any names (control characters, slashes, dots, case and Unicode variants,
reserved names, very long names) and checks the names the output folder allocates; the second
builds real folders of notes, with the output folder drawn among the dangerous places (the notes
folder itself, inside it, a link to it, an earlier output), and runs the command's own planning
(`opnote check`'s inputs and output folder, without checking the notes).
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opnote.errors import OutputError
from opnote.outdir import MANIFEST, RESERVED, OutputFolder, ReportNames, name_key
from opnote.plan import RunPlan, path_inputs
from opnote.render import SUFFIX

TRICKY = ["index", "INDEX", "Index.txt", "summary", "summary.csv", MANIFEST, ".", "..", "", "/", "a/b", "a\\b",
          "CON", "nul.txt", "ß", "SS", "e\u0301", "\u00e9", ".hidden", "x" * 300, "é" * 200, "\x1b[2J\n", "note", "note_2"]
names_st = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=80), st.text(alphabet="aA_.-/\\ ", max_size=12)), max_size=40)


def valid_file_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\x00" not in name and not name.startswith(".") and len(name.encode("utf-8")) <= 255


@settings(max_examples=300, deadline=None)
@given(sources=names_st, taken=st.lists(st.sampled_from(TRICKY[:8] + ["a.json", "A.JSON", "note.html"]), max_size=5), fmt=st.sampled_from(sorted(SUFFIX)))
def test_allocated_names_never_collide(sources, taken, fmt):
    names = ReportNames(taken)
    got = [names.allocate(src, SUFFIX[fmt]) for src in sources]
    keys = [name_key(n) for n in got]
    assert len(set(keys)) == len(keys)  # distinct, even on a case-insensitive, normalising file system
    assert not set(keys) & {name_key(n) for n in (*RESERVED, *taken)}
    assert all(valid_file_name(n) and n.endswith(SUFFIX[fmt]) for n in got)
    again = ReportNames(taken)
    assert [again.allocate(src, SUFFIX[fmt]) for src in sources] == got  # stable from run to run


file_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=60
).filter(lambda n: n not in (".", "..") and len(n.encode("utf-8")) <= 240)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    notes=st.lists(st.tuples(st.sampled_from(["", "sub", "Sub"]), file_names.map(lambda n: n + ".txt")), min_size=1, max_size=12),
    where=st.sampled_from(["notes", "inside", "inside_existing", "link", "sibling", "earlier_output"]),
    fmt=st.sampled_from(sorted(SUFFIX)),
)
@pytest.mark.slow
def test_outputs_never_overwrite_an_input(notes, where, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "notes"
        inputs = set()
        for sub, name in notes:
            path = folder / sub / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("note", encoding="utf-8")
            inputs.add(os.path.realpath(path))
        out = {"notes": folder, "inside": folder / "reports", "inside_existing": folder / "sub",
               "link": root / "link", "sibling": root / "out", "earlier_output": folder / "old"}[where]
        if where == "link":
            out.symlink_to(folder, target_is_directory=True)
        if where == "earlier_output":  # an earlier run's reports, inside the notes folder
            out.mkdir()
            (out / MANIFEST).write_text('{"file": "x.txt"}\n', encoding="utf-8")
            (out / "x.txt").write_text("an old report", encoding="utf-8")
        check_plan(RunPlan(paths=(str(folder),), fmt=fmt, out=out), inputs)


def check_plan(plan: RunPlan, inputs: set[str]) -> None:
    """Either the plan is refused, or every output path is new: not an input, not another output."""
    try:
        folder = OutputFolder.open(plan.out)
    except OutputError:
        return
    try:
        run = path_inputs(plan, [], folder)
    except OutputError:
        return
    finally:
        folder.close(complete=False)
    jobs = list(run.jobs)
    reports = [folder.path / folder.names.allocate(job.source, SUFFIX[plan.fmt]) for job in jobs if job.error is None]
    outputs = [*reports, folder.path / "summary.csv", folder.path / "index.html", folder.path / MANIFEST]
    real = [os.path.realpath(p) for p in outputs]
    assert not set(real) & inputs
    assert len({unicodedata.normalize("NFC", r).casefold() for r in real}) == len(real)
    assert {os.path.realpath(j.path) for j in jobs if j.path} <= inputs  # no earlier report read as a note
