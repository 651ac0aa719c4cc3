"""deepeval's judge interface on top of the harness's one LLM client.

Every judge call deepeval makes becomes an ``LLMRequest`` sent through the run's scheduler and
replay store, so judge calls are concurrent, retried, cost-tracked, recorded and replayed like
generations. Structured output: the schema deepeval asks for is requested as JSON and validated;
on invalid JSON the judge is asked once more with the validation error, then the call fails with
``JudgeError`` and the metric's result on that row is an error.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from deepeval.models import DeepEvalBaseLLM
from pydantic import BaseModel, ValidationError

from harness.llm import LLMRequest, LLMResponse

JudgeCaller = Callable[[LLMRequest], Awaitable[LLMResponse]]
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class JudgeError(Exception):
    """The judge's answer could not be used (invalid JSON twice, or the call failed)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


def parse_structured(text: str, schema: type[BaseModel]) -> BaseModel:
    """The judge's text as an instance of ``schema`` (code fences and prose around the JSON tolerated)."""
    cleaned = _FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the answer")
    return schema.model_validate(json.loads(cleaned[start : end + 1]))


class HarnessJudge(DeepEvalBaseLLM):
    """A ``DeepEvalBaseLLM`` whose every call goes through ``caller`` (scheduler + replay store)."""

    def __init__(self, model: str, caller: JudgeCaller, sample: int = 0, json_mode: bool = True):
        self.judge_model = model
        self.caller = caller
        self.sample = sample
        self.json_mode = json_mode
        self.calls = 0
        self.cost_usd: float | None = 0.0
        super().__init__(model)

    def load_model(self, *args: Any, **kwargs: Any) -> HarnessJudge:
        return self

    def get_model_name(self, *args: Any, **kwargs: Any) -> str:
        return self.judge_model

    def supports_log_probs(self) -> bool:
        return False  # G-Eval then asks for a score in JSON: one call, replayable

    def _request(self, messages: list[dict[str, str]], schema: type[BaseModel] | None) -> LLMRequest:
        parameters: dict[str, Any] = {"temperature": 0}
        if schema is not None and self.json_mode:
            parameters["response_format"] = {"type": "json_object"}
        return LLMRequest.build(self.judge_model, messages, parameters, self.sample)

    async def _call(self, messages: list[dict[str, str]], schema: type[BaseModel] | None) -> str:
        response = await self.caller(self._request(messages, schema))
        self.calls += 1
        if self.cost_usd is not None:
            self.cost_usd = None if response.cost_usd is None else self.cost_usd + response.cost_usd
        return response.text

    async def a_generate(self, prompt: str, schema: type[BaseModel] | None = None, **kwargs: Any) -> Any:
        messages = [{"role": "user", "content": prompt}]
        text = await self._call(messages, schema)
        if schema is None:
            return text
        try:
            return parse_structured(text, schema)
        except (ValueError, ValidationError) as first_error:
            retry = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": (
                f"Your answer was not valid JSON for the required schema ({_short(first_error)}). "
                f"Answer again with only a JSON object matching this JSON Schema: {json.dumps(schema.model_json_schema())}")}]
            text = await self._call(retry, schema)
            try:
                return parse_structured(text, schema)
            except (ValueError, ValidationError) as second_error:
                raise JudgeError("invalid_json", f"judge answered invalid JSON twice: {_short(second_error)}") from None

    def generate(self, prompt: str, schema: type[BaseModel] | None = None, **kwargs: Any) -> Any:
        return asyncio.run(self.a_generate(prompt, schema, **kwargs))


def _short(error: Exception) -> str:
    return " ".join(str(error).split())[:300]
