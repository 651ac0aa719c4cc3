"""The scheduler against a loopback server: limits, retries, Retry-After, de-duplication, budgets."""

from __future__ import annotations

import asyncio
import time

import pytest
from fakeserver import FakeOpenAI, Reply

from harness.llm import LLMError, LLMRequest, complete
from harness.replay import replay_key
from harness.scheduler import ModelLimit, RateBudget, RetryPolicy, Scheduler

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
