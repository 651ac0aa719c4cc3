"""Leaderboard and compare on small hand-built runs, in every format, and the regression gate."""

from __future__ import annotations

import csv
import io
import json

import pytest
from runs_support import make_row, make_run
from tests_support import run_cli

from harness.compare import compare, select_side
from harness.leaderboard import leaderboard
from harness.table import latest_table, load_table

CASES = [f"case-{i:02d}" for i in range(12)]


@pytest.fixture
def two_versions(project):
    """v1 passes everything; v2 fails word_budgets on 8 of 12 cases and costs less."""
    rows = [make_row("conclusion/v1", case, cost=0.02) for case in CASES]
    rows += [make_row("conclusion/v2", case, cost=0.01, failing=("word_budgets",) if i < 8 else ()) for i, case in enumerate(CASES)]
    return make_run(project / "runs" / "both", rows)


def test_table_is_tidy_one_row_per_output_and_metric(two_versions):
    table = load_table([two_versions])
    assert table.height == 2 * 12 * 4
    assert set(table.columns) >= {"run_id", "prompt_id", "prompt_hash", "model", "case_id", "sample", "metric", "passed",
                                  "score", "cost_usd", "latency_s", "input_tokens", "output_tokens", "error"}


def test_leaderboard_pass_rates_intervals_and_order(two_versions):
    rows = leaderboard(load_table([two_versions]))
    assert [r.prompt_id for r in rows] == ["conclusion/v1", "conclusion/v2"]
    v2 = rows[1]
    assert v2.metrics["word_budgets"].mean == pytest.approx(4 / 12)
    assert v2.metrics["word_budgets"].low == pytest.approx(0.1381, abs=1e-3)
    assert v2.metrics["word_budgets"].high == pytest.approx(0.6093, abs=1e-3)
    assert v2.mean_cost_usd == pytest.approx(0.01) and v2.cases == 12 and v2.errors == 0
    by_cost = leaderboard(load_table([two_versions]), primary="only_p_tags")
    assert [r.prompt_id for r in by_cost] == ["conclusion/v2", "conclusion/v1"], "ties broken by cost"


def test_errors_count_against_pass_rates_and_are_shown(project):
    run = make_run(project / "runs" / "e", [make_row("p/v1", "a"), make_row("p/v1", "b", error="timeout")])
    [row] = leaderboard(load_table([run]))
    assert row.errors == 1 and row.metrics["all_checks"].mean == 0.5 and row.metrics["only_p_tags"].mean == 0.5


def test_prompt_hashes_are_never_merged(project):
    rows = [make_row("p/v1", "a", prompt_hash="aaa"), make_row("p/v1", "b", prompt_hash="bbb")]
    run = make_run(project / "runs" / "h", rows)
    with pytest.warns(UserWarning, match="different content hashes"):
        table = load_table([run])
    assert sorted(r.prompt_hash for r in leaderboard(table)) == ["aaa", "bbb"]


def test_latest_run_of_each_prompt_and_model(project):
    make_run(project / "runs" / "old", [make_row("p/v1", "a", failing=("no_headings",))], started_at="2026-01-01T00:00:00+00:00")
    make_run(project / "runs" / "new", [make_row("p/v1", "a")], started_at="2026-02-01T00:00:00+00:00")
    make_run(project / "runs" / "other", [make_row("p/v2", "a")], started_at="2026-01-15T00:00:00+00:00")
    table = latest_table(project / "runs")
    assert sorted(table["run_id"].unique().to_list()) == ["new", "other"]


def test_compare_detects_the_regression_with_flips(two_versions, project):
    _, base = select_side("conclusion/v1", [two_versions], project / "runs")
    _, cand = select_side("conclusion/v2", [two_versions], project / "runs")
    result = compare(base, cand, "conclusion/v1", "conclusion/v2")
    budgets = next(m for m in result.metrics if m.metric == "word_budgets")
    assert (budgets.wins, budgets.ties, budgets.losses) == (0, 4, 8)
    assert budgets.p_value == pytest.approx(0.0078125)
    assert budgets.verdict == "worse" and budgets.diff == pytest.approx(-8 / 12)
    assert budgets.ci_high < 0
    flips = [f for f in result.flips if f.metric == "word_budgets"]
    assert len(flips) == 8 and all(f.direction == "pass_to_fail" for f in flips)
    assert flips[0].candidate_detail.startswith("word_budgets failed on")
    other = next(m for m in result.metrics if m.metric == "only_p_tags")
    assert other.verdict == "no_difference" and other.p_value == 1.0
    assert result.pairs == 12


def test_compare_cli_json_shape_and_gate_exit_codes(two_versions, project):
    args = ["compare", "conclusion/v1", "conclusion/v2", "--run", str(two_versions)]
    result = run_cli(*args, "--format", "json", cwd=project)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["pairs"] == 12
    assert set(data["metrics"][0]) == {"metric", "baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high", "p_value",
                                       "wins", "ties", "losses", "verdict"}
    assert {m["verdict"] for m in data["metrics"]} <= {"better", "worse", "no_difference"}
    assert len(data["flips"]) >= 8
    gated = run_cli(*args, "--fail-on-regression", cwd=project)
    assert gated.returncode == 1 and "regression: word_budgets is significantly worse" in gated.stderr
    assert "▼ worse" in gated.stdout
    improved = run_cli("compare", "conclusion/v2", "conclusion/v1", "--run", str(two_versions), "--fail-on-regression", cwd=project)
    assert improved.returncode == 0 and "▲ better" in improved.stdout


def test_a_single_flip_fails_the_gate_unless_tolerated(project):
    rows = [make_row("p/v1", c) for c in CASES] + [make_row("p/v2", c, failing=("no_headings",) if c == "case-03" else ()) for c in CASES]
    run = make_run(project / "runs" / "one", rows)
    args = ["compare", "p/v1", "p/v2", "--run", str(run), "--fail-on-regression"]
    failed = run_cli(*args, cwd=project)
    assert failed.returncode == 1 and "1 check verdicts flipped pass -> fail (allowed: 0)" in failed.stderr
    assert run_cli(*args, "--max-flips", "1", cwd=project).returncode == 0


def test_leaderboard_every_format_and_step_summary(two_versions, project, tmp_path):
    summary = tmp_path / "summary.md"
    outputs = {}
    for fmt in ("table", "markdown", "json", "csv"):
        result = run_cli("leaderboard", str(two_versions), "--format", fmt, cwd=project, env={"GITHUB_STEP_SUMMARY": str(summary)})
        assert result.returncode == 0, result.stderr
        outputs[fmt] = result.stdout
    assert "conclusion/v2" in outputs["table"] and "33%" in outputs["table"]
    assert outputs["markdown"].count("\n| ") >= 3 and "| 1 | conclusion/v1 (h-conclusion/v1)" in outputs["markdown"]
    records = json.loads(outputs["json"])
    assert records[1]["word_budgets"] == pytest.approx(0.3333, abs=1e-4) and records[1]["errors"] == 0
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert rows[1]["prompt"] == "conclusion/v2" and float(rows[1]["word_budgets_low"]) == pytest.approx(0.1381, abs=1e-3)
    assert summary.read_text().count("### Leaderboard") == 4
    html = run_cli("leaderboard", str(two_versions), "--format", "html", "-o", str(tmp_path / "lb.html"), cwd=project)
    assert html.returncode == 0 and "leaderboard-row" in (tmp_path / "lb.html").read_text()


def test_markdown_escapes_pipes_and_html(project):
    from harness.report.markdown import cell

    assert cell("a|b <script>x</script>\nnext") == "a\\|b &lt;script&gt;x&lt;/script&gt; next"


def test_compare_refuses_to_pair_two_contents_of_one_prompt_id(project):
    import warnings

    rows = [make_row("p/v1", "a", prompt_hash="aaa"), make_row("p/v1", "b", prompt_hash="bbb"), make_row("p/v2", "a")]
    run = make_run(project / "runs" / "two-hashes", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception, match="2 different versions of this prompt's content"):
            select_side("p/v1", [run], project / "runs")
