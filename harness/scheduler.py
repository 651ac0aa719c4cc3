"""One scheduler for every model call of a run: limits, rate budgets, retries, de-duplication.

- a global in-flight limit and optional per-model limits (slots are held only while a request
  is on the wire, never while backing off);
- optional requests-per-minute and tokens-per-minute budgets per model;
- transient errors (429, 5xx, connection, timeout) retried by tenacity with exponential backoff
  and jitter, never sooner than a ``Retry-After`` asks, capped in attempts and total wait;
  permanent errors (400, 401, 403, 404, content filter, empty answer) fail at once;
- identical requests in flight at the same moment are sent once and share the answer;
- launches are spaced by the event loop's measured CPU cost per call (``LaunchPacer``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, stop_before_delay, wait_exponential_jitter

from harness.llm import LLMError, LLMRequest, LLMResponse

NOT_SCHEDULED = "not_scheduled"


class ModelLimit(BaseModel):
    """Per-model limits from ``[tool.harness.model_limits."<model>"]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int | None = Field(default=None, ge=1)
    rpm: float | None = Field(default=None, gt=0, description="requests per minute")
    tpm: float | None = Field(default=None, gt=0, description="tokens per minute (input estimate + max_tokens)")


class RetryPolicy(BaseModel):
    """How transient errors are retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=6, ge=1)
    max_total_wait_s: float = Field(default=300.0, ge=0)
    initial_backoff_s: float = Field(default=1.0, ge=0)
    max_backoff_s: float = Field(default=60.0, ge=0)
    jitter_s: float = Field(default=1.0, ge=0)


class RateBudget:
    """A continuously refilling budget of ``per_minute`` units (requests or tokens), FIFO."""

    def __init__(self, per_minute: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate_per_s = per_minute / 60.0
        # A one-second burst by default: paced evenly rather than a minute's budget at once.
        self.capacity = burst if burst is not None else max(1.0, self.rate_per_s)
        self.available = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(amount, self.capacity)
        async with self._lock:
            while True:
                now = self._clock()
                self.available = min(self.capacity, self.available + (now - self._updated) * self.rate_per_s)
                self._updated = now
                if self.available >= amount:
                    self.available -= amount
                    return
                await asyncio.sleep((amount - self.available) / self.rate_per_s)


@dataclass
class CallStats:
    """Running totals the progress display and ``--max-cost`` read."""

    calls: int = 0
    retries: int = 0
    errors: int = 0
    deduplicated: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    in_flight: int = 0
    peak_in_flight: int = 0


class LaunchPacer:
    """Spaces call launches at least one event-loop CPU cost per call apart.

    Many calls launched together come back together when the server's latency is steady, and
    then every answer's processing (litellm's, the checks', the row's) shares the one event-loop
    core with all the others: each call of the wave waits for the whole wave, and the next wave
    leaves just as bunched. Launched one processing cost apart, answers arrive as the loop
    becomes free, and a call costs the server's latency plus its own processing only. The cost
    is measured, not guessed: the loop thread's CPU time over the last completed calls."""

    def __init__(self, window: int = 16, max_gap_s: float = 0.02,
                 cpu_clock: Callable[[], float] = time.thread_time, clock: Callable[[], float] = time.monotonic):
        self.gap_s = 0.0
        self._window = window
        self._max_gap_s = max_gap_s
        self._cpu_clock = cpu_clock
        self._clock = clock
        self._next_launch = 0.0
        self._completed = 0
        self._window_cpu_start: float | None = None

    async def wait(self) -> None:
        """Return when the next launch is due (at once when no spacing is needed)."""
        if self._window_cpu_start is None:
            self._window_cpu_start = self._cpu_clock()
        if self.gap_s <= 0.0:
            return
        now = self._clock()
        # The slot is reserved before sleeping, so concurrent waiters line up one gap apart.
        launch_at = max(now, self._next_launch)
        self._next_launch = launch_at + self.gap_s
        if launch_at > now:
            await asyncio.sleep(launch_at - now)

    def completed(self) -> None:
        """Count a finished call; every ``window`` calls, re-measure the CPU cost per call."""
        self._completed += 1
        if self._completed % self._window or self._window_cpu_start is None:
            return
        cpu_now = self._cpu_clock()
        self.gap_s = min(self._max_gap_s, (cpu_now - self._window_cpu_start) / self._window)
        self._window_cpu_start = cpu_now


@dataclass
class _ModelGate:
    slots: asyncio.Semaphore | None
    requests: RateBudget | None
    tokens: RateBudget | None


def estimated_tokens(request: LLMRequest) -> float:
    """A provider-independent token estimate for TPM budgets: ~4 characters per token."""
    characters = sum(len(content) for _, content in request.messages)
    return characters / 4 + float(request.parameter_dict.get("max_tokens") or 0)


Caller = Callable[[LLMRequest], Awaitable[LLMResponse]]


@dataclass
class Scheduler:
    """Sends requests with ``caller`` under the run's limits; see the module docstring."""

    caller: Caller
    concurrency: int = 16
    model_limits: dict[str, ModelLimit] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    stats: CallStats = field(default_factory=CallStats)
    max_cost_usd: float | None = None
    key: Callable[[LLMRequest], object] = lambda request: request
    """De-duplication key; the request itself (hashable, and its strings cache their hashes)."""
    pacer: LaunchPacer = field(default_factory=LaunchPacer)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)
        self._gates: dict[str, _ModelGate] = {}
        self._pending: dict[object, asyncio.Future[LLMResponse]] = {}
        self._backoff = wait_exponential_jitter(
            multiplier=self.retry.initial_backoff_s, max=self.retry.max_backoff_s, jitter=self.retry.jitter_s
        )

    def _gate(self, model: str) -> _ModelGate:
        if model not in self._gates:
            limit = self.model_limits.get(model, ModelLimit())
            self._gates[model] = _ModelGate(
                slots=asyncio.Semaphore(limit.concurrency) if limit.concurrency else None,
                requests=RateBudget(limit.rpm) if limit.rpm else None,
                tokens=RateBudget(limit.tpm) if limit.tpm else None,
            )
        return self._gates[model]

    async def call(self, request: LLMRequest) -> LLMResponse:
        """The answer to ``request``; joins an identical request already in flight."""
        key = self.key(request)
        pending = self._pending.get(key)
        if pending is not None:
            self.stats.deduplicated += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[LLMResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            response = await self._call_with_retries(request)
            future.set_result(response)
            return response
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: joiners re-raise it, nobody else must
            raise
        finally:
            del self._pending[key]

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after_s", None) or 0.0
        return max(backoff, retry_after)

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    async def _call_with_retries(self, request: LLMRequest) -> LLMResponse:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts) | stop_before_delay(self.retry.max_total_wait_s),
            wait=self._wait,
            retry=retry_if_exception(lambda error: isinstance(error, LLMError) and error.retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(request)
        except LLMError:
            self.stats.errors += 1
            raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(self, request: LLMRequest) -> LLMResponse:
        gate = self._gate(request.model)
        if gate.requests:
            await gate.requests.acquire()
        if gate.tokens:
            await gate.tokens.acquire(estimated_tokens(request))
        async with _maybe(gate.slots), self._slots:
            # Checked once a slot is ours, so calls queued behind the budget are never sent.
            if self.max_cost_usd is not None and self.stats.cost_usd >= self.max_cost_usd:
                raise LLMError(NOT_SCHEDULED, f"not run: --max-cost ${self.max_cost_usd:g} reached; resume the run to finish it")
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            self.stats.calls += 1
            # The offline model answers in-process, with no wave of answers to spread out.
            pacer = None if request.is_offline else self.pacer
            try:
                if pacer:
                    await pacer.wait()
                response = await self.caller(request)
            finally:
                self.stats.in_flight -= 1
                if pacer:
                    pacer.completed()
        self.stats.input_tokens += response.input_tokens or 0
        self.stats.output_tokens += response.output_tokens or 0
        self.stats.cost_usd += response.cost_usd or 0.0
        return response


class _NoLimit:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _maybe(semaphore: asyncio.Semaphore | None) -> asyncio.Semaphore | _NoLimit:
    return semaphore if semaphore is not None else _NoLimit()
