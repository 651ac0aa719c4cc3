"""Judges against a loopback OpenAI-compatible judge server with scripted answers."""

from __future__ import annotations

import json

import pytest
from fakeserver import FakeOpenAI
from judge_script import JudgeScript
from tests_support import run_cli

from harness.results import iter_rows

KEY = {"OPENAI_API_KEY": "sk-test-judge-0000000000"}
CASES = ["roman-concrete-durability", "printing-press-reformation"]


def _judged_run(project, server, out: str, *extra: str, network: bool = True):
    case_args = [a for case in CASES for a in ("-c", case)]
    return run_cli("run", *case_args, "--judges", "--judge-model", "openai/judge", "--judge-api-base", server.base_url if server else "http://127.0.0.1:9",
                   "--out", str(project / "runs" / out), *extra, cwd=project, env=KEY, network=network)


def test_judge_scores_on_every_row_with_the_minimum_number_of_calls(project):
    script = JudgeScript(geval_score=8, unsupported=1)
    with FakeOpenAI(script) as server:
        result = _judged_run(project, server, "judged", "--mode", "record", "--concurrency", "8", "-m", "openai/gen",
                             "--api-base", server.base_url)
    assert result.returncode == 0, result.stderr
    rows = list(iter_rows(project / "runs/judged"))
    assert len(rows) == 4
    for row in rows:
        synthesis, faithfulness = row.judges["synthesis_quality"], row.judges["faithfulness"]
        assert synthesis["score"] == pytest.approx(0.8) and synthesis["passed"] is True and synthesis["judge_model"] == "openai/judge"
        assert faithfulness["score"] == pytest.approx(0.5) and faithfulness["passed"] is False
        assert "A 2023 study proved 99% durability." in faithfulness["reason"]
        assert synthesis["metric_version"] and faithfulness["error"] is None
    # one G-Eval call per output; truths once per research input; claims, verdicts, reason per output
    assert script.calls == {"generation": 4, "geval": 4, "truths": 2, "claims": 4, "verdicts": 4, "reason": 4}
    calls = sorted(row.judges["faithfulness"]["judge_calls"] for row in rows)
    assert calls == [3, 3, 4, 4]
    assert all(row.judges["synthesis_quality"]["judge_calls"] == 1 for row in rows)


def test_judged_run_replays_offline_with_identical_judge_results(project):
    with FakeOpenAI(JudgeScript()) as server:
        assert _judged_run(project, server, "first", "--mode", "record").returncode == 0
    replay = _judged_run(project, None, "replayed", "--mode", "replay", network=False)
    assert replay.returncode == 0, replay.stderr
    def judged(out):
        return {row.key: {name: {k: v for k, v in result.items() if k != "judge_calls"} for name, result in row.judges.items()}
                for row in iter_rows(project / "runs" / out)}
    assert judged("replayed") == judged("first")


def _one_output(project, script, out: str, *extra: str):
    """One offline output of one case, judged by ``script`` on a loopback server."""
    with FakeOpenAI(script) as server:
        return run_cli("run", "-c", CASES[0], "-p", "conclusion/v1", "--judges", "--judge-model", "openai/judge",
                       "--judge-api-base", server.base_url, "--out", str(project / "runs" / out), *extra, cwd=project, env=KEY)


def test_invalid_json_is_retried_once_then_recorded_as_a_judge_error(project):
    script = JudgeScript(invalid_json=1)
    result = _one_output(project, script, "retry", "--mode", "live", "--concurrency", "1")
    assert result.returncode == 0, result.stderr
    [row] = iter_rows(project / "runs/retry")
    assert all(r["error"] is None and r["score"] is not None for r in row.judges.values())
    assert sum(script.calls.values()) == 1 + 4 + 1  # one extra call: the retry

    result = _one_output(project, JudgeScript(invalid_json=10_000), "bad", "--mode", "live")
    assert result.returncode == 0
    [row] = iter_rows(project / "runs/bad")
    assert row.error is None and row.checks, "the generation's row stands; only the judge failed"
    for judge in row.judges.values():
        assert judge["score"] is None and judge["passed"] is None
        assert judge["error"].startswith("invalid_json: judge answered invalid JSON twice")


def test_no_judge_model_means_skipped_never_passed(project):
    result = run_cli("run", "-c", CASES[0], "-p", "conclusion/v1", "--judges", "--out", str(project / "runs/skip"), cwd=project)
    assert result.returncode == 0, result.stderr
    [row] = iter_rows(project / "runs/skip")
    for judge in row.judges.values():
        assert judge["passed"] is None and judge["score"] is None and judge["reason"].startswith("skipped: no judge model")
    board = run_cli("leaderboard", str(project / "runs/skip"), "--format", "json", cwd=project)
    record = json.loads(board.stdout)[0]
    assert record["synthesis_quality"] is None and record["faithfulness"] is None


def test_judge_repeats_report_mean_spread_and_threshold_share(project):
    script = JudgeScript(geval_score=6)
    result = _one_output(project, script, "rep", "--judge-repeats", "3", "--mode", "record")
    assert result.returncode == 0, result.stderr
    [row] = iter_rows(project / "runs/rep")
    synthesis = row.judges["synthesis_quality"]
    assert synthesis["scores"] == [pytest.approx(0.6)] * 3 and synthesis["spread"] == 0.0 and synthesis["above_threshold"] == 1.0
    assert script.calls["geval"] == 3, "each repeat is a distinct request (sample index in the key)"
    judge_recordings = [json.loads(p.read_text()) for p in (project / "recordings/openai/judge").glob("*.json")]
    assert sorted({r["request"]["sample"] for r in judge_recordings}) == [0, 1, 2]


def test_unknown_judge_name_is_a_usage_error(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'judges = ["vibes"]\n')
    result = run_cli("run", "-c", CASES[0], cwd=project)
    assert result.returncode == 2 and "unknown judge metric 'vibes'" in result.stderr
