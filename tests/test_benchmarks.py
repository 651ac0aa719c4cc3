"""The benchmarks run from a clean clone and print their ratios (tiny sizes: no timing is asserted).

What is asserted is what the loopback server counts: every call arrived, and the peak number of
requests in flight never exceeded the concurrency limit.
"""

from __future__ import annotations

import re
import subprocess
import sys

from harness.dataset import load_dataset
from harness.prompts import load_prompts
from tests_support import REPO


def _bench(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(REPO / "bench" / script), *args], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_throughput_prints_efficiency_and_peaks_within_the_limit():
    out = _bench("throughput.py", "--calls", "24", "--concurrency", "1", "8", "--latency", "0.05")
    rows = [line.split() for line in out.splitlines() if re.match(r"\s*0\.05\s", line)]
    assert [int(row[1]) for row in rows] == [1, 8], out
    for row in rows:
        concurrency, harness_peak, bare_peak = int(row[1]), int(row[7]), int(row[11])
        assert 1 <= harness_peak <= concurrency and 1 <= bare_peak <= concurrency, out
        assert float(row[6]) > 0 and float(row[13]) > 0, out  # harness efficiency and harness/bare ratio


def test_scale_run_is_measured_by_the_server():
    out = _bench("scale_run.py", "--repeats", "2", "--concurrency", "8", "--latency", "0.05")
    rows_per_sample = len(load_dataset(REPO / "datasets/research")) * len(load_prompts(REPO / "prompts"))
    assert f"calls={2 * rows_per_sample} concurrency=8" in out, out
    peak = int(re.search(r"peak in flight (\d+) \(limit 8\)", out).group(1))
    assert 1 <= peak <= 8, out
    assert re.search(r"efficiency \d\.\d{3}", out), out


def test_overhead_and_checks_print_their_ratios():
    overhead = _bench("overhead.py", "--calls", "40", "--concurrency", "8", "--rounds", "1")
    assert re.search(r"^ratio:\s+\d+\.\d\d", overhead, re.MULTILINE), overhead
    assert "turn_off_message_logging" in overhead
    checks = _bench("checks.py", "--rows", "120")
    assert len(re.findall(r"ratio \d+\.\d\d", checks)) == 4, checks
    assert re.search(r"\d+ are plain markup", checks), checks
    assert re.search(r"replay \+ checks, 120 rows, one process: +\d+ rows/s", checks), checks
    assert re.search(r"time added per output on top of the bare parse: checks -?\d+ µs \(-?\d+ µs on top of their own parse\), replay \+ checks -?\d+ µs", checks), checks
