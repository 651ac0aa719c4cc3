"""Import Langfuse generations as dataset cases and replay recordings.

Accepts the public API's ``{"data": [...], "meta": ...}`` export, a bare list of observations,
or a single observation (camelCase fields, as in ``GET /api/public/observations``). For each
GENERATION whose user message is a research JSON: the research becomes a case, the call becomes
a recording keyed exactly as ``harness run`` would key it, and we say which prompt version
rendered those messages. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.dataset import CASE_ID_PATTERN, case_files, read_json_file, validate_research
from harness.errors import InputError
from harness.llm import LLMRequest, LLMResponse, estimate_cost
from harness.prompts import PromptVersion
from harness.replay import ReplayStore, atomic_write_text

MAX_EXPORT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class ImportedCall:
    """What one generation became."""

    observation_id: str
    case_id: str
    case_written: bool
    model: str
    recording: Path
    matched_prompts: tuple[str, ...]


def observations_of(data: Any, source: Path) -> list[dict[str, Any]]:
    """The observations in an export, whatever of the three shapes it has."""
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        items = data["data"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "type" in data:
        items = [data]
    else:
        raise InputError(f"{source}: expected a Langfuse observations export ({{\"data\": [...]}}, a list, or one observation)")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{source}: data[{index}]: expected an observation object, got {type(item).__name__}")
    return items


def _slug(text: str, words: int = 6) -> str:
    tokens = [token for token in re.findall(r"[a-z0-9]+", text.lower()) if token not in {"a", "an", "the", "of", "or", "and", "is", "it", "to", "in", "what", "how"}]
    return "-".join(tokens[:words]) or "case"


def _messages(observation: dict[str, Any], where: str) -> list[dict[str, str]]:
    payload = observation.get("input")
    messages = payload.get("messages") if isinstance(payload, dict) else payload
    if not isinstance(messages, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        raise InputError(f"{where}.input.messages: expected a list of {{role, content}} messages")
    return [{"role": str(m.get("role")), "content": m["content"]} for m in messages]


def _model_name(observation: dict[str, Any]) -> str:
    metadata = observation.get("metadata") or {}
    hidden = metadata.get("hidden_params") or {} if isinstance(metadata, dict) else {}
    return hidden.get("litellm_model_name") or observation.get("model") or ""


def _latency_s(observation: dict[str, Any]) -> float | None:
    if isinstance(observation.get("latency"), (int, float)):
        return round(observation["latency"] / 1000, 4)
    try:
        start = datetime.fromisoformat(observation["startTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(observation["endTime"].replace("Z", "+00:00"))
        return round((end - start).total_seconds(), 4)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _response(observation: dict[str, Any], model: str, where: str) -> LLMResponse:
    output = observation.get("output")
    text = output.get("content") if isinstance(output, dict) else output
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}.output.content: expected the model's text, got nothing")
    usage = observation.get("usageDetails") or observation.get("usage") or {}
    input_tokens, output_tokens = usage.get("input"), usage.get("output")
    costs = observation.get("costDetails") or {}
    cost = costs.get("total") or observation.get("calculatedTotalCost") or None
    return LLMResponse(
        text=text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=float(cost) if cost else estimate_cost(model, input_tokens, output_tokens),
        latency_s=_latency_s(observation) or 0.0,
        finish_reason=(output.get("finish_reason") if isinstance(output, dict) else None),
    )


def _existing_case_id(dataset_dir: Path, research: dict[str, Any]) -> str | None:
    if not dataset_dir.is_dir():
        return None
    for path in case_files(dataset_dir):
        try:
            if read_json_file(path) == research:
                return path.stem
        except InputError:
            continue
    return None


def import_export(
    source: Path,
    *,
    dataset_dir: Path,
    store: ReplayStore,
    prompts: list[PromptVersion],
    model: str | None = None,
    case_id: str | None = None,
) -> tuple[list[ImportedCall], list[str]]:
    """Import every GENERATION of an export; return what was imported and warnings."""
    observations = observations_of(read_json_file(source, max_bytes=MAX_EXPORT_BYTES), source)
    generations = [(index, o) for index, o in enumerate(observations) if o.get("type", "GENERATION") == "GENERATION"]
    if case_id is not None and not CASE_ID_PATTERN.match(case_id):
        raise InputError(f"--case-id {case_id!r}: use letters, digits, '.', '_' or '-'")
    imported, warnings = [], []
    for position, (index, observation) in enumerate(generations):
        where = f"{source}: data[{index}]"
        messages = _messages(observation, where)
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), None)
        try:
            research = json.loads(user) if user is not None else None
        except json.JSONDecodeError:
            research = None
        if not isinstance(research, dict) or validate_research(where, research):
            warnings.append(f"{where}: skipped: its user message is not a research JSON")
            continue
        model_name = model or _model_name(observation)
        if not model_name:
            raise InputError(f"{where}.model: no model name in the observation; pass --model")
        existing = _existing_case_id(dataset_dir, research)
        chosen_id = existing or (f"{case_id}-{position + 1}" if case_id and len(generations) > 1 else case_id) or _slug(research["main_query"])
        case_path = dataset_dir / f"{chosen_id}.json"
        case_written = existing is None
        if case_written:
            if case_path.exists():
                raise InputError(f"{case_path}: a different case already has id {chosen_id!r}; pass --case-id")
            atomic_write_text(case_path, json.dumps(research, indent=2, ensure_ascii=False) + "\n")
            atomic_write_text(case_path.with_suffix(".meta.toml"), _case_meta(observation, source))
        matched = tuple(p.id for p in prompts if p.render(research) == messages)
        if not matched:
            warnings.append(f"{where}: its messages match no prompt version; recorded under the trace's own messages")
        parameters = observation.get("modelParameters") or {}
        request = LLMRequest.build(model_name, messages, parameters)
        labels = {"case_id": chosen_id, **({"prompt_id": matched[0]} if matched else {})}
        recording = store.save(
            request,
            _response(observation, model_name, where),
            source=f"langfuse:{observation.get('id', index)}",
            labels=labels,
            recorded_at=observation.get("startTime"),
        )
        imported.append(ImportedCall(str(observation.get("id", index)), chosen_id, case_written, model_name, recording, matched))
    return imported, warnings


def _case_meta(observation: dict[str, Any], source: Path) -> str:
    notes = f"Imported from Langfuse export {source.name}, observation {observation.get('id')}, trace {observation.get('traceId')}."
    return f'source = "langfuse"\ntags = ["real", "langfuse"]\nnotes = {json.dumps(notes)}\n'
