"""The live-runs acceptance run: ``harness run --mode live --concurrency 64 --repeats 50`` over
the dataset against a loopback server answering in 1 s. Efficiency = ceil(N/C)·L / wall time of
the server's busy span (first request in to last response out), as the server measures it;
the wall time of the whole command (start-up included) is printed beside it. The peak in
flight is what the server saw.

    .venv/bin/python bench/scale_run.py [--repeats 50] [--concurrency 64] [--latency 1.0]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _loopback import REPO, loopback_server, sample_output, server_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "answer.html"
        content.write_text(sample_output(), encoding="utf-8")
        with loopback_server(args.latency, content) as base_url:
            command = [sys.executable, "-m", "harness", "run", "--model", "openai/bench-model", "--mode", "live",
                       "--api-base", base_url, "--concurrency", str(args.concurrency), "--repeats", str(args.repeats),
                       "--out", str(Path(scratch) / "run")]
            started = time.perf_counter()
            result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
            wall = time.perf_counter() - started
            stats = server_stats(base_url)
    if result.returncode != 0:
        sys.exit(f"harness run failed ({result.returncode}): {result.stderr[-2000:]}")
    calls = stats["requests"]
    ideal = math.ceil(calls / args.concurrency) * args.latency
    efficiency = ideal / stats["busy_s"]
    print(f"calls={calls} concurrency={args.concurrency} latency={args.latency}s")
    print(f"ideal {ideal:.1f}s, server busy {stats['busy_s']:.1f}s, whole command {wall:.1f}s (start-up included: {ideal / wall:.3f})")
    print(f"efficiency {efficiency:.3f} (target >= 0.90)  peak in flight {stats['peak_in_flight']} (limit {args.concurrency})  "
          f"{'ok' if efficiency >= 0.9 and stats['peak_in_flight'] <= args.concurrency else 'MISSED'}")


if __name__ == "__main__":
    main()
