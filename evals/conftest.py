"""The CI gate: one test per prompt version × case × check × model, from one real run.

Options override ``[tool.harness]``: ``--prompt``, ``--model``, ``--case`` (repeatable) and ``--mode``.
The run is written as a normal run directory under ``runs/`` and summarized at the end.
"""

from __future__ import annotations

import harness._env  # noqa: F401

import pytest

from harness.config import load_settings
from harness.evalsuite import build_matrix, load_expectations
from harness.replay import ReplayStore
from harness.report.terminal import print_run_summary
from harness.runner import new_run_dir, run
from harness.summary import summarize


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness evals")
    group.addoption("--prompt", action="append", default=[], help="prompt version id (repeatable)")
    group.addoption("--model", action="append", default=[], help="litellm model (repeatable); replaces the default set")
    group.addoption("--case", action="append", default=[], help="case id (repeatable)")
    group.addoption("--mode", default=None, choices=["replay", "record", "auto", "live"], help="replay mode (default: eval_mode)")
    group.addoption("--judges", action="store_true", default=False, help="also gate on the LLM judges (synthesis_quality, faithfulness)")
    group.addoption("--judge-model", default=None, help="litellm model for the judges (default: judge_model)")


def _matrix(config: pytest.Config):
    if not hasattr(config, "_harness_matrix"):
        settings = load_settings(config.rootpath).with_overrides(
            prompts=config.getoption("--prompt"), cases=config.getoption("--case"),
            eval_mode=config.getoption("--mode"), judge_model=config.getoption("--judge-model"),
        )
        if config.getoption("--judges") and not settings.judges:
            settings = settings.with_overrides(judges=["synthesis_quality", "faithfulness"])
        config._harness_settings = settings
        config._harness_matrix = build_matrix(settings, config.getoption("--model") or None)
        config._harness_expected = load_expectations(settings.path(settings.expectations))
    return config._harness_matrix


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "eval_judge" in metafunc.fixturenames:
        matrix = _matrix(metafunc.config)
        metafunc.parametrize("eval_judge", [
            pytest.param((task.case.id, task.prompt.id, task.model, task.sample, judge),
                         id=f"{task.prompt.id}-{task.case.id}-{judge}-{task.model}")
            for task in matrix.tasks for judge in matrix.plan.judges
        ])
        return
    if "eval_check" not in metafunc.fixturenames:
        return
    matrix = _matrix(metafunc.config)
    expected = metafunc.config._harness_expected
    params = []
    for task in matrix.tasks:
        for check in matrix.plan.checks:
            key = (task.prompt.id, task.model, task.case.id, check)
            marks = [pytest.mark.xfail(strict=True, reason=expected[key])] if key in expected else []
            test_id = f"{task.prompt.id}-{task.case.id}-{check}-{task.model}" + (f"-s{task.sample}" if task.sample else "")
            params.append(pytest.param((task.case.id, task.prompt.id, task.model, task.sample, check), id=test_id, marks=marks))
    metafunc.parametrize("eval_check", params)


@pytest.fixture(scope="session")
def eval_rows(pytestconfig: pytest.Config):
    matrix = _matrix(pytestconfig)
    settings = pytestconfig._harness_settings
    out_dir = new_run_dir(settings.path(settings.runs_dir), "evals")
    rows, _ = run(matrix.plan, out_dir, ReplayStore(settings.path(settings.recordings_dir)), settings.root, tasks=matrix.tasks)
    pytestconfig._harness_run = (out_dir, rows)
    return {row.key: row for row in rows}


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    if not hasattr(config, "_harness_run"):
        return
    out_dir, rows = config._harness_run
    terminalreporter.write_line("")
    print_run_summary(summarize(rows), stream=terminalreporter._tw._file)
    terminalreporter.write_line(f"eval run directory: {out_dir}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Judge tests exist only when judges are enabled (--judges or [tool.harness] judges): no empty skips."""
    if _matrix(config).plan.judges:
        return
    judge_items = [item for item in items if item.originalname == "test_judge"]
    if judge_items:
        config.hook.pytest_deselected(items=judge_items)
        items[:] = [item for item in items if item.originalname != "test_judge"]
