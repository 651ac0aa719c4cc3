"""Paths and helpers shared by tests: the repository, and running the CLI in a subprocess."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

_NO_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


_CLI = "import sys\nsys.argv = ['harness', *sys.argv[1:]]\nfrom harness.cli import main\nmain()\n"


def run_cli(*args: str, cwd: Path, env: dict | None = None, network: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``harness ARGS`` in a subprocess; with ``network=False`` every socket connect fails."""
    return subprocess.run(
        [sys.executable, "-c", ("" if network else _NO_NETWORK) + _CLI, *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


def start_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``harness ARGS`` in a subprocess without waiting (to interrupt it)."""
    return subprocess.Popen([sys.executable, "-c", _CLI, *args], cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(path: Path, count: int, timeout: float = 90) -> None:
    """Wait until ``path`` (a results.jsonl) holds ``count`` lines; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"no {count} rows in {path} after {timeout}s")


def result_set(directory: Path) -> dict:
    """What a run directory says, keyed by row: output and verdicts (order and timing aside)."""
    from harness.results import iter_rows, latest_rows

    return {row.key: (row.output, row.checks) for row in latest_rows(iter_rows(directory))}
