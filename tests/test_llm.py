"""The one LLM client against a loopback OpenAI-compatible server (no other network)."""

from __future__ import annotations

import asyncio

import pytest
from fakeserver import FakeOpenAI, Reply

from harness.llm import LLMError, LLMRequest, complete, normalize_parameters, scrub_secrets

CANARY = "sk-canary-0123456789abcdef"


@pytest.fixture(autouse=True)
def canary_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)


def _request(**parameters) -> LLMRequest:
    return LLMRequest.build("openai/test-model", [{"role": "user", "content": "hi"}], parameters or {"temperature": 0.2})


def test_live_call_returns_text_usage_latency_and_finish_reason():
    with FakeOpenAI(lambda i, body: Reply(content="<p>answer</p>", usage=(12, 3), latency_s=0.05)) as server:
        response = asyncio.run(complete(_request(temperature=0.2, max_tokens=50), api_base=server.base_url))
    assert response.text == "<p>answer</p>"
    assert (response.input_tokens, response.output_tokens) == (12, 3)
    assert response.finish_reason == "stop"
    assert response.latency_s >= 0.05
    sent = server.requests[0]
    assert sent["body"]["temperature"] == 0.2 and sent["body"]["max_tokens"] == 50
    assert sent["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["headers"]["authorization"] == f"Bearer {CANARY}"


def test_cost_comes_from_the_local_cost_map_and_is_unknown_for_unpriced_models():
    with FakeOpenAI() as server:
        priced = asyncio.run(complete(LLMRequest.build("openai/gpt-4o-mini", [{"role": "user", "content": "x"}]), api_base=server.base_url))
        unpriced = asyncio.run(complete(_request(), api_base=server.base_url))
    assert priced.cost_usd == pytest.approx(100 * 0.15e-6 + 50 * 0.6e-6)
    assert unpriced.cost_usd is None


@pytest.mark.parametrize(
    ("reply", "kind", "retryable"),
    [
        (Reply(status=429, headers={"retry-after": "3"}), "rate_limit", True),
        (Reply(status=503), "server", True),
        (Reply(status=401), "auth", False),
        (Reply(status=400), "bad_request", False),
        (Reply(status=404), "not_found", False),
        (Reply(content=""), "empty_response", False),
        (Reply(finish_reason="content_filter", content="x"), "content_filter", False),
    ],
)
def test_errors_are_typed(reply, kind, retryable):
    with FakeOpenAI(lambda i, body: reply) as server:
        with pytest.raises(LLMError) as error:
            asyncio.run(complete(_request(), api_base=server.base_url, timeout_s=10))
    assert error.value.kind == kind
    assert error.value.retryable is retryable
    assert CANARY not in str(error.value)


def test_timeout_is_a_typed_retryable_error():
    with FakeOpenAI(lambda i, body: Reply(fault="hang", latency_s=3)) as server:
        with pytest.raises(LLMError) as error:
            asyncio.run(complete(_request(), api_base=server.base_url, timeout_s=0.5))
    assert error.value.kind == "timeout" and error.value.retryable


def test_secrets_are_scrubbed_from_messages():
    assert scrub_secrets(f"bad key {CANARY}!", {"OPENAI_API_KEY": CANARY}) == "bad key <OPENAI_API_KEY>!"


def test_parameters_are_normalized():
    assert normalize_parameters({"temperature": "0.2", "top_p": "0.9", "max_tokens": 1500, "seed": "7", "stop": None}) == {
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 1500, "seed": 7,
    }


def test_offline_model_goes_through_the_same_client(trace_research):
    import json

    from harness.prompts import load_prompt
    from tests_support import REPO

    messages = load_prompt(REPO / "prompts", "conclusion/v1").render(trace_research)
    response = asyncio.run(complete(LLMRequest.build("offline/extractive", messages)))
    assert response.text.startswith("<p>") and response.cost_usd == 0.0 and response.finish_reason == "stop"
    with pytest.raises(LLMError) as error:
        asyncio.run(complete(LLMRequest.build("offline/nonexistent", messages)))
    assert error.value.kind == "not_found"
    assert json.loads(messages[1]["content"]) == trace_research
