"""Paths shared by tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

import os
import subprocess
import sys

_NO_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def run_cli(*args: str, cwd: Path, env: dict | None = None, network: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``harness ARGS`` in a subprocess; with ``network=False`` every socket connect fails."""
    code = ("" if network else _NO_NETWORK) + "import sys\nsys.argv = ['harness', *sys.argv[1:]]\nfrom harness.cli import main\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
