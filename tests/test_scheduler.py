"""The scheduler against a loopback server: limits, retries, Retry-After, de-duplication, budgets."""

from __future__ import annotations

import asyncio
import time

import pytest
from fakeserver import FakeOpenAI, Reply

from harness.llm import LLMError, LLMRequest, LLMResponse, complete
from harness.replay import replay_key
from harness.scheduler import LaunchPacer, ModelLimit, RateBudget, RetryPolicy, Scheduler

FAST_RETRY = RetryPolicy(max_attempts=4, max_total_wait_s=30, initial_backoff_s=0.05, max_backoff_s=0.2, jitter_s=0.01)


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-scheduler-000000")


def _request(i: int, model: str = "openai/test-model") -> LLMRequest:
    return LLMRequest.build(model, [{"role": "user", "content": f"request {i}"}])


def _scheduler(server: FakeOpenAI, **kwargs) -> Scheduler:
    async def caller(request):
        return await complete(request, api_base=server.base_url, timeout_s=10)

    kwargs.setdefault("retry", FAST_RETRY)
    return Scheduler(caller, key=replay_key, **kwargs)


async def _all(scheduler: Scheduler, requests):
    return await asyncio.gather(*(scheduler.call(r) for r in requests), return_exceptions=True)


def test_global_concurrency_limit_is_never_exceeded_and_is_used():
    with FakeOpenAI(latency_s=0.05) as server:
        scheduler = _scheduler(server, concurrency=8)
        results = asyncio.run(_all(scheduler, [_request(i) for i in range(80)]))
    assert all(not isinstance(r, Exception) for r in results)
    assert len(server.requests) == 80
    assert server.peak_in_flight == 8
    assert scheduler.stats.peak_in_flight == 8


def test_per_model_limit():
    with FakeOpenAI(latency_s=0.05) as server:
        scheduler = _scheduler(server, concurrency=16, model_limits={"openai/slow": ModelLimit(concurrency=2)})
        asyncio.run(_all(scheduler, [_request(i, "openai/slow") for i in range(12)]))
    assert server.peak_in_flight == 2


def test_retry_after_is_honoured():
    replies = iter([Reply(status=429, headers={"retry-after": "1"}), Reply(content="<p>ok</p>")])
    with FakeOpenAI(lambda i, body: next(replies)) as server:
        scheduler = _scheduler(server)
        [response] = asyncio.run(_all(scheduler, [_request(0)]))
    assert response.text == "<p>ok</p>"
    first, second = server.arrivals
    assert second - first >= 1.0
    assert scheduler.stats.retries == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_permanent_errors_are_not_retried(status):
    with FakeOpenAI(lambda i, body: Reply(status=status)) as server:
        [error] = asyncio.run(_all(_scheduler(server), [_request(0)]))
    assert isinstance(error, LLMError) and not error.retryable
    assert len(server.requests) == 1


def test_transient_errors_are_retried_up_to_the_cap_with_growing_backoff():
    with FakeOpenAI(lambda i, body: Reply(status=503)) as server:
        scheduler = _scheduler(server)
        [error] = asyncio.run(_all(scheduler, [_request(0)]))
    assert isinstance(error, LLMError) and error.kind == "server"
    assert len(server.requests) == FAST_RETRY.max_attempts
    gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:])]
    assert all(gap >= 0.04 for gap in gaps)
    assert scheduler.stats.errors == 1


def test_total_wait_cap_stops_before_a_long_retry_after():
    policy = RetryPolicy(max_attempts=5, max_total_wait_s=2, initial_backoff_s=0.01, max_backoff_s=0.01, jitter_s=0)
    with FakeOpenAI(lambda i, body: Reply(status=429, headers={"retry-after": "30"})) as server:
        started = time.monotonic()
        [error] = asyncio.run(_all(_scheduler(server, retry=policy), [_request(0)]))
    assert isinstance(error, LLMError) and error.kind == "rate_limit"
    assert time.monotonic() - started < 5
    assert len(server.requests) == 1


def test_identical_requests_in_flight_are_sent_once():
    with FakeOpenAI(latency_s=0.2) as server:
        scheduler = _scheduler(server, concurrency=4)
        results = asyncio.run(_all(scheduler, [_request(0), _request(0), _request(0), _request(1)]))
    assert len(server.requests) == 2
    assert results[0] is results[1] is results[2]
    assert scheduler.stats.deduplicated == 2


def test_rate_budget_paces_requests():
    async def acquire_five():
        budget = RateBudget(per_minute=240)  # 4 per second, burst 4
        started = time.monotonic()
        for _ in range(8):
            await budget.acquire()
        return time.monotonic() - started

    assert asyncio.run(acquire_five()) >= 0.9


def test_rpm_limit_through_the_scheduler():
    with FakeOpenAI() as server:
        scheduler = _scheduler(server, model_limits={"openai/test-model": ModelLimit(rpm=300)})  # 5/s
        asyncio.run(_all(scheduler, [_request(i) for i in range(10)]))
    assert server.arrivals[-1] - server.arrivals[0] >= 0.9


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_launch_pacer_measures_the_cpu_cost_per_call_and_caps_it():
    cpu = _FakeClock()
    pacer = LaunchPacer(window=4, max_gap_s=0.02, cpu_clock=cpu)
    asyncio.run(pacer.wait())  # the first launch starts the first measurement window
    for _ in range(3):
        pacer.completed()
    assert pacer.gap_s == 0.0  # nothing measured before a whole window has completed
    cpu.now = 0.020
    pacer.completed()
    assert pacer.gap_s == pytest.approx(0.005)
    cpu.now = 1.0
    for _ in range(4):
        pacer.completed()
    assert pacer.gap_s == 0.02


def test_launch_pacer_spaces_concurrent_launches_one_gap_apart():
    cpu = _FakeClock()
    pacer = LaunchPacer(window=1, cpu_clock=cpu)
    asyncio.run(pacer.wait())
    cpu.now = 0.01
    pacer.completed()
    assert pacer.gap_s == pytest.approx(0.01)

    async def launch_six() -> list[float]:
        launched: list[float] = []

        async def launch() -> None:
            await pacer.wait()
            launched.append(time.monotonic())

        await asyncio.gather(*(launch() for _ in range(6)))
        return launched

    started = time.monotonic()
    launched = asyncio.run(launch_six())
    # Launch k is due k gaps after the first (a busy loop may run two due launches back to back,
    # so the schedule is checked, not the distance between neighbours); timers never fire early
    # by more than a clock tick.
    for k, at in enumerate(sorted(launched)):
        assert at - started >= k * 0.01 - 0.001, (k, at - started)


def test_offline_calls_are_not_paced():
    async def answer(request):
        return LLMResponse(text="<p>offline</p>", input_tokens=1, output_tokens=1, cost_usd=0.0, latency_s=0.0, finish_reason="stop")

    stalling = LaunchPacer()
    stalling.gap_s = 10.0  # would hold every paced launch after the first for 10 s more
    scheduler = Scheduler(answer, concurrency=4, pacer=stalling)
    started = time.monotonic()
    asyncio.run(_all(scheduler, [LLMRequest.build("offline/extractive", [{"role": "user", "content": str(i)}]) for i in range(8)]))
    assert time.monotonic() - started < 5
