"""Shared fixtures: the real trace (a copy in tests/fixtures), the repo's prompts and a temp project."""

from __future__ import annotations

import harness._env  # noqa: F401

import json
import shutil
from pathlib import Path

import pytest

from harness.prompts import load_prompt

REPO = Path(__file__).resolve().parent.parent
TRACE_FILE = REPO / "tests" / "fixtures" / "langfuse" / "langfuse-observations-2025-05-27.json"


@pytest.fixture(scope="session")
def trace_observation() -> dict:
    return json.loads(TRACE_FILE.read_text(encoding="utf-8"))["data"][0]


@pytest.fixture(scope="session")
def trace_output(trace_observation) -> str:
    return trace_observation["output"]["content"]


@pytest.fixture(scope="session")
def trace_research(trace_observation) -> dict:
    return json.loads(trace_observation["input"]["messages"][1]["content"])


@pytest.fixture(scope="session")
def conclusion_spec():
    return load_prompt(REPO / "prompts", "conclusion/v1").spec


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway copy of the project's prompts and dataset, as the current directory."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "prompts", root / "prompts")
    shutil.copytree(REPO / "datasets", root / "datasets")
    (root / "pyproject.toml").write_text(
        '[tool.harness]\nmodels = ["offline/extractive"]\neval_models = ["offline/extractive"]\n', encoding="utf-8"
    )
    monkeypatch.chdir(root)
    for name in ("HARNESS_ROOT", "HARNESS_MODE", "HARNESS_MODELS"):
        monkeypatch.delenv(name, raising=False)
    return root
