"""Each test is one check of one output: its failure message is the check's detail."""

import pytest


def _answered_row(eval_rows, case_id, prompt_id, model, sample):
    """The row of one output; a row without an answer fails with its error, like a test failure."""
    row = eval_rows[(case_id, prompt_id, model, sample)]
    if row.error is not None:
        pytest.fail(f"{row.error.type}: {row.error.message}", pytrace=False)
    return row


def test_check(eval_check, eval_rows):
    *output, check = eval_check
    result = _answered_row(eval_rows, *output).checks[check]
    if not result.passed:
        pytest.fail(f"{check}: {result.detail}", pytrace=False)


def test_judge(eval_judge, eval_rows):
    """One judge metric on one output, against its threshold (only with --judges or [tool.harness] judges)."""
    *output, judge = eval_judge
    result = _answered_row(eval_rows, *output).judges[judge]
    if result["score"] is None and result["error"] is None:
        pytest.skip(result["reason"])
    if result["error"]:
        pytest.fail(f"{judge}: judge error: {result['error']}", pytrace=False)
    if not result["passed"]:
        pytest.fail(f"{judge}: score {result['score']:.2f} below threshold: {result['reason']}", pytrace=False)


def test_candidate_prompt_does_not_regress(pytestconfig, eval_rows):
    """The compare gate: candidate vs baseline prompt versions from [tool.harness], paired by case and model."""
    import polars as pl

    from harness.compare import compare
    from harness.table import load_table

    settings = pytestconfig._harness_settings
    baseline, candidate = settings.compare_baseline, settings.compare_candidate
    if not (baseline and candidate):
        pytest.skip("set compare_baseline and compare_candidate in [tool.harness] to gate on regressions")
    out_dir, _ = pytestconfig._harness_run
    table = load_table([out_dir])
    present = set(table["prompt_id"].unique().to_list())
    if not {baseline, candidate} <= present:
        pytest.skip(f"{baseline} and {candidate} are not both in this eval run (prompts: {', '.join(sorted(present))})")
    comparison = compare(table.filter(pl.col("prompt_id") == baseline), table.filter(pl.col("prompt_id") == candidate),
                         baseline, candidate, alpha=settings.alpha)
    regressions = comparison.regressions(settings.max_flips)
    if regressions:
        pytest.fail(f"{candidate} regresses against {baseline}: " + "; ".join(regressions), pytrace=False)
