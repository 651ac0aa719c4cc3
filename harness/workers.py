"""CPU-bound row work in worker processes, so a big replayed run uses every core.

Reading a recording and parsing its HTML are most of a replayed row's cost, and both are
CPU-bound: one core replays ~1,850 rows/s. For a run with many rows, the event loop hands that
work to a process pool in batches (one round trip per batch, not per row) and goes on building
and writing rows while the workers read and check. The functions sent read nothing but their
arguments and the replay store, so a worker's result is the one the run would compute itself.

A pool that cannot start or breaks is not an error: the batch it was working on, and every one
after, runs in the run's own process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

Result = TypeVar("Result")

MIN_WORKERS = 2
"""Fewer is no pool: one worker would only add round trips to what one core does anyway."""

MIN_ROWS_FOR_WORKERS = 1000
"""Below this, starting workers costs more than they save."""

BATCH_SIZE = 64
"""Calls per round trip to a worker. Every round trip wakes threads of the run's process and a
worker; on 2 busy cores those wake-ups cost more than the pickling. Measured side by side in a
10,000-row replay: 16 per batch gave 7,000-7,800 rows/s, 32-96 gave 7,900-9,350."""


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity masks
        return os.cpu_count() or 1


def workers_for(configured: int | None, rows: int) -> int:
    """How many worker processes a run of ``rows`` rows gets; 0 means none.

    ``configured`` is the ``processes`` setting; ``None`` means one per usable CPU."""
    workers = usable_cpus() if configured is None else configured
    return workers if workers >= MIN_WORKERS and rows >= MIN_ROWS_FOR_WORKERS else 0


def _outcome(function: Callable[..., Any], arguments: tuple[Any, ...]) -> tuple[bool, Any]:
    """``(True, result)``, or ``(False, exception)`` when the call raised."""
    try:
        return True, function(*arguments)
    except Exception as error:
        return False, error


def _run_batch(function: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[tuple[bool, Any]]:
    return [_outcome(function, arguments) for arguments in calls]


WORKER_NICENESS = 5
"""How much lower than the run's process workers are scheduled (Unix niceness)."""


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group: the run handles it and shuts the pool down, so
    # workers need not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The run's process feeds every worker and writes every row: when there are fewer cores than
    # processes, it must not wait for a core behind its workers (measured: 5-10% more rows/s
    # on 2 cores). Workers take whatever CPU it leaves.
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)


def _start_method() -> str:
    # fork starts a worker in milliseconds, but is only safe while no other thread could hold a
    # lock the child inherits (and on macOS not even then: its system libraries break in forked
    # children); otherwise a fork server (~0.3 s to start) gives clean workers.
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class WorkerPool:
    """Runs functions for a run's rows: in ``workers`` processes when given at least ``MIN_WORKERS``, else here."""

    def __init__(self, workers: int = 0, batch_size: int = BATCH_SIZE):
        self.batch_size = batch_size
        self.workers = workers if workers >= MIN_WORKERS else 0
        self._executor: ProcessPoolExecutor | None = None
        self._waiting: dict[Callable[..., Any], list[tuple[tuple[Any, ...], asyncio.Future[Any]]]] = {}
        self._send_scheduled = False
        self.calls_sent = 0
        """Calls handed to worker processes so far (the rest ran in this process)."""
        if self.workers:
            context = multiprocessing.get_context(_start_method())
            if context.get_start_method() == "forkserver":
                context.set_forkserver_preload(["harness.runner"])
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker)

    @property
    def active(self) -> bool:
        """True while calls go to worker processes."""
        return self._executor is not None

    @property
    def in_flight_wanted(self) -> int:
        """Calls the run should keep waiting on so every worker always has a batch queued."""
        return self.workers * self.batch_size * 3 if self.active else 0

    async def run(self, function: Callable[..., Result], *arguments: Any) -> Result:
        """``function(*arguments)``, in a worker when the pool is active. ``function`` must be a
        module-level function, and its arguments and result picklable."""
        if self._executor is None:
            return function(*arguments)
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Result] = loop.create_future()
        waiting = self._waiting.setdefault(function, [])
        waiting.append((arguments, result))
        if len(waiting) >= self.batch_size:
            self._send(function)
        elif not self._send_scheduled:
            # Calls made in the same turn of the event loop travel together.
            self._send_scheduled = True
            loop.call_soon(self._send_all)
        return await result

    def _send_all(self) -> None:
        self._send_scheduled = False
        for function in list(self._waiting):
            self._send(function)

    def _send(self, function: Callable[..., Any]) -> None:
        batch = self._waiting.pop(function, [])
        if not batch:
            return
        calls = [arguments for arguments, _ in batch]
        results = [result for _, result in batch]
        if self._executor is None:
            self._run_here(function, calls, results)
            return
        try:
            done = asyncio.wrap_future(self._executor.submit(_run_batch, function, calls))
        except Exception:  # a broken or shut-down pool refuses new work
            self._run_here(function, calls, results)
            return
        self.calls_sent += len(calls)
        done.add_done_callback(lambda finished: self._deliver(finished, function, calls, results))

    def _deliver(self, finished: asyncio.Future[list[Any]], function: Callable[..., Any],
                 calls: list[tuple[Any, ...]], results: list[asyncio.Future[Any]]) -> None:
        if finished.cancelled() or finished.exception() is not None:
            # The pool broke, or was closed because it broke (which cancels the batches still
            # queued): either way these calls still need their results.
            self._run_here(function, calls, results)
        else:
            _settle(results, finished.result())

    def _run_here(self, function: Callable[..., Any], calls: list[tuple[Any, ...]], results: list[asyncio.Future[Any]]) -> None:
        """The pool broke: run the batch here, and stop using the pool."""
        self.close()
        _settle(results, _run_batch(function, calls))

    def close(self) -> None:
        """Stop the workers; batches not yet started are dropped (their rows are not written)."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=False, cancel_futures=True)


def _settle(results: list[asyncio.Future[Any]], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand each caller its result, or raise its call's exception in it."""
    for result, (succeeded, value) in zip(results, outcomes):
        if result.done():
            continue
        if succeeded:
            result.set_result(value)
        else:
            result.set_exception(value)
