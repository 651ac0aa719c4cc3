"""`harness run` end to end: replay of the real trace offline, record/auto/live, per-row errors, secrets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fakeserver import FakeOpenAI, Reply
from tests_support import REPO, run_cli

from harness.results import iter_rows, read_manifest

TRACE_MODEL = "openrouter/google/gemini-2.5-flash-preview-05-20"
CANARY = "sk-canary-run-0123456789"


def _rows(out: Path) -> list:
    return list(iter_rows(out))


def test_replay_of_the_real_trace_with_the_network_disabled(project, trace_output):
    shutil.copytree(REPO / "recordings", project / "recordings")
    out = project / "runs" / "replay"
    result = run_cli("run", "--prompt", "conclusion/v1", "--model", TRACE_MODEL, "--case", "llmops-vs-mlops",
                     "--mode", "replay", "--out", str(out), cwd=project, network=False)
    assert result.returncode == 0, result.stderr
    [row] = _rows(out)
    assert row.output == trace_output
    assert row.cached is True and row.error is None
    assert row.paragraph_word_counts == [129, 112, 99, 93]
    assert {name: check.passed for name, check in row.checks.items()} == {
        "only_p_tags": True, "no_headings": True, "section_count": True, "word_budgets": False,
    }
    assert row.usage.input_tokens == 4598 and row.usage.output_tokens == 573 and row.latency_s == 5.397
    manifest = read_manifest(out)
    assert manifest.mode == "replay" and manifest.prompts[0].id == "conclusion/v1" and manifest.rows_expected == 1
    assert "word_budgets" in result.stdout and "1 rows, 0 errors" in result.stdout


def test_missing_recording_names_case_prompt_model_and_how_to_record(project):
    out = project / "runs" / "missing"
    result = run_cli("run", "-p", "conclusion/v2", "-m", TRACE_MODEL, "-c", "llmops-vs-mlops", "--mode", "replay",
                     "--out", str(out), cwd=project, network=False)
    assert result.returncode == 1
    [row] = _rows(out)
    assert row.error.type == "missing_recording"
    assert "case llmops-vs-mlops, prompt conclusion/v2, model openrouter/" in row.error.message
    assert "--mode record" in row.error.message


def test_offline_model_over_dataset_and_prompts(project):
    out = project / "runs" / "offline"
    result = run_cli("run", "--out", str(out), cwd=project, network=False)
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    cases = len(list((project / "datasets" / "research").glob("*.json")))
    assert len(rows) == 2 * cases
    assert all(row.passed for row in rows), [(r.case_id, r.prompt_id, r.checks) for r in rows if not r.passed]
    assert not (project / "recordings").exists(), "offline outputs are never recorded"


def test_record_then_auto_replays_and_live_stores_nothing(project):
    env = {"OPENAI_API_KEY": CANARY}
    with FakeOpenAI(lambda i, body: Reply(content=f"<p>answer {i}</p>")) as server:
        base = ["-p", "conclusion/v1", "-m", "openai/test-model", "-c", "llmops-vs-mlops", "--api-base", server.base_url]
        first = run_cli("run", *base, "--mode", "record", "--out", str(project / "runs/a"), cwd=project, env=env)
        assert first.returncode == 0, first.stderr
        assert len(server.requests) == 1
        second = run_cli("run", *base, "--mode", "auto", "--out", str(project / "runs/b"), cwd=project, env=env)
        assert len(server.requests) == 1, "auto replays what is recorded"
        assert [row.cached for row in _rows(project / "runs/b")] == [True]
        assert _rows(project / "runs/b")[0].output == "<p>answer 0</p>"
        live = run_cli("run", *base, "--mode", "live", "--out", str(project / "runs/c"), cwd=project, env=env)
        assert len(server.requests) == 2
        assert _rows(project / "runs/c")[0].output == "<p>answer 1</p>"
    assert second.returncode == 0 and live.returncode == 0
    recordings = list((project / "recordings").rglob("*.json"))
    assert len(recordings) == 1
    assert json.loads(recordings[0].read_text())["response"]["text"] == "<p>answer 0</p>"


def test_one_failing_row_is_recorded_and_the_run_goes_on(project):
    def script(index, body):
        user = body["messages"][-1]["content"]
        return Reply(status=401) if "llmops" in user.lower() else Reply(content="<p>fine</p>")

    cases = ["llmops-vs-mlops", *sorted(p.stem for p in (project / "datasets/research").glob("*.json"))[:2]]
    args = [a for case in dict.fromkeys(cases) for a in ("-c", case)]
    with FakeOpenAI(script) as server:
        result = run_cli("run", "-p", "conclusion/v1", "-m", "openai/test-model", *args, "--mode", "live",
                         "--api-base", server.base_url, "--out", str(project / "runs/e"), cwd=project, env={"OPENAI_API_KEY": CANARY})
    rows = {row.case_id: row for row in _rows(project / "runs/e")}
    assert len(rows) == len(dict.fromkeys(cases))
    assert rows["llmops-vs-mlops"].error.type == "auth"
    assert all(row.error is None and row.output == "<p>fine</p>" for cid, row in rows.items() if cid != "llmops-vs-mlops")
    assert result.returncode == 1
    assert "llmops-vs-mlops: auth" in result.stderr


def test_canary_key_appears_in_no_written_file(project):
    with FakeOpenAI(lambda i, body: Reply(status=401 if i == 0 else 200, content="<p>ok</p>")) as server:
        for mode in ("record", "auto"):
            run_cli("run", "-p", "conclusion/v1", "-p", "conclusion/v2", "-m", "openai/test-model", "-c", "llmops-vs-mlops",
                    "--mode", mode, "--api-base", server.base_url, "--out", str(project / "runs" / mode), cwd=project,
                    env={"OPENAI_API_KEY": CANARY})
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {CANARY}"
    written = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "results.jsonl" for p in written) and any(p.parent.parent.name == "openai" for p in written)
    for path in written:
        assert CANARY not in path.read_text(encoding="utf-8", errors="replace"), path
