"""Ctrl-C and kill -9 in the middle of a real `harness run` subprocess, then --resume."""

from __future__ import annotations

import hashlib
import signal

import pytest
from fakeserver import FakeOpenAI, Reply
from tests_support import result_set, run_cli, start_cli, wait_for_rows

from harness.results import iter_rows

KEY = {"OPENAI_API_KEY": "sk-test-interrupt-000000"}
CASES = ["llmops-vs-mlops", "roman-concrete-durability", "printing-press-reformation", "retail-cbdc-adoption",
         "four-day-work-week", "deep-sea-nodule-mining"]


def _deterministic(index, body):
    # the answer depends on the request only, so an interrupted-and-resumed run must equal a whole one
    digest = hashlib.sha256(body["messages"][-1]["content"].encode()).hexdigest()[:12]
    return Reply(content=f"<p>answer {digest}.</p>", latency_s=0.4)


def _args(server, out):
    return ["run", "-m", "openai/test-model", *[a for c in CASES for a in ("-c", c)], "--mode", "live", "--api-base", server.base_url,
            "--concurrency", "2", "--out", str(out)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_keeps_finished_rows_and_resumes_to_the_same_result(project, sig):
    with FakeOpenAI(_deterministic) as server:
        whole = project / "runs/whole"
        assert run_cli(*_args(server, whole), cwd=project, env=KEY).returncode == 0
        out = project / "runs/cut"
        process = start_cli(*_args(server, out), cwd=project, env=KEY)
        wait_for_rows(out / "results.jsonl", 3)
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
        finished = list(iter_rows(out))  # readable, whatever the signal
        assert 3 <= len(finished) < 2 * len(CASES)
        if sig == signal.SIGINT:
            assert process.returncode == 130
            assert f"resume with: harness run --resume {out}" in stderr
            assert "Traceback" not in stderr
        else:
            assert process.returncode == -signal.SIGKILL
        resumed = run_cli("run", "--resume", str(out), cwd=project, env=KEY)
    assert resumed.returncode == 0, resumed.stderr
    assert result_set(out) == result_set(whole)


def test_torn_last_line_is_dropped_on_resume(project):
    out = project / "runs/torn"
    assert run_cli("run", "-p", "conclusion/v1", "-c", "llmops-vs-mlops", "-c", "roman-concrete-durability", "--out", str(out), cwd=project).returncode == 0
    results = out / "results.jsonl"
    first, second = results.read_text().splitlines(keepends=True)
    results.write_text(first + second[: len(second) // 2])
    assert len(list(iter_rows(out))) == 1
    assert run_cli("run", "--resume", str(out), cwd=project).returncode == 0
    lines = results.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith("{") and line.endswith("}") for line in lines)
