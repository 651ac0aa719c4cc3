"""Calibration: the agreement maths on known matrices, and `harness calibrate` end to end."""

from __future__ import annotations

import json
import math

import pytest
from fakeserver import FakeOpenAI
from judge_script import JudgeScript
from tests_support import REPO, run_cli

from harness.calibrate import HumanLabel, agreement, load_pairs
from harness.stats import cohen_kappa, spearman


def test_cohen_kappa_known_values():
    # Cohen (1960)-style worked example: 20 both yes, 5 judge-only, 10 human-only, 15 both no -> kappa 0.4
    assert cohen_kappa(20, 5, 10, 15) == pytest.approx(0.4)
    assert cohen_kappa(10, 0, 0, 10) == 1.0
    assert cohen_kappa(5, 5, 5, 5) == pytest.approx(0.0)


def test_spearman_known_values():
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(0.8207826816681233)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_agreement_on_a_known_confusion_matrix():
    labels = {f"p{i}": HumanLabel(passed=i < 6, score=0.9 if i < 6 else 0.2, rationale="r") for i in range(10)}
    # judge passes p0..p3 and p6, fails the rest; p9 errored
    results = {f"p{i}": {"score": 0.8 if i in (0, 1, 2, 3, 6) else 0.3, "passed": i in (0, 1, 2, 3, 6), "reason": "j"} for i in range(9)}
    results["p9"] = {"score": None, "passed": None, "error": "timeout: slow"}
    m = agreement("faithfulness", labels, results)
    assert m.confusion == {"judge_pass_human_pass": 4, "judge_pass_human_fail": 1, "judge_fail_human_pass": 2, "judge_fail_human_fail": 2}
    assert m.judged == 9 and m.errors == 1 and m.accuracy == pytest.approx(6 / 9)
    assert m.kappa == pytest.approx(cohen_kappa(4, 1, 2, 2))
    assert sorted(w.pair for w in m.wrong) == ["p4", "p5", "p6", "p9"]


def test_calibration_pairs_are_authored_labelled_and_cover_the_failure_kinds():
    pairs = load_pairs(REPO / "datasets" / "judge-calibration")
    assert len(pairs) >= 12 and all(pair.authored for pair in pairs.values())
    faithfulness = [p.labels["faithfulness"].passed for p in pairs.values()]
    synthesis = [p.labels["synthesis_quality"].passed for p in pairs.values()]
    assert faithfulness.count(False) >= 4 and synthesis.count(False) >= 3 and faithfulness.count(True) >= 4


def test_calibrate_end_to_end_against_the_loopback_judge(project, tmp_path):
    script = JudgeScript(geval_score=8, unsupported=1)  # a judge that passes every synthesis and fails every faithfulness
    with FakeOpenAI(script) as server:
        result = run_cli("calibrate", "--judge-model", "openai/judge", "--judge-api-base", server.base_url, "--mode", "live",
                         "--format", "json", cwd=project, env={"OPENAI_API_KEY": "sk-test-calibrate-000000"})
    assert result.returncode == 0, result.stderr
    metrics = {m["metric"]: m for m in json.loads(result.stdout)}
    pairs = load_pairs(project / "datasets" / "judge-calibration")
    human_synthesis_pass = sum(p.labels["synthesis_quality"].passed for p in pairs.values())
    synthesis = metrics["synthesis_quality"]
    assert synthesis["judged"] == len(pairs) and synthesis["errors"] == 0
    assert synthesis["accuracy"] == pytest.approx(human_synthesis_pass / len(pairs))
    assert synthesis["kappa"] == pytest.approx(0.0), "a judge that always says pass agrees no better than chance"
    assert synthesis["confusion"]["judge_fail_human_pass"] == 0
    assert len(synthesis["wrong"]) == len(pairs) - human_synthesis_pass
    human_faithful = sum(p.labels["faithfulness"].passed for p in pairs.values())
    assert metrics["faithfulness"]["confusion"]["judge_fail_human_pass"] == human_faithful
    no_judge = run_cli("calibrate", cwd=project)
    assert no_judge.returncode == 2 and "calibration needs a judge model" in no_judge.stderr
