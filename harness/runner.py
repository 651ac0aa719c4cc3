"""``harness run``: every (case, prompt, model, sample) rendered, answered, checked, written.

Data flows one way: dataset + prompt -> request -> (replay store | model) -> output -> checks ->
result row. A failure on one row is recorded on that row; the run goes on.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness.checks import parse_output, run_checks
from harness.config import ReplayMode
from harness.dataset import Case, dataset_hash
from harness.llm import LLMError, LLMRequest, LLMResponse, complete
from harness.prompts import PromptVersion
from harness.replay import ReplayStore
from harness.results import Manifest, PromptEntry, ResultRow, ResultsWriter, RowError, Usage, write_manifest


@dataclass(frozen=True)
class RunPlan:
    """What to run: the matrix of prompts × models × cases × samples, and how."""

    prompts: tuple[PromptVersion, ...]
    models: tuple[str, ...]
    cases: tuple[Case, ...]
    checks: tuple[str, ...]
    mode: ReplayMode = "auto"
    repeats: int = 1
    api_base: str | None = None
    timeout_s: float = 120.0
    concurrency: int = 16


@dataclass(frozen=True)
class Task:
    case: Case
    prompt: PromptVersion
    model: str
    sample: int

    def request(self) -> LLMRequest:
        return LLMRequest.build(self.model, self.prompt.render(self.case.research), self.prompt.parameters, self.sample)

    def describe(self) -> str:
        return f"case {self.case.id}, prompt {self.prompt.id}, model {self.model}" + (f", sample {self.sample}" if self.sample else "")


class MissingRecording(LLMError):
    def __init__(self, task: Task):
        command = f"harness run --prompt {task.prompt.id} --model {task.model} --case {task.case.id} --mode record"
        super().__init__("missing_recording", f"no recording for {task.describe()}; record it with: {command}")


def tasks_of(plan: RunPlan) -> list[Task]:
    """The run matrix in a stable order: prompt, model, case, sample."""
    return [
        Task(case, prompt, model, sample)
        for prompt in plan.prompts
        for model in plan.models
        for case in plan.cases
        for sample in range(plan.repeats)
    ]


async def answer(task: Task, plan: RunPlan, store: ReplayStore) -> tuple[LLMResponse, bool]:
    """The model's answer for a task and whether it came from the replay store."""
    request = task.request()
    if request.is_offline:
        return await complete(request, timeout_s=plan.timeout_s), False
    if plan.mode in ("replay", "auto"):
        recording = store.load(request)
        if recording is not None:
            return recording.as_response(), True
        if plan.mode == "replay":
            raise MissingRecording(task)
    response = await complete(request, api_base=plan.api_base, timeout_s=plan.timeout_s)
    if plan.mode in ("record", "auto"):
        store.save(request, response, labels={"case_id": task.case.id, "prompt_id": task.prompt.id, "prompt_hash": task.prompt.hash})
    return response, False


def build_row(task: Task, plan: RunPlan, response: LLMResponse | None, cached: bool, error: LLMError | None) -> ResultRow:
    """Check an answer and turn it into a result row (an error row when there is no answer)."""
    identity = dict(case_id=task.case.id, prompt_id=task.prompt.id, prompt_hash=task.prompt.hash, model=task.model, sample=task.sample)
    if error is not None or response is None:
        kind, message = (error.kind, error.message) if error else ("error", "no response")
        return ResultRow(**identity, error=RowError(type=kind, message=message))
    parsed = parse_output(response.text)
    return ResultRow(
        **identity,
        output=response.text,
        checks={name: result.as_json() for name, result in run_checks(parsed, task.prompt.spec, plan.checks).items()},
        paragraph_word_counts=parsed.paragraph_word_counts,
        usage=Usage(input_tokens=response.input_tokens, output_tokens=response.output_tokens),
        cost_usd=response.cost_usd,
        latency_s=response.latency_s,
        cached=cached,
        finish_reason=response.finish_reason,
        truncated=response.finish_reason == "length",
    )


async def execute(plan: RunPlan, tasks: list[Task], store: ReplayStore, on_row: Callable[[ResultRow], None]) -> None:
    """Run tasks with at most ``plan.concurrency`` in flight, handing each row over as it finishes."""
    limit = asyncio.Semaphore(plan.concurrency)

    async def one(task: Task) -> ResultRow:
        async with limit:
            try:
                response, cached = await answer(task, plan, store)
                return build_row(task, plan, response, cached, None)
            except LLMError as error:
                return build_row(task, plan, None, False, error)

    for finished in asyncio.as_completed([one(task) for task in tasks]):
        on_row(await finished)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def harness_version() -> str:
    try:
        return version("harness")
    except PackageNotFoundError:
        return "unknown"


def new_run_dir(runs_dir: Path, label: str = "") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return runs_dir / f"{stamp}-{label + '-' if label else ''}{secrets.token_hex(3)}"


def run(plan: RunPlan, out_dir: Path, store: ReplayStore, root: Path, on_row: Callable[[ResultRow], None] | None = None,
        tasks: list[Task] | None = None) -> list[ResultRow]:
    """Execute a plan (or an explicit task list drawn from it) into ``out_dir`` and return its rows."""
    tasks = tasks_of(plan) if tasks is None else tasks
    manifest = Manifest(
        run_id=out_dir.name,
        harness_version=harness_version(),
        git_commit=_git_commit(root),
        started_at=_now(),
        mode=plan.mode,
        prompts=[PromptEntry(id=p.id, hash=p.hash, parameters=p.parameters) for p in plan.prompts],
        models=list(plan.models),
        cases=[case.id for case in plan.cases],
        dataset_hash=dataset_hash(plan.cases),
        checks=list(plan.checks),
        repeats=plan.repeats,
        rows_expected=len(tasks),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(out_dir, manifest)
    rows: list[ResultRow] = []
    with ResultsWriter(out_dir) as writer:

        def collect(row: ResultRow) -> None:
            writer.write(row)
            rows.append(row)
            if on_row:
                on_row(row)

        asyncio.run(execute(plan, tasks, store, collect))
    manifest.ended_at = _now()
    write_manifest(out_dir, manifest)
    order = {(t.case.id, t.prompt.id, t.model, t.sample): index for index, t in enumerate(tasks)}
    return sorted(rows, key=lambda row: order[row.key])
