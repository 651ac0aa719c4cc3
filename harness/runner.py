"""``harness run``: every (case, prompt, model, sample) rendered, answered, checked, written.

Data flows one way: dataset + prompt -> request -> (replay store | scheduler -> model) -> output
-> checks -> result row. A failure on one row is recorded on that row; the run goes on. Rows are
appended to ``results.jsonl`` as they finish, so an interrupted run can be resumed.
"""

from __future__ import annotations

import asyncio
import gc
import secrets
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness.checks import CheckedOutput, check_output
from harness.config import ReplayMode
from harness.dataset import Case, dataset_hash
from harness.llm import LLMError, LLMRequest, LLMResponse, complete
from harness.prompts import PromptVersion, SectionSpec
from harness.replay import ReplayStore
from harness.results import Manifest, PromptEntry, ResultRow, ResultsWriter, RowError, Usage, write_manifest
from harness.scheduler import CallStats, ModelLimit, RetryPolicy, Scheduler
from harness.workers import WorkerPool, workers_for


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: every count-th task of the matrix."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        from harness.errors import UsageError

        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise UsageError(f"--shard {text!r}: expected i/N, e.g. 2/4") from None
        if not 1 <= index <= count:
            raise UsageError(f"--shard {text!r}: i must be between 1 and N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


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
    model_limits: dict[str, ModelLimit] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_cost_usd: float | None = None
    shard: Shard = field(default_factory=Shard)
    judges: tuple[str, ...] = ()
    judge_model: str | None = None
    judge_api_base: str | None = None
    judge_repeats: int = 1
    judge_thresholds: dict[str, float] = field(default_factory=dict)
    processes: int | None = None
    """Processes that read recordings and check outputs in big runs; ``None``: one per usable
    CPU, 0 or 1: none (all in the run's process)."""


@dataclass(frozen=True)
class Task:
    case: Case
    prompt: PromptVersion
    model: str
    sample: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.case.id, self.prompt.id, self.model, self.sample)

    def request(self, messages: list[dict[str, str]] | None = None) -> LLMRequest:
        messages = self.prompt.render(self.case.research) if messages is None else messages
        return LLMRequest.build(self.model, messages, self.prompt.parameters, self.sample)

    def describe(self) -> str:
        return f"case {self.case.id}, prompt {self.prompt.id}, model {self.model}" + (f", sample {self.sample}" if self.sample else "")


class MissingRecording(LLMError):
    def __init__(self, task: Task):
        sample = f" --repeats {task.sample + 1}" if task.sample else ""
        command = f"harness run --prompt {task.prompt.id} --model {task.model} --case {task.case.id}{sample} --mode record"
        super().__init__("missing_recording", f"no recording for {task.describe()}; record it with: {command}")


def tasks_of(plan: RunPlan) -> list[Task]:
    """This shard's part of the run matrix, in a stable order: prompt, model, case, sample."""
    matrix = [
        Task(case, prompt, model, sample)
        for prompt in plan.prompts
        for model in plan.models
        for case in plan.cases
        for sample in range(plan.repeats)
    ]
    return [task for index, task in enumerate(matrix) if index % plan.shard.count == plan.shard.index - 1]


@dataclass
class Execution:
    """One run's live state: the scheduler, the replay store, and the cost spent so far."""

    plan: RunPlan
    store: ReplayStore
    scheduler: Scheduler
    judging: Any = None
    workers: WorkerPool = field(default_factory=WorkerPool)
    _rendered: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    _requests: dict[tuple[str, str, str], LLMRequest] = field(default_factory=dict)

    def request_for(self, task: Task) -> LLMRequest:
        """The task's request; models of one (prompt, case) share one rendering, and samples one request."""
        key = (task.prompt.id, task.case.id, task.model)
        request = self._requests.get(key)
        if request is None:
            if len(self._requests) >= 256:
                self._requests.clear()
                self._rendered.clear()
            rendered = self._rendered.get(key[:2])
            if rendered is None:
                rendered = self._rendered[key[:2]] = task.prompt.render(task.case.research)
            request = self._requests[key] = task.request(rendered)
        if request.sample == task.sample:
            return request
        # What dataclasses.replace builds, without its field-by-field introspection (~4 us a row).
        return LLMRequest(request.model, request.messages, request.parameters, task.sample)

    @classmethod
    def start(cls, plan: RunPlan, store: ReplayStore, stats: CallStats | None = None, rows: int = 0) -> Execution:
        """The state of a run of ``rows`` tasks: with worker processes when there are enough rows."""
        async def caller(request: LLMRequest) -> LLMResponse:
            api_base = None if request.is_offline else plan.api_base
            if plan.judge_model and request.model == plan.judge_model and plan.judge_api_base:
                api_base = plan.judge_api_base
            return await complete(request, api_base=api_base, timeout_s=plan.timeout_s)

        scheduler = Scheduler(caller, plan.concurrency, plan.model_limits, plan.retry, stats=stats or CallStats(),
                              max_cost_usd=plan.max_cost_usd)
        # Worker processes pay off only where rows come faster than one core checks them: replays.
        replayable = rows if plan.mode in ("replay", "auto") else 0
        execution = cls(plan, store, scheduler, workers=WorkerPool(workers_for(plan.processes, replayable)))
        if plan.judges:
            from harness.judges import DEFAULT_THRESHOLDS, Judging

            execution.judging = Judging(plan.judge_model, execution.judge_call, plan.judges,
                                        {**DEFAULT_THRESHOLDS, **plan.judge_thresholds}, plan.judge_repeats)
        return execution

    @property
    def stats(self) -> CallStats:
        return self.scheduler.stats

    async def _recorded(self, request: LLMRequest, spec: SectionSpec | None) -> Answer | None:
        """The recorded answer to ``request``, ``None`` when there is none.

        With a spec and worker processes, a worker reads the recording and checks it; otherwise
        it is read here and left unchecked."""
        if spec is not None and self.workers.active:
            return await self.workers.run(replay_checked, self.store, request, spec, self.plan.checks)
        recording = self.store.load(request)
        return None if recording is None else Answer(recording.as_response(), cached=True)

    async def _through_store(self, request: LLMRequest, labels: dict[str, str], missing: Callable[[], LLMError],
                             spec: SectionSpec | None = None) -> Answer:
        """Answer a request per the run's mode: from the replay store, or the scheduler (and record)."""
        if request.is_offline:
            return Answer(await self.scheduler.call(request), cached=False)
        if self.plan.mode in ("replay", "auto"):
            recorded = await self._recorded(request, spec)
            if recorded is not None:
                return recorded
            if self.plan.mode == "replay":
                raise missing()
        response = await self.scheduler.call(request)
        if self.plan.mode in ("record", "auto"):
            self.store.save(request, response, labels=labels)
        return Answer(response, cached=False)

    async def answer(self, task: Task) -> Answer:
        """The model's answer for a task, whether it came from the replay store, and maybe its checks."""
        labels = {"case_id": task.case.id, "prompt_id": task.prompt.id, "prompt_hash": task.prompt.hash}
        return await self._through_store(self.request_for(task), labels, lambda: MissingRecording(task), task.prompt.spec)

    async def judge_call(self, request: LLMRequest) -> LLMResponse:
        """One judge call, recorded and replayed like any call."""
        def missing() -> LLMError:
            return LLMError("missing_recording", f"no recording of a judge call to {request.model}; record judge verdicts with --mode record or auto")

        return (await self._through_store(request, {"role": "judge"}, missing)).response

    async def row(self, task: Task) -> ResultRow:
        try:
            answer = await self.answer(task)
        except LLMError as error:
            return error_row(task, error)
        response, checked = answer.response, answer.checked
        if checked is None:
            checked = await self.workers.run(check_output, response.text, task.prompt.spec, self.plan.checks)
        row = answered_row(task, response, answer.cached, checked)
        if self.judging is not None:
            row.judges = await self.judging.score(task.case.research, response.text, task.prompt.spec)
        return row


@dataclass(frozen=True)
class Answer:
    """A model's answer to a task: from the replay store (``cached``) or a call; checked when a
    worker process already ran the checks."""

    response: LLMResponse
    cached: bool
    checked: CheckedOutput | None = None


def replay_checked(store: ReplayStore, request: LLMRequest, spec: SectionSpec, checks: tuple[str, ...]) -> Answer | None:
    """A recorded answer read and checked: what a worker process does. ``None`` when not recorded.

    A batch of requests pickles each shared prompt string once, so sending requests is cheap."""
    recording = store.load(request)
    if recording is None:
        return None
    response = recording.as_response()
    return Answer(response, cached=True, checked=check_output(response.text, spec, checks))


def _identity(task: Task) -> dict[str, Any]:
    return dict(case_id=task.case.id, prompt_id=task.prompt.id, prompt_hash=task.prompt.hash, model=task.model, sample=task.sample)


def error_row(task: Task, error: LLMError) -> ResultRow:
    """The row of a task that got no answer."""
    return ResultRow(**_identity(task), error=RowError(type=error.kind, message=error.message))


def answered_row(task: Task, response: LLMResponse, cached: bool, checked: CheckedOutput) -> ResultRow:
    """The row of a task's answer and its checks."""
    return ResultRow(
        **_identity(task),
        output=response.text,
        checks=checked.checks,
        paragraph_word_counts=checked.paragraph_word_counts,
        usage=Usage(input_tokens=response.input_tokens, output_tokens=response.output_tokens),
        cost_usd=response.cost_usd,
        latency_s=response.latency_s,
        cached=cached,
        finish_reason=response.finish_reason,
        truncated=response.finish_reason == "length",
    )


async def execute(execution: Execution, tasks: list[Task], on_row: Callable[[ResultRow], None]) -> None:
    """Run tasks through the scheduler, handing each row over as it finishes.

    Tasks are started in matrix order as slots free up, so a cancelled run leaves a prefix done."""
    queue = iter(tasks)
    # More workers than slots, so slots stay busy while finished rows are being checked, and
    # enough rows waiting on worker processes to keep each of them busy.
    workers = max(1, min(len(tasks), max(execution.plan.concurrency * 4, execution.workers.in_flight_wanted)))

    async def worker() -> None:
        for task in queue:
            on_row(await execution.row(task))

    await asyncio.gather(*(worker() for _ in range(workers)))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def harness_version() -> str:
    try:
        return version("harness")
    except PackageNotFoundError:
        return "unknown"


def new_run_dir(runs_dir: Path, label: str = "") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return runs_dir / f"{stamp}-{label + '-' if label else ''}{secrets.token_hex(3)}"


def manifest_for(plan: RunPlan, out_dir: Path, root: Path, rows_expected: int) -> Manifest:
    return Manifest(
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
        judges=list(plan.judges),
        judge_model=plan.judge_model,
        repeats=plan.repeats,
        shard=str(plan.shard) if plan.shard.count > 1 else None,
        api_base=plan.api_base,
        rows_expected=rows_expected,
    )


def run(plan: RunPlan, out_dir: Path, store: ReplayStore, root: Path, on_row: Callable[[ResultRow], None] | None = None,
        tasks: list[Task] | None = None, manifest: Manifest | None = None, stats: CallStats | None = None) -> tuple[list[ResultRow], CallStats]:
    """Execute ``tasks`` (default: the plan's matrix) into ``out_dir``; return the new rows and call stats.

    With ``manifest`` (a resume), the existing manifest is kept and rows are appended."""
    tasks = tasks_of(plan) if tasks is None else tasks
    manifest = manifest or manifest_for(plan, out_dir, root, len(tasks))
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest.ended_at = None
    write_manifest(out_dir, manifest)
    rows: list[ResultRow] = []
    with live_objects_left_out_of_collections():
        execution = Execution.start(plan, store, stats, rows=len(tasks))
        with ResultsWriter(out_dir) as writer:
            flush_scheduled = False

            def flush() -> None:
                nonlocal flush_scheduled
                flush_scheduled = False
                writer.flush()

            def collect(row: ResultRow) -> None:
                nonlocal flush_scheduled
                # Rows finishing in one turn of the event loop (a worker's batch) share one
                # write to the file, at the end of that turn: ~20 us less per row than one each.
                writer.write(row)
                if not flush_scheduled:
                    flush_scheduled = True
                    asyncio.get_running_loop().call_soon(flush)
                rows.append(row)
                if on_row:
                    on_row(row)

            try:
                asyncio.run(execute(execution, tasks, collect))
            finally:
                execution.workers.close()
                manifest.ended_at = _now()
                write_manifest(out_dir, manifest)
    order = {task.key: index for index, task in enumerate(tasks)}
    return sorted(rows, key=lambda row: order.get(row.key, len(order))), execution.stats


FULL_COLLECTION_THRESHOLD = 1000
"""Young-generation collections between two full ones while a run executes (Python's default: 10)."""


@contextmanager
def live_objects_left_out_of_collections() -> Iterator[None]:
    """Spare the garbage collector from re-walking objects that stay alive while the block runs.

    Objects alive when the block starts are frozen (left out of collections) until it ends: once
    litellm is imported (any live run) they are ~400,000, and a full collection walking them
    takes ~0.25 s here. Worker processes forked meanwhile inherit that, as Python's documentation
    advises for fork. The run's rows stay alive until it returns, so full collections, which
    walked them again and again, run 100 times less often. Young collections, which free the
    checks' parse trees, go on as usual.

    The block ends with one full collection, made before the frozen objects rejoin the collector:
    it walks what the block made, not the heap it started with (otherwise the first collection
    after the block walks both: ~0.11 s instead of ~0.05 after a 10,000-row replay, more once
    litellm is imported), and leaves nothing pending that would trigger another soon."""
    young, middle, full = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, middle, max(full, FULL_COLLECTION_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)
        gc.collect()
        gc.unfreeze()


def pending_tasks(plan: RunPlan, existing: list[ResultRow]) -> list[Task]:
    """The tasks of ``plan`` that ``existing`` rows have not answered (missing or errored)."""
    answered = {row.key for row in existing if row.error is None}
    return [task for task in tasks_of(plan) if task.key not in answered]
