"""Fixtures shared by the unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding the shipped config and its deploy/ files, to load or change."""
    shutil.copy(ROOT / "argos-cloud.toml", tmp_path / "argos-cloud.toml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    return tmp_path
