"""The replay store: stable keys, atomic writes, verification, no secrets."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from harness.errors import InputError
from harness.llm import LLMRequest, LLMResponse, request_fingerprint
from harness.replay import ReplayStore, atomic_write_text, read_recording, replay_key

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
RESPONSE = LLMResponse(text="<p>x</p>", input_tokens=3, output_tokens=1, cost_usd=0.001, latency_s=1.5, finish_reason="stop")


def test_key_is_stable_across_dict_order_and_string_numbers():
    a = LLMRequest.build("m", MESSAGES, {"temperature": 0.2, "top_p": 0.9, "max_tokens": 10})
    b = LLMRequest.build("m", MESSAGES, {"max_tokens": 10, "top_p": "0.9", "temperature": "0.2"})
    assert replay_key(a) == replay_key(b)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other"},
        {"parameters": {"temperature": 0.3, "top_p": 0.9, "max_tokens": 10}},
        {"parameters": {"temperature": 0.2, "top_p": 0.9, "max_tokens": 11}},
        {"parameters": {"temperature": 0.2, "top_p": 0.9, "max_tokens": 10, "seed": 1}},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u "}]},
        {"sample": 1},
    ],
)
def test_key_changes_with_anything_that_changes_the_output(change):
    base = {"model": "m", "messages": MESSAGES, "parameters": {"temperature": 0.2, "top_p": 0.9, "max_tokens": 10}, "sample": 0}
    assert replay_key(LLMRequest.build(**base)) != replay_key(LLMRequest.build(**{**base, **change}))


@pytest.mark.parametrize("sample", [0, 1, 9, 10, 123])
@pytest.mark.parametrize("parameters", [{}, {"temperature": 0.2, "response_format": {"type": "json_object"}, "stop": ["</p>"]}])
def test_key_is_the_hash_of_the_canonical_request_for_every_sample(sample, parameters):
    # Keys hash a shared prefix once per request; they must equal hashing the whole canonical JSON.
    request = LLMRequest.build("openrouter/m", [*MESSAGES, {"role": "user", "content": 'quote " \\ "sample":1} é'}], parameters, sample)
    whole = hashlib.sha256(request_fingerprint(request).encode("utf-8")).hexdigest()
    assert replay_key(request) == whole


def test_key_never_contains_secrets_or_endpoints(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-abcdefgh12345678")
    request = LLMRequest.build("m", MESSAGES, {"temperature": 0})
    assert set(request.as_json()) == {"model", "messages", "parameters", "sample"}


def test_save_and_load_round_trip(tmp_path):
    store = ReplayStore(tmp_path)
    request = LLMRequest.build("openrouter/vendor/model", MESSAGES, {"temperature": 0.2})
    path = store.save(request, RESPONSE, labels={"case_id": "c", "prompt_id": "p/v1"})
    assert path.parent == tmp_path / "openrouter" / "vendor" / "model"
    data = json.loads(path.read_text())
    assert data["request"]["messages"] == MESSAGES and data["response"]["text"] == "<p>x</p>"
    assert data["labels"] == {"case_id": "c", "prompt_id": "p/v1"}
    assert path.read_text().startswith("{\n  ")  # pretty-printed for review
    loaded = store.load(request)
    assert loaded is not None and loaded.as_response().text == RESPONSE.text
    assert store.load(LLMRequest.build("openrouter/vendor/model", MESSAGES, {"temperature": 0.3})) is None


def test_a_recording_larger_than_one_read_loads_whole(tmp_path):
    store = ReplayStore(tmp_path)
    long_prompt = [{"role": "user", "content": "é" * 150_000}]  # 300 kB of UTF-8: several reads
    request = LLMRequest.build("openai/m", long_prompt)
    path = store.save(request, RESPONSE)
    assert path.stat().st_size > 300_000
    loaded = store.load(request)
    assert loaded is not None and loaded.request.messages == long_prompt


def test_saving_the_same_recording_twice_leaves_the_file_alone(tmp_path):
    store = ReplayStore(tmp_path)
    request = LLMRequest.build("m", MESSAGES)
    path = store.save(request, RESPONSE, recorded_at="2025-01-01T00:00:00Z")
    before = path.stat().st_mtime_ns
    store.save(request, RESPONSE, recorded_at="2025-01-01T00:00:00Z")
    assert path.stat().st_mtime_ns == before


def test_empty_responses_are_never_recorded(tmp_path):
    with pytest.raises(ValueError, match="never recorded"):
        ReplayStore(tmp_path).save(LLMRequest.build("m", MESSAGES), LLMResponse("  ", 1, 1, 0, 0, "stop"))
    assert list(tmp_path.rglob("*.json")) == []


def test_recordings_refuse_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_PROVIDER_API_KEY", "canary-secret-123456")
    store = ReplayStore(tmp_path)
    leaky = LLMRequest.build("m", [{"role": "user", "content": "key is canary-secret-123456"}])
    with pytest.raises(ValueError, match=r"\$MY_PROVIDER_API_KEY"):
        store.save(leaky, RESPONSE)
    with pytest.raises(ValueError, match="looks like credentials"):
        store.save(LLMRequest.build("m", MESSAGES, {"api_key": "x"}), RESPONSE)
    assert list(tmp_path.rglob("*.json")) == []


def test_corrupt_and_mismatching_recordings_are_clear_errors(tmp_path):
    store = ReplayStore(tmp_path)
    request = LLMRequest.build("m", MESSAGES)
    path = store.save(request, RESPONSE)
    original = path.read_text()
    path.write_text(original[: len(original) // 2])
    with pytest.raises(InputError, match="corrupt recording"):
        store.load(request)
    tampered = json.loads(original)
    tampered["request"]["messages"][1]["content"] = "edited"
    path.write_text(json.dumps(tampered))
    with pytest.raises(InputError, match="does not match its request"):
        read_recording(path)


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    target.write_text("old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
