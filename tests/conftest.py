"""Shared fixtures: one Checker (pipeline built once) for the whole test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_notes"


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
