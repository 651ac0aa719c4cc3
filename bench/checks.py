"""Rule-check speed against bs4's bare parse rate of the same outputs, measured side by side.

1. checks alone: every rule check on one shared parse vs ``BeautifulSoup(text, "html.parser")``.
   The checks' parse builds the same bs4 tree through their own tree builder, which skips
   html.parser's tokenizer on plain markup (``harness/checks/_tree.py``); its rate alone is
   printed too, so the time the checks add on top of it stays visible;
2. replay + checks: a 10,000-row replay run (render, key, read recording, check, write row)
   vs the bare parse rate of the same outputs, in the run's process alone and with worker
   processes (the default for big runs: one per usable CPU).

    .venv/bin/python bench/checks.py [--rows 10000] [--rounds 3]

Targets from the issue: checks >= 0.85x the bare parse rate; replay + checks >= 0.7x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import harness._env  # noqa: E402,F401
from bs4 import BeautifulSoup  # noqa: E402

from harness.checks import run_checks  # noqa: E402
from harness.checks._tree import checks_tree_builder, plain_markup_parts  # noqa: E402
from harness.dataset import load_dataset  # noqa: E402
from harness.offline import write_conclusion  # noqa: E402
from harness.prompts import load_prompts  # noqa: E402
from harness.workers import usable_cpus, workers_for  # noqa: E402


def corpus() -> list[str]:
    """Realistic outputs: the real trace's, the offline baseline's on every case and prompt, the fixtures."""
    outputs = [(REPO / "examples/llmops-vs-mlops.trace-output.html").read_text()]
    for prompt in load_prompts(REPO / "prompts"):
        for case in load_dataset(REPO / "datasets/research"):
            system, user = (m["content"] for m in prompt.render(case.research))
            outputs.append(write_conclusion(system, user))
    outputs += [p.read_text() for p in sorted((REPO / "tests/fixtures/outputs").glob("*.html")) if p.read_text().strip()]
    return outputs


def rate(function, items, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def replay_run_rates(rows: int, outputs: list[str], processes: list[int | None], rounds: int) -> tuple[list[float], float]:
    """Rows/s of a replay run of ``rows`` recorded answers with each number of worker processes,
    and the bare parse rate of those answers: each the best of ``rounds``, like every rate here
    (rounds interleave the configurations, so a slow spell of this shared machine hits each alike)."""
    from harness.llm import LLMResponse
    from harness.replay import ReplayStore
    from harness.runner import RunPlan, Task, run

    prompts = load_prompts(REPO / "prompts")
    cases = load_dataset(REPO / "datasets/research")
    repeats = -(-rows // (len(prompts) * len(cases)))
    plan = RunPlan(prompts=tuple(prompts), models=("openai/recorded",), cases=tuple(cases),
                   checks=("only_p_tags", "no_headings", "section_count", "word_budgets"), mode="replay", repeats=repeats)
    rates = [0.0] * len(processes)
    tasks = [Task(c, p, "openai/recorded", s) for p in prompts for c in cases for s in range(repeats)][:rows]
    with tempfile.TemporaryDirectory() as scratch:
        store = ReplayStore(Path(scratch) / "recordings")
        answers = []
        for index, task in enumerate(tasks):
            text = outputs[index % len(outputs)]
            answers.append(text)
            store.save(task.request(), LLMResponse(text, 1, 1, 0.0, 0.1, "stop"), recorded_at="2026-01-01T00:00:00Z")
        parse_rate = 0.0
        for round_ in range(rounds):
            parse_rate = max(parse_rate, rate(lambda text: BeautifulSoup(text, "html.parser"), answers, repeat=1))
            for index, count in enumerate(processes):
                started = time.perf_counter()
                result, _ = run(replace(plan, processes=count), Path(scratch) / f"run-{round_}-{index}", store, REPO, tasks=tasks)
                rates[index] = max(rates[index], rows / (time.perf_counter() - started))
                assert len(result) == rows and not any(row.error for row in result), "replay run failed"
                del result  # the parse is timed with no run's rows alive, as the runs start
    return rates, parse_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="replay runs per configuration; the best counts")
    args = parser.parse_args()
    outputs = corpus()
    spec = load_prompts(REPO / "prompts")[0].spec
    items = outputs * max(1, 3000 // len(outputs))
    parse_rate = rate(lambda text: BeautifulSoup(text, "html.parser"), items)
    checks_rate = rate(lambda text: run_checks(text, spec), items)
    tree_rate = rate(lambda text: BeautifulSoup(text, builder=checks_tree_builder()), items)
    print(f"outputs: {len(outputs)} distinct, {len(items)} per round; "
          f"{sum(plain_markup_parts(text) is not None for text in outputs)} are plain markup (the tree builder's fast path)")
    print(f"bare bs4 parse (html.parser): {parse_rate:8.0f} outputs/s")
    print(f"the checks' parse alone:      {tree_rate:8.0f} outputs/s  ratio {tree_rate / parse_rate:.2f}  (same tree)")
    print(f"all rule checks, one parse:   {checks_rate:8.0f} outputs/s  ratio {checks_rate / parse_rate:.2f}  (target 0.85)")
    workers = workers_for(None, args.rows)
    print(f"usable CPUs: {usable_cpus()}; a {args.rows}-row replay gets {workers} worker processes by default")
    (alone, pooled), run_parse_rate = replay_run_rates(args.rows, outputs, [0, workers], args.rounds)
    print(f"bare bs4 parse of the replayed outputs: {run_parse_rate:8.0f} outputs/s")
    print(f"replay + checks, {args.rows} rows, one process:        {alone:8.0f} rows/s  ratio {alone / run_parse_rate:.2f}")
    print(f"replay + checks, {args.rows} rows, {workers} worker processes: {pooled:8.0f} rows/s  ratio {pooled / run_parse_rate:.2f}  (target 0.70)")
    # The ratio targets were set against a parse of ~1 ms (the issue's ~1,050 parses/s); what they
    # allow on top of the parse, in absolute time, is printed beside what is measured here.
    issue_parse_s = 1 / ISSUE_PARSES_PER_S
    print(f"time added per output on top of the bare parse: checks {added_us(checks_rate, parse_rate):.0f} µs "
          f"({added_us(checks_rate, tree_rate):.0f} µs on top of their own parse), "
          f"replay + checks {added_us(alone, run_parse_rate):.0f} µs in one process")
    print(f"what the targets allow with the issue's parse of {issue_parse_s * 1e6:.0f} µs ({ISSUE_PARSES_PER_S}/s): "
          f"checks {issue_parse_s * (1 / 0.85 - 1) * 1e6:.0f} µs, replay + checks {issue_parse_s * (1 / 0.70 - 1) * 1e6:.0f} µs")


ISSUE_PARSES_PER_S = 1050
"""The bare html.parser rate the issue's targets were written against."""


def added_us(rate_with: float, bare_rate: float) -> float:
    """Microseconds per output that ``rate_with`` spends beyond ``bare_rate``."""
    return (1 / rate_with - 1 / bare_rate) * 1e6


if __name__ == "__main__":
    main()
