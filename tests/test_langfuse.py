"""Langfuse import: the three export shapes, prompt matching, idempotence."""

from __future__ import annotations

import json
import shutil

import pytest
from tests_support import REPO, run_cli

from harness.errors import InputError
from harness.langfuse import import_export
from harness.prompts import load_prompts
from harness.replay import ReplayStore

TRACE = REPO / "tests/fixtures/langfuse/langfuse-observations-2025-05-27.json"


def _import(project, source, **kwargs):
    return import_export(
        source, dataset_dir=project / "datasets/research", store=ReplayStore(project / "recordings"),
        prompts=load_prompts(project / "prompts"), **kwargs,
    )


def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_repo_recording_is_exactly_what_the_import_writes(project):
    (project / "datasets/research/llmops-vs-mlops.json").unlink()
    (project / "datasets/research/llmops-vs-mlops.meta.toml").unlink()
    [call], warnings = _import(project, TRACE, case_id="llmops-vs-mlops")
    assert warnings == []
    assert call.matched_prompts == ("conclusion/v1",)
    assert call.model == "openrouter/google/gemini-2.5-flash-preview-05-20"
    assert _snapshot(project / "recordings") == _snapshot(REPO / "recordings")
    for name in ("llmops-vs-mlops.json", "llmops-vs-mlops.meta.toml"):
        assert (project / "datasets/research" / name).read_bytes() == (REPO / "datasets/research" / name).read_bytes()


def test_import_twice_changes_nothing(project):
    _import(project, TRACE)
    before = _snapshot(project)
    [call], _ = _import(project, TRACE)
    assert _snapshot(project) == before
    assert call.case_id == "llmops-vs-mlops" and not call.case_written


@pytest.mark.parametrize("shape", ["list", "single"])
def test_bare_list_and_single_observation(project, tmp_path, shape):
    observation = json.loads(TRACE.read_text())["data"][0]
    source = tmp_path / "export.json"
    source.write_text(json.dumps([observation] if shape == "list" else observation))
    [call], _ = _import(project, source, model="openrouter/other/model")
    assert call.model == "openrouter/other/model"
    assert call.recording.is_relative_to(project / "recordings/openrouter/other/model")


def test_unmatched_prompt_is_a_warning_and_new_research_becomes_a_case(project, tmp_path):
    observation = json.loads(TRACE.read_text())["data"][0]
    research = json.loads(observation["input"]["messages"][1]["content"])
    research["main_query"] = "Is prompt engineering a discipline of its own?"
    observation["input"]["messages"][1]["content"] = json.dumps(research, indent=2)
    observation["input"]["messages"][0]["content"] = "You are a different prompt."
    source = tmp_path / "export.json"
    source.write_text(json.dumps({"data": [observation], "meta": {}}))
    [call], warnings = _import(project, source)
    assert call.matched_prompts == () and call.case_written
    assert call.case_id == "prompt-engineering-discipline-its-own"
    assert "match no prompt version" in warnings[0]


def test_non_export_is_a_clear_error(project, tmp_path):
    source = tmp_path / "x.json"
    source.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="expected a Langfuse observations export"):
        _import(project, source)


def test_cli_import_reports_the_matching_prompt(project):
    shutil.rmtree(project / "datasets/research")
    (project / "datasets/research").mkdir()
    result = run_cli("import-langfuse", str(TRACE), "--case-id", "llmops-vs-mlops", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "case llmops-vs-mlops (new case)" in result.stdout and "matches conclusion/v1" in result.stdout
