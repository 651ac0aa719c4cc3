"""Worker processes for big replayed runs: same rows as one process, errors where they belong."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from tests_support import REPO, result_set, run_cli, start_cli, wait_for_rows

from harness import workers
from harness.dataset import load_dataset
from harness.errors import InputError
from harness.llm import LLMResponse
from harness.prompts import load_prompts
from harness.replay import ReplayStore
from harness.runner import Execution, RunPlan, Task, execute, run
from harness.workers import WorkerPool, workers_for

CHECKS = ("only_p_tags", "no_headings", "section_count", "word_budgets")


class Raised:
    """What a call raised, told apart from a call that returned an exception."""

    def __init__(self, error: Exception):
        self.error = error


def _gather(pool: WorkerPool, *calls) -> list:
    async def one(function, *arguments):
        try:
            return await pool.run(function, *arguments)
        except Exception as error:
            return Raised(error)

    async def all_of() -> list:
        try:
            return await asyncio.gather(*(one(*call) for call in calls))
        finally:
            pool.close()

    return asyncio.run(all_of())


def _exit_in_worker(parent: int) -> str:
    """Kills a worker process; in the parent (after the pool broke) it returns normally."""
    if os.getpid() != parent:
        os._exit(1)
    return "ran in the parent"


def test_calls_run_in_other_processes_and_each_caller_gets_its_own_result():
    results = _gather(WorkerPool(2), *[(os.getpid,)] * 40, *[(int, str(number)) for number in range(40)], (int, "not a number"))
    pids, numbers, failure = results[:40], results[40:80], results[80]
    assert os.getpid() not in pids and all(isinstance(pid, int) for pid in pids)
    assert numbers == list(range(40)), "results reach the callers that asked for them, batched or not"
    assert isinstance(failure, Raised) and isinstance(failure.error, ValueError), "a call's exception is raised in its caller only"
    assert "not a number" in str(failure.error)


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_workers_run_at_a_lower_priority_than_the_run(monkeypatch, method):
    # The run's process feeds the workers and writes the rows: it must get a core first.
    monkeypatch.setattr(workers, "_start_method", lambda: method)
    niceness = _gather(WorkerPool(2), *[(os.nice, 0)] * 8)
    assert set(niceness) == {min(19, os.nice(0) + workers.WORKER_NICENESS)}, niceness


def _slow_abs(number: int) -> int:
    time.sleep(0.002)
    return abs(number)


def test_a_pool_that_breaks_finishes_the_work_in_the_run_process():
    pool = WorkerPool(2, batch_size=16)
    # Many batches: when a worker dies, some are running, some queued, some not yet sent.
    calls = [(_slow_abs, -number) for number in range(300)]
    results = _gather(pool, *calls[:100], (_exit_in_worker, os.getpid()), *calls[100:])
    assert results[100] == "ran in the parent"
    assert results[:100] + results[101:] == list(range(300))
    assert not pool.active


def test_workers_start_from_a_fork_server_when_other_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert workers._start_method() == "forkserver"
        pids = _gather(WorkerPool(2), *[(os.getpid,)] * 4)
    finally:
        stop.set()
        thread.join()
    assert os.getpid() not in pids and all(isinstance(pid, int) for pid in pids)


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_workers_survive_ctrl_c_which_the_run_handles(monkeypatch, method):
    monkeypatch.setattr(workers, "_start_method", lambda: method)
    pool = WorkerPool(2)

    async def interrupted() -> tuple[set, set, bool]:
        try:
            before = set(await asyncio.gather(*(pool.run(os.getpid) for _ in range(64))))
            for pid in before:
                os.kill(pid, signal.SIGINT)
            await asyncio.sleep(0.3)
            after = set(await asyncio.gather(*(pool.run(os.getpid) for _ in range(64))))
            return before, after, pool.active
        finally:
            pool.close()

    before, after, still_active = asyncio.run(interrupted())
    assert os.getpid() not in before
    assert still_active and os.getpid() not in after, "a worker killed by Ctrl-C would break the pool"


def test_only_big_runs_get_workers(monkeypatch):
    monkeypatch.setattr(workers, "usable_cpus", lambda: 4)
    assert workers_for(None, workers.MIN_ROWS_FOR_WORKERS) == 4
    assert workers_for(None, workers.MIN_ROWS_FOR_WORKERS - 1) == 0
    assert workers_for(3, 10_000) == 3
    assert workers_for(1, 10_000) == 0 and workers_for(0, 10_000) == 0
    assert WorkerPool(1).active is False


@pytest.mark.parametrize(("mode", "expected"), [("replay", True), ("auto", True), ("record", False), ("live", False)])
def test_only_runs_that_replay_start_workers(tmp_path, mode, expected):
    # Live answers arrive far slower than one core checks them: workers would only cost start-up.
    plan = RunPlan(prompts=(), models=(), cases=(), checks=CHECKS, mode=mode, processes=2)
    execution = Execution.start(plan, ReplayStore(tmp_path), rows=workers.MIN_ROWS_FOR_WORKERS)
    try:
        assert execution.workers.active is expected
    finally:
        execution.workers.close()


def _record(store: ReplayStore, tasks: list[Task]) -> None:
    """Record one real output per task, in turn: the trace's and every non-empty output fixture."""
    outputs = [(REPO / "examples/llmops-vs-mlops.trace-output.html").read_text(encoding="utf-8")]
    outputs += [path.read_text(encoding="utf-8") for path in sorted((REPO / "tests/fixtures/outputs").glob("*.html"))]
    outputs = [text for text in outputs if text.strip()]
    for index, task in enumerate(tasks):
        store.save(task.request(), LLMResponse(outputs[index % len(outputs)], 10, 20, 0.001, 1.5, "stop"),
                   recorded_at="2026-01-01T00:00:00Z")


def _recorded_plan(root: Path, processes: int | None, repeats: int = 6) -> tuple[RunPlan, list[Task], ReplayStore]:
    """A replay plan over two prompts and three cases, every task but the last recorded."""
    prompts = tuple(load_prompts(REPO / "prompts"))
    cases = tuple(load_dataset(REPO / "datasets/research"))[:3]
    plan = RunPlan(prompts=prompts, models=("openai/recorded",), cases=cases, checks=CHECKS, mode="replay",
                   repeats=repeats, processes=processes)
    tasks = [Task(case, prompt, "openai/recorded", sample) for prompt in prompts for case in cases for sample in range(repeats)]
    store = ReplayStore(root / "recordings")
    _record(store, tasks[:-1])
    return plan, tasks, store


def _rows_in_workers(plan: RunPlan, tasks: list[Task], store: ReplayStore) -> tuple[list, int]:
    """The rows of ``tasks``, and how many calls went to worker processes (0 if the pool broke)."""
    async def rows_of() -> tuple[list, int]:
        execution = Execution.start(plan, store, rows=len(tasks))
        rows: list = []
        try:
            await execute(execution, tasks, rows.append)
            return rows, execution.workers.calls_sent if execution.workers.active else 0
        finally:
            execution.workers.close()

    return asyncio.run(rows_of())


def test_a_replayed_run_in_worker_processes_writes_the_rows_one_process_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "MIN_ROWS_FOR_WORKERS", 10)
    plan, tasks, store = _recorded_plan(tmp_path, processes=2)
    in_workers, calls_in_workers = _rows_in_workers(plan, tasks, store)
    assert calls_in_workers == len(tasks), "every row went through a worker"
    one_process, _ = run(RunPlan(**{**plan.__dict__, "processes": 0}), tmp_path / "run", store, REPO, tasks=tasks)
    by_key = {row.key: row.model_dump() for row in in_workers}
    assert by_key == {row.key: row.model_dump() for row in one_process}
    assert len(by_key) == len(tasks)
    missing = by_key[tasks[-1].key]
    assert missing["error"]["type"] == "missing_recording" and missing["output"] is None
    verdicts = {name for row in by_key.values() if not row["error"] for name, check in row["checks"].items() if not check["passed"]}
    assert verdicts == set(CHECKS), "the outputs fail every check somewhere, so the comparison covers every verdict"


@pytest.mark.parametrize("processes", [0, 2])
def test_a_corrupt_recording_stops_the_run_naming_the_file_with_or_without_workers(tmp_path, monkeypatch, processes):
    monkeypatch.setattr(workers, "MIN_ROWS_FOR_WORKERS", 10)
    plan, tasks, store = _recorded_plan(tmp_path, processes=processes, repeats=2)
    broken = store.path_for(tasks[3].request())
    broken.write_text(broken.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    with pytest.raises(InputError, match=f"{broken}: corrupt recording"):
        _rows_in_workers(plan, tasks, store)


def test_ctrl_c_in_a_replay_with_workers_keeps_rows_and_resumes_to_the_same_result(project):
    # 3,000 rows: enough for the CLI to start workers (threshold 1,000) and to be cut half-way.
    prompts, cases = load_prompts(project / "prompts"), load_dataset(project / "datasets/research")
    repeats = -(-3000 // (len(prompts) * len(cases)))
    tasks = [Task(case, prompt, "openai/recorded", sample) for prompt in prompts for case in cases for sample in range(repeats)]
    _record(ReplayStore(project / "recordings"), tasks)
    args = ["-m", "openai/recorded", "--mode", "replay", "--repeats", str(repeats), "--processes", "2"]
    whole = run_cli("run", *args, "--out", str(project / "runs/whole"), cwd=project)
    assert whole.returncode == 0, whole.stderr
    cut = project / "runs/cut"
    process = start_cli("run", *args, "--out", str(cut), cwd=project)
    wait_for_rows(cut / "results.jsonl", 50)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, "workers ignore Ctrl-C; the run reports it once"
    assert 50 <= len(result_set(cut)) < len(tasks)
    resumed = run_cli("run", "--resume", str(cut), cwd=project)
    assert resumed.returncode == 0, resumed.stderr
    assert result_set(cut) == result_set(project / "runs/whole")


def test_a_run_leaves_live_objects_out_of_collections_and_restores_the_collector(tmp_path, monkeypatch):
    import gc

    from harness import runner

    monkeypatch.setattr(workers, "MIN_ROWS_FOR_WORKERS", 10)
    plan, tasks, store = _recorded_plan(tmp_path, processes=2, repeats=2)
    before = gc.get_threshold(), gc.get_freeze_count()
    during = []
    run(plan, tmp_path / "run", store, REPO, tasks=tasks, on_row=lambda row: during.append((gc.get_threshold(), gc.get_freeze_count())))
    assert len(during) == len(tasks)
    assert all(threshold[2] >= runner.FULL_COLLECTION_THRESHOLD and frozen > before[1] for threshold, frozen in during)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    broken = store.path_for(tasks[1].request())
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InputError):
        run(plan, tmp_path / "failed", store, REPO, tasks=tasks)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before, "restored when the run fails too"


def test_a_run_ends_with_one_full_collection_that_leaves_the_heap_it_started_with_alone(tmp_path, monkeypatch):
    # The objects alive before the run rejoin the collector only after the run's own objects were
    # collected once, so no full collection walks both.
    import gc

    monkeypatch.setattr(workers, "MIN_ROWS_FOR_WORKERS", 10)
    plan, tasks, store = _recorded_plan(tmp_path, processes=2, repeats=2)
    frozen_before = gc.get_freeze_count()
    full_collections = []

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections.append(gc.get_freeze_count())

    gc.callbacks.append(on_collection)
    try:
        run(plan, tmp_path / "run", store, REPO, tasks=tasks)
    finally:
        gc.callbacks.remove(on_collection)
    # one full collection while the run's starting heap is frozen, and none after it rejoins
    # (one before the run froze it, started by whatever the test process did, is not the run's)
    while_frozen = [frozen for frozen in full_collections if frozen > frozen_before]
    assert len(while_frozen) == 1 and full_collections[-1] > frozen_before, full_collections


def test_rows_finishing_in_one_turn_of_the_event_loop_share_one_write_made_before_the_next_turn(tmp_path, monkeypatch):
    from harness.results import ResultsWriter

    monkeypatch.setattr(workers, "MIN_ROWS_FOR_WORKERS", 10)
    plan, tasks, store = _recorded_plan(tmp_path, processes=2, repeats=8)
    flushes = []
    monkeypatch.setattr(ResultsWriter, "flush", lambda writer: (flushes.append(1), writer._stream.flush()))
    out = tmp_path / "run"
    on_disk_next_turn = []

    def after_this_turn(row) -> None:
        def look() -> None:
            lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
            on_disk_next_turn.append(any(f'"sample":{row.sample}' in line and row.case_id in line and row.prompt_id in line for line in lines))
        asyncio.get_running_loop().call_soon(look)

    rows, _ = run(plan, out, store, REPO, tasks=tasks, on_row=after_this_turn)
    assert len(rows) == len(tasks) and all(on_disk_next_turn) and len(on_disk_next_turn) == len(tasks)
    # workers answer in batches: their rows are written together
    assert 0 < len(flushes) <= len(tasks) // 4


def test_a_run_builds_each_task_the_request_the_task_alone_builds(tmp_path):
    # Samples share one built request and models one rendering: in any order, the request must
    # be exactly the one built from scratch.
    import random

    prompts = tuple(load_prompts(REPO / "prompts"))
    cases = tuple(load_dataset(REPO / "datasets/research"))[:3]
    plan = RunPlan(prompts=prompts, models=("openai/a", "openai/b"), cases=cases, checks=CHECKS, mode="replay", repeats=3)
    tasks = [Task(case, prompt, model, sample) for prompt in prompts for model in plan.models for case in cases for sample in (2, 0, 1)]
    random.Random(7).shuffle(tasks)
    execution = Execution.start(plan, ReplayStore(tmp_path))
    for task in tasks:
        assert execution.request_for(task) == task.request(), task.describe()
