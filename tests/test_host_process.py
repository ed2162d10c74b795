"""Importing and using opnote changes nothing else in the program that uses it.

Each test runs a small host program in a fresh interpreter: it uses opnote (``Checker()``,
``check``, ``check_many``) at the point marked ``#OPNOTE#`` and then medspaCy or spaCy as any
program would. Where the result can be compared, the same program also runs without opnote and
the two outputs must be equal. (The one deliberate change, loguru's PyRuSH and medspaCy loggers
turned off so no note text reaches a log, is tested in test_reliability.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from notes import READY_NOTE

pytestmark = pytest.mark.slow

USE_OPNOTE = textwrap.dedent("""
    from opnote import Checker
    _checker = Checker()
    _text = open(NOTE, encoding="utf-8").read()
    _checker.check(_text)
    list(_checker.check_many([_text, _text]))
""")


def run_host(program: str, *, with_opnote: bool, env: dict[str, str] | None = None) -> Any:
    """Run a host program (``#OPNOTE#`` marks where it uses opnote); its last stdout line as JSON."""
    body = textwrap.dedent(program).replace("#OPNOTE#", USE_OPNOTE if with_opnote else "")
    code = f"NOTE = {str(READY_NOTE)!r}\n" + body
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_medspacy_factories_quickumls_included_load_after_opnote(tmp_path: Path) -> None:
    # QuickUMLS reads NLTK's English stop words; give it a small list so nothing is downloaded
    stopwords = tmp_path / "nltk_data" / "corpora" / "stopwords"
    stopwords.mkdir(parents=True)
    (stopwords / "english").write_text("the\nof\nand\na\nthere\nis\nno\n", encoding="utf-8")
    program = """
        import json
        #OPNOTE#
        import medspacy
        from medspacy.target_matcher import TargetRule
        nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_quickumls", "medspacy_target_matcher", "medspacy_context"])
        nlp.add_pipe("medspacy_sectionizer")
        nlp.get_pipe("medspacy_target_matcher").add([TargetRule("pneumonia", "PROBLEM")])
        doc = nlp("Past Medical History: Decreased dipalmitoyllecithin content. There is no evidence of pneumonia.")
        print(json.dumps({
            "pipes": nlp.pipe_names,
            "ents": [[e.text, e.label_, e._.is_negated] for e in doc.ents],
            "sections": [s.category for s in doc._.sections],
        }))
    """
    env = {"NLTK_DATA": str(tmp_path / "nltk_data")}
    with_opnote = run_host(program, with_opnote=True, env=env)
    assert with_opnote == run_host(program, with_opnote=False, env=env)
    assert "medspacy_quickumls" in with_opnote["pipes"] and "medspacy_sectionizer" in with_opnote["pipes"]
    assert ["dipalmitoyllecithin", "C0000039", False] in with_opnote["ents"]  # QuickUMLS's sample UMLS concept
    assert ["pneumonia", "PROBLEM", True] in with_opnote["ents"]  # medspaCy's ConText
    assert "past_medical_history" in with_opnote["sections"]


def test_spacy_info_and_spacy_cli_after_opnote() -> None:
    program = """
        import json, sys
        #OPNOTE#
        import spacy
        import spacy.cli
        info = spacy.info()
        print(json.dumps({
            "spacy has a module __getattr__": "__getattr__" in vars(spacy),
            "spacy.info is spacy.cli.info.info": spacy.info is sys.modules["spacy.cli.info"].info,
            "spacy.cli is the module": spacy.cli is sys.modules["spacy.cli"],
            "spacy.cli file": spacy.cli.__file__,
            "spacy.cli names": sorted(n for n in vars(spacy.cli) if not n.startswith("_")),
            "info": sorted(info),
        }))
    """
    with_opnote = run_host(program, with_opnote=True)
    assert with_opnote == run_host(program, with_opnote=False)
    assert not with_opnote["spacy has a module __getattr__"]
    assert with_opnote["spacy.info is spacy.cli.info.info"] and with_opnote["spacy.cli is the module"]
    assert {"download", "info", "app"} <= set(with_opnote["spacy.cli names"])


def test_no_stand_in_modules_after_opnote() -> None:
    """No module in sys.modules stands in for a real one, and no library holds a module object
    that is not the one sys.modules has under its name (a stand-in removed after an import)."""
    program = """
        import importlib.machinery, json, sys, types
        #OPNOTE#
        import medspacy, quickumls.spacy_component

        def on_disk(name):
            parent = name.rpartition(".")[0]
            path = getattr(sys.modules.get(parent), "__path__", None) if parent else None
            if parent and path is None:
                return False
            try:
                return importlib.machinery.PathFinder.find_spec(name, path) is not None
            except (ImportError, ValueError):
                return False

        stand_ins = [name for name, mod in list(sys.modules.items())
                     if mod is not None and getattr(mod, "__spec__", None) is None and on_disk(name)]
        orphans = [f"{name}.{attr}" for name, mod in list(sys.modules.items())
                   if mod is not None and name.split(".")[0] in {"spacy", "medspacy", "quickumls", "scispacy", "opnote"}
                   for attr, value in list(vars(mod).items())
                   if isinstance(value, types.ModuleType) and sys.modules.get(value.__name__) is not value]
        print(json.dumps({"stand_ins": stand_ins, "orphans": orphans,
                          "quickumls": quickumls.spacy_component.__file__,
                          "medspacy.util uses it": medspacy.util.spacy_component is quickumls.spacy_component}))
    """
    out = run_host(program, with_opnote=True)
    assert out["stand_ins"] == [] and out["orphans"] == []
    assert out["medspacy.util uses it"] and out["quickumls"].endswith("spacy_component.py")


def test_host_warning_filters_are_untouched() -> None:
    program = """
        import json, warnings
        class HostWarning(UserWarning):
            pass
        warnings.simplefilter("error", HostWarning)
        warnings.filterwarnings("always", message="host message")
        import spacy  # spaCy's own import-time filters are part of the host's
        before = [repr(f) for f in warnings.filters]
        #OPNOTE#
        after = [repr(f) for f in warnings.filters]
        try:
            warnings.warn("a host warning", HostWarning)
            raised = False
        except HostWarning:
            raised = True
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("host message")
            warnings.warn("host message")
        print(json.dumps({"before": before, "after": after, "raised": raised, "seen": len(seen)}))
    """
    out = run_host(program, with_opnote=True)
    assert out["after"] == out["before"]
    assert out["raised"] and out["seen"] == 2


def test_the_opnote_command_skips_quickumls_and_the_library_does_not() -> None:
    """The ``opnote`` command's own process imports medspaCy without QuickUMLS (and so without
    NLTK, SciPy and scikit-learn: most of its cold start), and still checks the note; a program
    that imports opnote as a library gets medspaCy whole."""
    command = """
        import contextlib, io, json, sys
        sys.argv = ["opnote", "check", NOTE, "--format", "json"]
        from opnote.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main()
            except SystemExit as e:
                code = e.code
        report = json.loads(out.getvalue())
        print(json.dumps({"code": code, "verdict": report["verdict"],
                          "heavy": sorted(m for m in ("quickumls", "sklearn", "scipy", "nltk") if m in sys.modules)}))
    """
    cli = run_host(command, with_opnote=False)
    assert cli["code"] == 0 and cli["verdict"] == "ready"
    assert cli["heavy"] == []
    library = run_host("""
        import json, sys
        #OPNOTE#
        print(json.dumps({"heavy": sorted(m for m in ("quickumls", "sklearn", "scipy", "nltk") if m in sys.modules)}))
    """, with_opnote=True)
    assert "quickumls" in library["heavy"]
