"""The replay store: one pretty-printed JSON file per recorded model call, committed to git.

A recording is addressed by the SHA-256 of the normalized request (model, messages, every
output-changing parameter, sample index); API keys, base URLs and headers never enter it.
Files live at ``<store>/<model as a path>/<key[:16]>.json`` so a pull request shows which model's
answers changed. Writes are atomic; a corrupt file or one whose request does not hash to its
key is an error, never silently replaced by a live call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError, first_problem
from harness.llm import LLMRequest, LLMResponse, SECRET_ENV_PATTERN, plain_parameters, request_fingerprint

FORMAT_VERSION = 1
KEY_PREFIX_LENGTH = 16
_AUTH_FIELDS = re.compile(r"authorization|api[-_]?key|x-api-key|bearer", re.IGNORECASE)


class RecordedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    messages: list[dict[str, str]]
    parameters: dict[str, Any] = Field(default_factory=dict)
    sample: int = 0


class RecordedUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int | None = None
    output_tokens: int | None = None


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    finish_reason: str | None = None
    usage: RecordedUsage = Field(default_factory=RecordedUsage)
    cost_usd: float | None = None
    latency_s: float | None = None


class Recording(BaseModel):
    """The file format of one recorded call."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = FORMAT_VERSION
    key: str
    recorded_at: str
    source: str = Field(description="'live' for a harness call, 'langfuse:<observation id>' for an import")
    labels: dict[str, str] = Field(default_factory=dict, description="case/prompt ids, for humans; not part of the key")
    request: RecordedRequest
    response: RecordedResponse

    def as_response(self) -> LLMResponse:
        return LLMResponse(
            text=self.response.text,
            input_tokens=self.response.usage.input_tokens,
            output_tokens=self.response.usage.output_tokens,
            cost_usd=self.response.cost_usd,
            latency_s=self.response.latency_s or 0.0,
            finish_reason=self.response.finish_reason,
        )


def replay_key(request: LLMRequest) -> str:
    """SHA-256 of the canonical request JSON: stable across runs and dict orders."""
    cached = request.__dict__.get("_replay_key")
    if cached is None:
        digest = _digest_up_to_sample(request.model, request.messages, request.parameters).copy()
        digest.update(f"{request.sample}}}".encode("utf-8"))
        cached = digest.hexdigest()
        request.__dict__["_replay_key"] = cached  # requests are immutable: hash once
    return cached


_SAMPLE_ZERO_TAIL = "0}"


@lru_cache(maxsize=256)
def _digest_up_to_sample(model: str, messages: tuple[tuple[str, str], ...], parameters: tuple[tuple[str, Any], ...]) -> Any:
    """The SHA-256 state after the canonical JSON up to the sample index.

    The sample is the canonical JSON's last key, so the N samples of a request share everything
    before it: serializing and hashing a ~25 kB prompt once instead of N times."""
    canonical = request_fingerprint(LLMRequest(model, messages, parameters, 0))
    if not canonical.endswith('"sample":' + _SAMPLE_ZERO_TAIL):
        raise AssertionError("the sample index must be the canonical request's last key")
    return hashlib.sha256(canonical[: -len(_SAMPLE_ZERO_TAIL)].encode("utf-8"))


@lru_cache(maxsize=64)
def _model_directory(model: str) -> str:
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", part) for part in model.split("/") if part not in ("", ".", "..")]
    return "/".join(parts) or "_"


@lru_cache(maxsize=256)
def _as_stored(parameters: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Request parameters as a recording holds them after a JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(plain_parameters(parameters)))


class ReplayStore:
    """Recordings under one directory."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._prefix = os.path.join(directory, "")

    def path_for(self, request: LLMRequest) -> Path:
        return Path(self._location(request))

    def _location(self, request: LLMRequest) -> str:
        # A replay finds one recording per row: formatting a string costs ~1 us where joining
        # Path objects costs ~15.
        return f"{self._prefix}{_model_directory(request.model)}/{replay_key(request)[:KEY_PREFIX_LENGTH]}.json"

    def load(self, request: LLMRequest) -> Recording | None:
        """The recording of ``request``, ``None`` when absent; InputError when unreadable or mismatched."""
        path = self._location(request)
        try:
            recording = read_recording(path, verify_key=False)
        except FileNotFoundError:
            return None
        if recording.key != replay_key(request):
            raise InputError(f"{path}: key {recording.key[:16]}… belongs to another request (prefix collision); delete it and record again")
        recorded = recording.request
        same = (recorded.model == request.model and recorded.sample == request.sample
                and recorded.messages == request.message_dicts
                and recorded.parameters == _as_stored(request.parameters))
        if not same:
            # Same check as re-hashing the recorded request, at a fraction of the cost.
            raise InputError(f"{path}: recorded key does not match its request (edited by hand?); record it again")
        return recording

    def save(self, request: LLMRequest, response: LLMResponse, *, source: str = "live",
             labels: dict[str, str] | None = None, recorded_at: str | None = None) -> Path:
        """Write a recording atomically; refuse empty answers and anything that looks like a secret."""
        if not response.text.strip():
            raise ValueError("empty responses are never recorded")
        recording = Recording(
            key=replay_key(request),
            recorded_at=recorded_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            source=source,
            labels=dict(labels or {}),
            request=RecordedRequest(**request.as_json()),
            response=RecordedResponse(
                text=response.text,
                finish_reason=response.finish_reason,
                usage=RecordedUsage(input_tokens=response.input_tokens, output_tokens=response.output_tokens),
                cost_usd=response.cost_usd,
                latency_s=response.latency_s,
            ),
        )
        text = json.dumps(recording.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        _refuse_secrets(text, recording)
        path = self.path_for(request)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return path
        atomic_write_text(path, text)
        return path

    def recordings(self) -> list[tuple[Path, Recording]]:
        """Every recording in the store (validated), sorted by path."""
        if not self.directory.is_dir():
            return []
        return [(path, read_recording(path)) for path in sorted(self.directory.rglob("*.json"))]


def _read_bytes(path: Path | str) -> bytes:
    # A replay reads one ~25 kB file per row: plain descriptor reads take ~10 us where
    # Path.read_bytes (a buffered file object) takes ~17.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def read_recording(path: Path | str, verify_key: bool = True) -> Recording:
    """Parse one recording file and, unless the caller compares requests itself, verify its key."""
    try:
        content = _read_bytes(path)
    except FileNotFoundError:
        raise  # not an error here: ReplayStore.load reads a missing file as "not recorded"
    except OSError as error:
        raise InputError(f"{path}: unreadable recording ({type(error).__name__}: {error})") from None
    try:
        # pydantic parses and validates the JSON in one pass, several times faster than json + validate.
        recording = Recording.model_validate_json(content)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise InputError(f"{path}: corrupt recording ({first['msg']}); delete it and record again") from None
        raise InputError(f"{path}: invalid recording: {first_problem(error)}") from None
    if verify_key and recording.key != replay_key(LLMRequest.build(**recording.request.model_dump())):
        raise InputError(f"{path}: recorded key does not match its request (edited by hand?); record it again")
    return recording


def _refuse_secrets(text: str, recording: Recording) -> None:
    for name in recording.request.parameters:
        if _AUTH_FIELDS.search(name):
            raise ValueError(f"refusing to record request parameter {name!r}: it looks like credentials")
    for name, value in os.environ.items():
        if value and len(value) >= 8 and SECRET_ENV_PATTERN.search(name) and value in text:
            raise ValueError(f"refusing to record: the value of ${name} appears in the recording")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600 files; results and recordings are meant to be shared and committed.
        os.chmod(temp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
