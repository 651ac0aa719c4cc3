"""Harness overhead per call: calls/s of the harness vs a bare litellm loop at server latency 0.

Same loopback server (its own process), same concurrency, same messages, in one process run
side by side. litellm itself costs a few ms of CPU per call and is the ceiling; the target is
for the harness to reach >= 0.8x the bare loop's calls/s.

    .venv/bin/python bench/overhead.py [--calls 2000] [--concurrency 32] [--profile out.html]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _loopback import loopback_server, reset_server, run_bare_litellm, run_harness, sample_output


def run_bare_litellm_redacting(calls: int, concurrency: int, base_url: str) -> float:
    """The bare loop with litellm's message redaction on: it deep-copies each call's logging payload."""
    import litellm

    before, litellm.turn_off_message_logging = litellm.turn_off_message_logging, True
    try:
        return run_bare_litellm(calls, concurrency, base_url)
    finally:
        litellm.turn_off_message_logging = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best of each side counts")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument HTML profile of one harness round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        content = Path(scratch) / "answer.html"
        content.write_text(sample_output(), encoding="utf-8")
        with loopback_server(0.0, content) as base_url:
            run_bare_litellm(50, args.concurrency, base_url)  # warm-up: imports, connection pool
            harness_best, bare_best, redacting_best = float("inf"), float("inf"), float("inf")
            for round_number in range(args.rounds):
                reset_server(base_url)
                bare_best = min(bare_best, run_bare_litellm(args.calls, args.concurrency, base_url))
                reset_server(base_url)
                redacting_best = min(redacting_best, run_bare_litellm_redacting(args.calls, args.concurrency, base_url))
                reset_server(base_url)
                harness_best = min(harness_best, run_harness(args.calls, args.concurrency, base_url, Path(scratch) / f"r{round_number}"))
            if args.profile:
                from pyinstrument import Profiler

                with Profiler(async_mode="enabled") as profiler:
                    run_harness(args.calls, args.concurrency, base_url, Path(scratch) / "profiled")
                args.profile.write_text(profiler.output_html())
    harness_rate, bare_rate, redacting_rate = args.calls / harness_best, args.calls / bare_best, args.calls / redacting_best
    ratio = harness_rate / bare_rate
    print(f"calls={args.calls} concurrency={args.concurrency} latency=0")
    print(f"bare litellm loop: {bare_rate:7.1f} calls/s")
    print(f"  same with litellm.turn_off_message_logging=True (the harness no longer sets it): "
          f"{redacting_rate:7.1f} calls/s ({redacting_rate / bare_rate:.2f}x)")
    print(f"harness run:       {harness_rate:7.1f} calls/s (render, scheduler, litellm, checks, rows written)")
    print(f"ratio:             {ratio:7.2f}  target >= 0.80  {'ok' if ratio >= 0.8 else 'MISSED'}")


if __name__ == "__main__":
    main()
