"""Shared by the benchmarks: a loopback OpenAI-compatible server in its own process, and the
harness's real call path (render -> scheduler -> litellm -> checks -> rows) for N calls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import json
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OPENAI_API_KEY", "sk-bench-loopback-only")

import harness._env  # noqa: E402,F401

BENCH_MODEL = "openai/bench-model"


@contextmanager
def loopback_server(latency_s: float, content_file: Path):
    """Start bench/loopback_server.py in its own process (no GIL shared with the client); yield its base URL."""
    args = [sys.executable, str(Path(__file__).with_name("loopback_server.py")), str(latency_s), str(content_file)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        base_url = process.stdout.readline().strip()
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def server_stats(base_url: str) -> dict:
    with urllib.request.urlopen(base_url + "/stats", timeout=10) as response:
        return json.loads(response.read())


def reset_server(base_url: str) -> None:
    request = urllib.request.Request(base_url + "/reset", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=10).read()


def sample_output() -> str:
    """A realistic four-paragraph answer for the server to return: the offline baseline's, on the real case."""
    from harness.dataset import load_case
    from harness.offline import write_conclusion
    from harness.prompts import load_prompt

    case = load_case(REPO / "datasets/research/llmops-vs-mlops.json")
    system, user = (m["content"] for m in load_prompt(REPO / "prompts", "conclusion/v1").render(case.research))
    return write_conclusion(system, user)


def harness_plan(calls: int, concurrency: int, base_url: str):
    """A live run of exactly ``calls`` rows over the real dataset and prompts (repeats fill it up)."""
    from harness.checks import resolve_check_names
    from harness.dataset import load_dataset
    from harness.prompts import load_prompts
    from harness.runner import RunPlan, Task

    prompts = load_prompts(REPO / "prompts")
    cases = load_dataset(REPO / "datasets/research")
    per_sample = len(prompts) * len(cases)
    repeats = -(-calls // per_sample)
    plan = RunPlan(
        prompts=tuple(prompts), models=(BENCH_MODEL,), cases=tuple(cases),
        checks=tuple(resolve_check_names(None)), mode="live", repeats=repeats,
        api_base=base_url, concurrency=concurrency, timeout_s=60,
    )
    tasks = [Task(case, prompt, BENCH_MODEL, sample) for sample in range(repeats) for prompt in prompts for case in cases][:calls]
    return plan, tasks


def run_harness(calls: int, concurrency: int, base_url: str, out_dir: Path) -> float:
    """Wall time of a harness run of ``calls`` live rows."""
    from harness.replay import ReplayStore
    from harness.runner import run

    from harness.llm import preload_litellm

    plan, tasks = harness_plan(calls, concurrency, base_url)
    preload_litellm()  # litellm's import stays outside the timing, as in the bare loop
    started = time.perf_counter()
    rows, _ = run(plan, out_dir, ReplayStore(out_dir / "unused-recordings"), REPO, tasks=tasks)
    elapsed = time.perf_counter() - started
    errors = [row for row in rows if row.error]
    if errors:
        raise SystemExit(f"harness run had {len(errors)} errors, e.g. {errors[0].error}")
    return elapsed


def run_bare_litellm(calls: int, concurrency: int, base_url: str) -> float:
    """Wall time of a bare ``litellm.acompletion`` loop with a semaphore: the reference."""
    import asyncio

    import litellm

    from harness.dataset import load_dataset
    from harness.prompts import load_prompts

    prompts = load_prompts(REPO / "prompts")
    cases = load_dataset(REPO / "datasets/research")
    messages = [prompt.render(case.research) for prompt in prompts for case in cases]

    async def main() -> None:
        limit = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with limit:
                response = await litellm.acompletion(
                    model=BENCH_MODEL, messages=messages[index % len(messages)], api_base=base_url,
                    temperature=0.2, top_p=0.9, max_tokens=1500, num_retries=0,
                )
                assert response.choices[0].message.content

        await asyncio.gather(*(one(i) for i in range(calls)))

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started
