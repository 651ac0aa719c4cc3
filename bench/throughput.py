"""Throughput against the physical limit: N calls at latency L with C in flight take ceil(N/C)·L.

For each L and C, runs N live calls through the harness (render, scheduler, litellm, checks,
rows written) and through a bare litellm.acompletion loop, in the same process, against the same
loopback server (its own process). Prints efficiency = ceil(N/C)·L / wall time and the peak
number of requests in flight that the server saw.

    .venv/bin/python bench/throughput.py            # N=600, C=1,8,32,64, L=1.0,0.2 (~30 min)
    .venv/bin/python bench/throughput.py --quick    # N=120, for a smoke check

Targets: efficiency >= 0.90 at L=1 s for every C, peak never above C; at L=0.2 s at least 0.9x the
bare loop's efficiency.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from _loopback import loopback_server, reset_server, run_bare_litellm, run_harness, sample_output, server_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--latency", type=float, nargs="+", default=[1.0, 0.2])
    parser.add_argument("--quick", action="store_true", help="N=120 and C=8,32,64")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.concurrency = 120, [8, 32, 64]

    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "answer.html"
        content.write_text(sample_output(), encoding="utf-8")
        print(f"{'L s':>5} {'C':>4} {'N':>5} {'ideal s':>8} | {'harness s':>9} {'eff':>5} {'peak':>4} | {'bare s':>7} {'eff':>5} {'peak':>4} | {'ratio':>5}  verdict")
        failures = 0
        for latency in args.latency:
            with loopback_server(latency, content) as base_url:
                for concurrency in args.concurrency:
                    ideal = math.ceil(args.calls / concurrency) * latency
                    reset_server(base_url)
                    harness_s = run_harness(args.calls, concurrency, base_url, Path(scratch) / f"run-{latency}-{concurrency}")
                    harness_peak = server_stats(base_url)["peak_in_flight"]
                    reset_server(base_url)
                    bare_s = run_bare_litellm(args.calls, concurrency, base_url)
                    bare_peak = server_stats(base_url)["peak_in_flight"]
                    harness_eff, bare_eff = ideal / harness_s, ideal / bare_s
                    ratio = harness_eff / bare_eff
                    ok = harness_peak <= concurrency and (harness_eff >= 0.90 if latency >= 1.0 else ratio >= 0.9)
                    failures += not ok
                    print(f"{latency:>5.2f} {concurrency:>4} {args.calls:>5} {ideal:>8.1f} | {harness_s:>9.2f} {harness_eff:>5.2f} {harness_peak:>4} | "
                          f"{bare_s:>7.2f} {bare_eff:>5.2f} {bare_peak:>4} | {ratio:>5.2f}  {'ok' if ok else 'MISSED'}", flush=True)
        print("all targets met" if not failures else f"{failures} target(s) missed")


if __name__ == "__main__":
    main()
