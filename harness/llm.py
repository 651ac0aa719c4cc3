"""The one LLM client: the only module that talks to litellm.

Any litellm model string works (``openai/gpt-4o-mini``, ``openrouter/...``, ``offline/extractive``),
with an optional ``api_base``. API keys come from the environment only, read by litellm itself;
they never enter a request we hash, record or report, and they are scrubbed from error messages.
"""

from __future__ import annotations

import harness._env  # noqa: F401  (must run before litellm is imported)

import asyncio
import functools
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

OFFLINE_PROVIDER = "offline"
SECRET_ENV_PATTERN = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)

_litellm: Any = None


def _load_litellm() -> Any:
    """Import litellm once, with telemetry and callbacks off and the offline provider registered."""
    global _litellm
    if _litellm is None:
        import litellm

        from harness.offline import litellm_provider

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.success_callback = []
        litellm.failure_callback = []
        litellm.callbacks = []
        # No callback ever sees a message, so litellm's message redaction (turn_off_message_logging)
        # would only deep-copy every request's logging payload: ~0.5 ms of CPU per call.
        litellm.custom_provider_map = [{"provider": OFFLINE_PROVIDER, "custom_handler": litellm_provider()}]
        _litellm = litellm
    return _litellm


def preload_litellm() -> None:
    """Import and configure litellm now (1-2 s) rather than inside the first call, e.g. before timing calls."""
    _load_litellm()


@dataclass(frozen=True)
class LLMRequest:
    """What determines a model's output: model, messages, parameters and the sample index."""

    model: str
    messages: tuple[tuple[str, str], ...]
    parameters: tuple[tuple[str, Any], ...] = ()
    sample: int = 0

    @classmethod
    def build(cls, model: str, messages: list[dict[str, str]], parameters: dict[str, Any] | None = None, sample: int = 0) -> LLMRequest:
        return cls(
            model=model,
            messages=tuple((message["role"], message["content"]) for message in messages),
            parameters=tuple(sorted((key, _hashable(value)) for key, value in normalize_parameters(parameters or {}).items())),
            sample=sample,
        )

    @property
    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]

    def as_json(self) -> dict[str, Any]:
        """The normalized request as stored in recordings and hashed into the replay key."""
        return {"model": self.model, "messages": self.message_dicts, "parameters": self.parameter_dict, "sample": self.sample}

    @property
    def parameter_dict(self) -> dict[str, Any]:
        """Parameters as sent to the provider (plain lists and dicts)."""
        return plain_parameters(self.parameters)

    @property
    def is_offline(self) -> bool:
        return self.model.startswith(OFFLINE_PROVIDER + "/")


class _FrozenDict(tuple):
    """A dict parameter (e.g. ``response_format``) as sorted pairs, hashable; ``_plain`` restores it."""


def _hashable(value: Any) -> Any:
    """Lists become tuples and dicts frozen pairs, so a request can key a dict."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return _FrozenDict(sorted((key, _hashable(item)) for key, item in value.items()))
    return value


def plain_parameters(parameters: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """A request's hashable parameter pairs as the plain JSON dict they stand for."""
    return {key: _plain(value) for key, value in parameters}


def _plain(value: Any) -> Any:
    """The JSON value a hashable parameter stands for."""
    if isinstance(value, _FrozenDict):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def normalize_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Numbers stored as strings (Langfuse keeps ``"0.2"``) become numbers; ``None`` is dropped."""
    normalized: dict[str, Any] = {}
    for key, value in parameters.items():
        if value is None:
            continue
        if isinstance(value, str):
            try:
                number = float(value)
                value = int(number) if number.is_integer() and "." not in value else number
            except ValueError:
                pass
        normalized[key] = value
    return normalized


@dataclass(frozen=True)
class LLMResponse:
    """A model's answer with what it cost."""

    text: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    latency_s: float
    finish_reason: str | None
    extra: dict[str, Any] = field(default_factory=dict)


class LLMError(Exception):
    """A failed call: ``kind`` says what failed, ``retryable`` whether trying again may help."""

    RETRYABLE_KINDS = frozenset({"rate_limit", "server", "connection", "timeout"})

    def __init__(self, kind: str, message: str, status: int | None = None, retry_after_s: float | None = None):
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.message = scrub_secrets(" ".join(message.split()))[:500]
        super().__init__(f"{kind}: {self.message}")

    @property
    def retryable(self) -> bool:
        return self.kind in self.RETRYABLE_KINDS


def scrub_secrets(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace the value of every secret-looking environment variable found in ``text``."""
    for name, value in (environ or os.environ).items():
        if value and len(value) >= 8 and SECRET_ENV_PATTERN.search(name) and value in text:
            text = text.replace(value, f"<{name}>")
    return text


def _classify(error: Exception) -> LLMError:
    litellm = _load_litellm()
    status = getattr(error, "status_code", None)
    message = str(getattr(error, "message", None) or error)
    retry_after = _retry_after(error)
    if isinstance(error, (asyncio.TimeoutError, litellm.Timeout)):
        return LLMError("timeout", message or "request timed out", status)
    if isinstance(error, litellm.ContentPolicyViolationError):
        return LLMError("content_filter", message, status)
    if isinstance(error, litellm.RateLimitError) or status == 429:
        return LLMError("rate_limit", message, 429, retry_after)
    if isinstance(error, litellm.AuthenticationError) or status == 401:
        return LLMError("auth", message, 401)
    if isinstance(error, litellm.PermissionDeniedError) or status == 403:
        return LLMError("permission", message, 403)
    if isinstance(error, litellm.NotFoundError) or status == 404:
        return LLMError("not_found", message, 404)
    if isinstance(error, litellm.APIConnectionError) and not status:
        return LLMError("connection", message)
    if isinstance(status, int) and status >= 500:
        return LLMError("server", message, status, retry_after)
    if isinstance(error, litellm.BadRequestError) or status == 400:
        return LLMError("bad_request", message, status)
    if isinstance(error, (litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.APIError)):
        return LLMError("server", message, status, retry_after)
    return LLMError("error", f"{type(error).__name__}: {message}", status)


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _usage(response: Any) -> tuple[int | None, int | None]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None, None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)


@functools.lru_cache(maxsize=256)
def _has_prices(litellm: Any, model: str) -> bool:
    """Whether litellm's local cost map prices this model (it answers 0 for unpriced ones)."""
    try:
        info = litellm.get_model_info(model)
    except Exception:  # ModelNotMappedError and friends: not in the map
        return False
    return bool(info.get("input_cost_per_token") or info.get("output_cost_per_token"))


def _cost(litellm: Any, response: Any, request: LLMRequest) -> float | None:
    if request.is_offline:
        return 0.0
    if not _has_prices(litellm, request.model):
        return None
    stamped = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if stamped is not None:
        return float(stamped)  # litellm priced this call already; pricing it twice costs ~0.5 ms
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises for models missing from its cost map: cost is unknown
        return None


async def complete(request: LLMRequest, *, api_base: str | None = None, timeout_s: float = 120.0) -> LLMResponse:
    """Call the model once. Raises ``LLMError`` (typed, secrets scrubbed) on any failure,
    including an empty answer, which is never a valid result."""
    litellm = _load_litellm()
    started = time.perf_counter()
    try:
        # litellm hands the timeout to the HTTP client; no extra asyncio task per call.
        response = await litellm.acompletion(
            model=request.model,
            messages=request.message_dicts,
            api_base=api_base,
            timeout=timeout_s,
            num_retries=0,
            **request.parameter_dict,
        )
    except LLMError:
        raise
    except Exception as error:  # every provider error becomes one typed error
        raise _classify(error) from None
    latency = time.perf_counter() - started
    choice = response.choices[0]
    text = choice.message.content or ""
    finish_reason = getattr(choice, "finish_reason", None)
    if finish_reason == "content_filter":
        raise LLMError("content_filter", "the provider filtered the response")
    if not text.strip():
        raise LLMError("empty_response", f"the model returned no text (finish_reason={finish_reason})")
    input_tokens, output_tokens = _usage(response)
    return LLMResponse(
        text=text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=_cost(litellm, response, request),
        latency_s=round(latency, 4),
        finish_reason=finish_reason,
    )


def estimate_cost(model: str, input_tokens: int | None, output_tokens: int | None) -> float | None:
    """Cost from litellm's local cost map, or ``None`` when the model is not in it."""
    if input_tokens is None or output_tokens is None:
        return None
    litellm = _load_litellm()
    if not _has_prices(litellm, model):
        return None
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(model=model, prompt_tokens=input_tokens, completion_tokens=output_tokens)
        return float(prompt_cost + completion_cost)
    except Exception:  # not in the cost map
        return None


def request_fingerprint(request: LLMRequest) -> str:
    """Canonical JSON of the normalized request (the replay key is its hash)."""
    return json.dumps(request.as_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
