"""Repeats, resume, shards and --max-cost, through the CLI as users run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeserver import FakeOpenAI, Reply
from tests_support import run_cli

from harness.errors import InputError
from harness.results import iter_rows, latest_rows, read_manifest

KEY = {"OPENAI_API_KEY": "sk-test-scale-0000000000"}


def _result_set(directory: Path) -> dict:
    """Rows by key, without what legitimately differs between runs (timing)."""
    return {row.key: row.model_dump(exclude={"latency_s"}) for row in latest_rows(iter_rows(directory))}


def test_repeats_are_distinct_rows_and_recordings(project):
    with FakeOpenAI(lambda i, body: Reply(content=f"<p>sample answer {i}</p>")) as server:
        result = run_cli("run", "-p", "conclusion/v1", "-m", "openai/test-model", "-c", "llmops-vs-mlops", "--repeats", "3",
                         "--mode", "record", "--api-base", server.base_url, "--out", str(project / "runs/r"), cwd=project, env=KEY)
    assert result.returncode == 0, result.stderr
    rows = list(iter_rows(project / "runs/r"))
    assert sorted(row.sample for row in rows) == [0, 1, 2]
    assert len({row.output for row in rows}) == 3
    recordings = [json.loads(p.read_text()) for p in (project / "recordings").rglob("*.json")]
    assert sorted(r["request"]["sample"] for r in recordings) == [0, 1, 2]
    assert "pass^N" in result.stdout


def test_resume_after_an_interrupted_run_equals_an_uninterrupted_run(project):
    whole, partial = project / "runs/whole", project / "runs/partial"
    assert run_cli("run", "--out", str(whole), cwd=project).returncode == 0
    assert run_cli("run", "--out", str(partial), cwd=project).returncode == 0
    lines = (partial / "results.jsonl").read_text().splitlines(keepends=True)
    # as if killed mid-run: a third of the rows done, the last one torn
    (partial / "results.jsonl").write_text("".join(lines[: len(lines) // 3]) + lines[len(lines) // 3][:40])
    resumed = run_cli("run", "--resume", str(partial), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(lines) - len(lines) // 3} of {len(lines)} rows to run" in resumed.stderr
    assert _result_set(partial) == _result_set(whole)
    assert read_manifest(partial).ended_at is not None


def test_resume_reruns_errored_rows_only(project):
    calls = []

    def flaky(index, body):
        calls.append(index)
        return Reply(status=400) if len(calls) == 1 else Reply(content="<p>fine</p>")

    args = ["-p", "conclusion/v1", "-m", "openai/test-model", "-c", "llmops-vs-mlops", "-c", "roman-concrete-durability",
            "--mode", "live", "--concurrency", "1"]
    with FakeOpenAI(flaky) as server:
        first = run_cli("run", *args, "--api-base", server.base_url, "--out", str(project / "runs/f"), cwd=project, env=KEY)
        assert first.returncode == 1 and "resume with: harness run --resume" in first.stdout
        second = run_cli("run", "--resume", str(project / "runs/f"), cwd=project, env=KEY)
    assert second.returncode == 0, second.stderr
    assert len(server.requests) == 3
    rows = latest_rows(iter_rows(project / "runs/f"))
    assert len(rows) == 2 and all(row.error is None for row in rows)


def test_resume_refuses_a_changed_prompt(project):
    out = project / "runs/p"
    run_cli("run", "-p", "conclusion/v1", "-c", "llmops-vs-mlops", "--out", str(out), cwd=project)
    template = project / "prompts/conclusion/v1/system.j2"
    template.write_text(template.read_text() + "\nBe brief.\n")
    result = run_cli("run", "--resume", str(out), cwd=project)
    assert result.returncode == 2 and "prompt conclusion/v1 changed since the run" in result.stderr


def test_shards_merged_equal_the_whole_run(project):
    whole = project / "runs/whole"
    assert run_cli("run", "--repeats", "2", "--out", str(whole), cwd=project).returncode == 0
    shards = [project / f"runs/shard{i}" for i in (1, 2, 3)]
    for index, shard in enumerate(shards, start=1):
        assert run_cli("run", "--repeats", "2", "--shard", f"{index}/3", "--out", str(shard), cwd=project).returncode == 0
    sizes = [len(list(iter_rows(shard))) for shard in shards]
    assert max(sizes) - min(sizes) <= 1
    merged = project / "runs/merged"
    result = run_cli("merge", *map(str, shards), "--out", str(merged), cwd=project)
    assert result.returncode == 0, result.stderr
    assert _result_set(merged) == _result_set(whole)
    assert read_manifest(merged).rows_expected == read_manifest(whole).rows_expected


def test_merge_refuses_runs_that_are_not_shards_of_one_run(project):
    run_cli("run", "-p", "conclusion/v1", "--shard", "1/2", "--out", str(project / "runs/a"), cwd=project)
    run_cli("run", "-p", "conclusion/v2", "--shard", "2/2", "--out", str(project / "runs/b"), cwd=project)
    result = run_cli("merge", str(project / "runs/a"), str(project / "runs/b"), "--out", str(project / "runs/m"), cwd=project)
    assert result.returncode == 2 and "not a shard of the same run" in result.stderr and "prompts" in result.stderr


def test_max_cost_stops_scheduling_and_the_run_is_resumable(project):
    # gpt-4o-mini is priced in litellm's local map: 100k input + 10k output tokens ≈ $0.021 a call
    reply = Reply(content="<p>priced</p>", usage=(100_000, 10_000))
    args = ["-p", "conclusion/v1", "-m", "openai/gpt-4o-mini", "-c", "llmops-vs-mlops", "-c", "roman-concrete-durability",
            "-c", "printing-press-reformation", "-c", "retail-cbdc-adoption", "--mode", "live", "--concurrency", "1"]
    with FakeOpenAI(lambda i, body: reply) as server:
        out = project / "runs/cost"
        stopped = run_cli("run", *args, "--max-cost", "0.03", "--api-base", server.base_url, "--out", str(out), cwd=project, env=KEY)
        assert stopped.returncode == 1
        assert len(server.requests) == 2
        rows = list(iter_rows(out))
        assert sorted(row.error.type if row.error else "ok" for row in rows) == ["not_scheduled", "not_scheduled", "ok", "ok"]
        resumed = run_cli("run", "--resume", str(out), cwd=project, env=KEY)
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.requests) == 4
    assert all(row.error is None for row in latest_rows(iter_rows(out)))


def test_an_invalid_result_row_is_one_line_naming_the_line_and_the_field(tmp_path):
    row = {"case_id": "c", "prompt_id": "conclusion/v1", "prompt_hash": "h", "model": "m", "sample": "first"}
    (tmp_path / "results.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        list(iter_rows(tmp_path))
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'results.jsonl'}:1: invalid result row: sample: ")
    assert "\n" not in message
