"""Shared fixtures: one Checker (pipeline built once) for the whole test session."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"

# A suite started in the background by a non-interactive shell inherits Ctrl-C as ignored, and
# would hand that on to the opnote processes the interrupt tests send it to (they would finish
# their batch instead of stopping). A handler is not inherited: the children start as a
# terminal's would.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def checker():
    from opnote import Checker

    return Checker()


@pytest.fixture(scope="session")
def nlp(checker):
    return checker.nlp


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLES


def pytest_collection_modifyitems(config, items):
    """Tests that start Spark are slow and marked ``spark``: the fast tier (``-m "not slow"``) leaves them out."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.slow)


def skip_or_fail(reason: str, require_env: str) -> None:
    """Skip a test whose requirement is missing, or fail it loudly where ``require_env`` is set
    (the CI sets it: a missing Java or Chromium there is a broken run, not a skipped test)."""
    if os.environ.get(require_env):
        pytest.fail(f"{reason} ({require_env} is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def run(checker, monkeypatch):
    """Run ``opnote check ARGS`` in this process, with the session's pipeline."""
    import opnote.api
    from typer.testing import CliRunner

    from clirun import sharing
    from opnote.cli import app

    monkeypatch.setattr(opnote.api, "Checker", sharing(checker, opnote.api.Checker))

    def invoke(*args, input=None):
        return CliRunner().invoke(app, ["check", *map(str, args)], input=input)

    return invoke
