"""Each test is one check of one output: its failure message is the check's detail."""

import pytest


def test_check(eval_check, eval_rows):
    case_id, prompt_id, model, sample, check = eval_check
    row = eval_rows[(case_id, prompt_id, model, sample)]
    if row.error is not None:
        pytest.fail(f"{row.error.type}: {row.error.message}", pytrace=False)
    result = row.checks[check]
    if not result.passed:
        pytest.fail(f"{check}: {result.detail}", pytrace=False)
