"""Ctrl-C and kill -9 in the middle of a real `harness run` subprocess, then --resume."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from fakeserver import FakeOpenAI, Reply
from tests_support import run_cli

from harness.results import iter_rows, latest_rows

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


def _start(project, args):
    code = "import sys\nsys.argv = ['harness', *sys.argv[1:]]\nfrom harness.cli import main\nmain()\n"
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=project, env={**os.environ, **KEY},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(path, count, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"no {count} rows in {path} after {timeout}s")


def _result_set(directory):
    return {row.key: (row.output, row.checks) for row in latest_rows(iter_rows(directory))}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_keeps_finished_rows_and_resumes_to_the_same_result(project, sig):
    with FakeOpenAI(_deterministic) as server:
        whole = project / "runs/whole"
        assert run_cli(*_args(server, whole), cwd=project, env=KEY).returncode == 0
        out = project / "runs/cut"
        process = _start(project, _args(server, out))
        _wait_for_rows(out / "results.jsonl", 3)
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
    assert _result_set(out) == _result_set(whole)


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
