"""Every fault the fault server can inject, through `harness run` as users run it."""

from __future__ import annotations

import random
import threading

import pytest
from fakeserver import FakeOpenAI, Reply
from tests_support import run_cli

from harness.results import iter_rows

KEY = {"OPENAI_API_KEY": "sk-test-faults-0000000000"}
FAST_RETRIES = '\n[tool.harness.retry]\nmax_attempts = 4\ninitial_backoff_s = 0.05\nmax_backoff_s = 0.2\njitter_s = 0.02\nmax_total_wait_s = 20\n'


@pytest.fixture
def fast_project(project):
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "timeout_s = 2\n" + FAST_RETRIES)
    return project


def _run(project, server, out, *cases, concurrency="4"):
    args = [a for case in cases for a in ("-c", case)] or []
    return run_cli("run", "-p", "conclusion/v1", "-m", "openai/test-model", *args, "--mode", "live", "--api-base", server.base_url,
                   "--concurrency", concurrency, "--out", str(project / "runs" / out), cwd=project, env=KEY)


def _first_fails(fault: Reply, times: int = 1):
    counter = {"n": 0}
    lock = threading.Lock()

    def script(index, body):
        with lock:
            counter["n"] += 1
            if counter["n"] <= times:
                return fault
        return Reply(content="<p>recovered</p>")

    return script


@pytest.mark.parametrize(
    "fault",
    [
        Reply(status=429),
        Reply(status=429, headers={"retry-after": "0.3"}),
        Reply(status=500), Reply(status=502), Reply(status=503),
        Reply(fault="reset"),
        Reply(fault="hang", latency_s=5),
        Reply(fault="not_json", status=502),
    ],
    ids=["429", "429-retry-after", "500", "502", "503", "reset", "hang", "bad-gateway-html"],
)
def test_transient_faults_are_retried_and_the_row_recovers(fast_project, fault):
    with FakeOpenAI(_first_fails(fault)) as server:
        result = _run(fast_project, server, "t", "llmops-vs-mlops")
    assert result.returncode == 0, result.stderr
    [row] = iter_rows(fast_project / "runs/t")
    assert row.error is None and row.output == "<p>recovered</p>"
    assert len(server.requests) == 2
    assert "1 retries" in result.stdout


@pytest.mark.parametrize(
    ("fault", "kind"),
    [(Reply(status=401), "auth"), (Reply(status=400), "bad_request"), (Reply(finish_reason="content_filter", content="x"), "content_filter"),
     (Reply(content=""), "empty_response")],
    ids=["401", "400", "content-filter", "empty"],
)
def test_permanent_faults_are_not_retried_and_the_run_goes_on(fast_project, fault, kind):
    def script(index, body):
        return fault if "llmops" in body["messages"][-1]["content"].lower() else Reply(content="<p>fine</p>")

    with FakeOpenAI(script) as server:
        result = _run(fast_project, server, "p", "llmops-vs-mlops", "roman-concrete-durability", concurrency="1")
    assert result.returncode == 1, "an errored row makes the run exit non-zero"
    rows = {row.case_id: row for row in iter_rows(fast_project / "runs/p")}
    assert rows["llmops-vs-mlops"].error.type == kind
    assert rows["roman-concrete-durability"].output == "<p>fine</p>"
    assert len(server.requests) == 2, "the permanent fault was sent once"
    assert "1 errors" in result.stdout


def test_retry_budget_exhausted_gives_a_typed_error_row(fast_project):
    with FakeOpenAI(lambda i, body: Reply(status=503)) as server:
        result = _run(fast_project, server, "x", "llmops-vs-mlops")
    [row] = iter_rows(fast_project / "runs/x")
    assert result.returncode == 1 and row.error.type == "server" and len(server.requests) == 4


def test_truncated_body_is_an_error_not_a_result(fast_project):
    with FakeOpenAI(lambda i, body: Reply(fault="truncated")) as server:
        _run(fast_project, server, "tb", "llmops-vs-mlops")
    [row] = iter_rows(fast_project / "runs/tb")
    assert row.error is not None and row.output is None


def test_length_finish_reason_is_flagged_on_the_row(fast_project):
    with FakeOpenAI(lambda i, body: Reply(content="<p>cut off mid", finish_reason="length")) as server:
        result = _run(fast_project, server, "len", "llmops-vs-mlops")
    assert result.returncode == 0
    [row] = iter_rows(fast_project / "runs/len")
    assert row.truncated is True and row.finish_reason == "length" and row.output == "<p>cut off mid"


def test_fail_on_error_can_be_turned_off(fast_project):
    (fast_project / "pyproject.toml").write_text((fast_project / "pyproject.toml").read_text().replace("timeout_s = 2\n", "timeout_s = 2\nfail_on_error = false\n"))
    with FakeOpenAI(lambda i, body: Reply(status=401)) as server:
        result = _run(fast_project, server, "off", "llmops-vs-mlops")
    assert result.returncode == 0 and "1 errors" in result.stdout


def test_500_calls_with_20_percent_transient_faults_all_answered_within_the_limit(fast_project):
    # With 20% of calls failing at random, a row exhausts 4 attempts with probability 0.2^4: over
    # 540 rows that happens about once a run. The default budget (6) or this one (10) make a lost
    # row a one-in-millions event, which is what "every row answered" needs.
    pyproject = fast_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("max_attempts = 4", "max_attempts = 10"))
    rng = random.Random(42)
    lock = threading.Lock()
    faults = [Reply(status=429, headers={"retry-after": "0.05"}), Reply(status=500), Reply(status=503), Reply(fault="reset")]

    def script(index, body):
        with lock:
            faulty = rng.random() < 0.2
            fault = rng.choice(faults)
        return fault if faulty else Reply(content=f"<p>answer {index}</p>", latency_s=0.01)

    cases = sorted(p.stem for p in (fast_project / "datasets/research").glob("*.json"))
    repeats = -(-500 // (2 * len(cases)))
    with FakeOpenAI(script) as server:
        result = run_cli("run", "-m", "openai/test-model", "--mode", "live", "--api-base", server.base_url, "--concurrency", "16",
                         "--repeats", str(repeats), "--out", str(fast_project / "runs/many"), cwd=fast_project, env=KEY, timeout=600)
    rows = list(iter_rows(fast_project / "runs/many"))
    assert len(rows) == 2 * len(cases) * repeats >= 500
    assert all(row.error is None for row in rows), [row.error for row in rows if row.error][:3]
    assert result.returncode == 0, result.stderr[-2000:]
    assert server.peak_in_flight <= 16
    assert len(server.requests) > len(rows), "faults were injected and retried"
