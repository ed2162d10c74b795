"""Every ```python block in docs/*.md runs, in order, and its assertions hold.

Blocks of one page share a namespace (a later block can use an earlier block's names) and run
with the repository root as the working directory, so ``sample_notes/...`` paths work. Use
```sh, ```json or ```text for anything that is not meant to run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def test_the_api_pages_have_runnable_examples():
    for name in ("api.md", "components.md", "fhir.md"):
        assert python_blocks(ROOT / "docs" / name), f"docs/{name} has no ```python example"


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in DOCS if python_blocks(p)], ids=lambda p: p.name)
def test_doc_examples_run(page: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for line, source in python_blocks(page):
        code = compile("\n" * (line - 1) + source, str(page), "exec")
        try:
            exec(code, namespace)
        except Exception as e:  # noqa: BLE001 - name the block that failed
            raise AssertionError(f"{page.name}: the example at line {line} failed: {type(e).__name__}: {e}") from e


def test_fences_are_balanced():
    """An unclosed fence would silently hide examples from the test above."""
    for page in DOCS:
        fences = [ln for ln in page.read_text(encoding="utf-8").splitlines() if ln.lstrip().startswith("```")]
        assert len(fences) % 2 == 0, f"{page.name} has an unclosed ``` fence"


def test_examples_do_not_depend_on_this_machine():
    for page in DOCS:
        for _, source in python_blocks(page):
            assert "/work/" not in source and ("../" + "shared") not in source, page.name
            assert os.sep + "tmp" + os.sep not in source, f"{page.name}: use tempfile, not /tmp"


def test_every_public_name_resolves_and_is_documented():
    import opnote

    api_md = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for name in opnote.__all__:
        assert getattr(opnote, name) is not None
        assert name in api_md, f"opnote.{name} is not in docs/api.md"


def test_import_is_lazy_and_the_version_is_in_one_place():
    """`import opnote` loads no spaCy; the installed metadata's version is opnote.__version__."""
    import subprocess
    import sys

    script = (
        "import sys, json, importlib.metadata as md\n"
        "import opnote\n"
        "print(json.dumps({'spacy': 'spacy' in sys.modules, 'version': opnote.__version__, 'dist': md.version('opnote')}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    out = json.loads(proc.stdout)
    assert out["spacy"] is False
    assert out["version"] == out["dist"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{out['version']}]" in changelog, "CHANGELOG.md has no section for this version"
