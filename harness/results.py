"""Run directories: ``manifest.json`` and ``results.jsonl`` (one ``ResultRow`` per line).

Rows are appended as they finish and flushed at once (a run flushes the rows that finished in
one turn of its event loop together), so a killed run leaves every finished row readable; a torn
last line is detected and dropped when the file is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError, first_problem

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"


class Usage(BaseModel):
    input_tokens: int | None = None
    output_tokens: int | None = None


class CheckVerdict(BaseModel):
    passed: bool
    score: float
    detail: str


class RowError(BaseModel):
    type: str
    message: str


class ResultRow(BaseModel):
    """One (case, prompt, model, sample) of a run: the output, its verdicts, and what it cost."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    prompt_id: str
    prompt_hash: str
    model: str
    sample: int = 0
    output: str | None = None
    checks: dict[str, CheckVerdict] = Field(default_factory=dict)
    paragraph_word_counts: list[int] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float | None = None
    cached: bool = False
    finish_reason: str | None = None
    truncated: bool = False
    error: RowError | None = None
    judges: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.case_id, self.prompt_id, self.model, self.sample)

    @property
    def passed(self) -> bool:
        return self.error is None and all(check.passed for check in self.checks.values())


class PromptEntry(BaseModel):
    id: str
    hash: str
    parameters: dict[str, Any]


class Manifest(BaseModel):
    """What a run was asked to do, enough to reproduce or resume it."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    harness_version: str
    git_commit: str | None
    started_at: str
    ended_at: str | None = None
    mode: str
    prompts: list[PromptEntry]
    models: list[str]
    cases: list[str]
    dataset_hash: str
    checks: list[str]
    judges: list[str] = Field(default_factory=list)
    judge_model: str | None = None
    repeats: int = 1
    shard: str | None = None
    api_base: str | None = None
    rows_expected: int

    def identity(self) -> dict[str, Any]:
        """What shards of one run share: everything but ids, times, shard and row count."""
        return self.model_dump(exclude={"run_id", "started_at", "ended_at", "shard", "rows_expected", "git_commit"})


def write_manifest(directory: Path, manifest: Manifest) -> None:
    from harness.replay import atomic_write_text

    atomic_write_text(directory / MANIFEST, json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n")


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{directory}: not a run directory (no {MANIFEST})") from None
    except ValidationError as error:
        raise InputError(f"{path}: {first_problem(error)}") from None


def write_run(directory: Path, manifest: Manifest, rows: Iterable[ResultRow]) -> None:
    """Write a whole run directory at once: its manifest, then its rows."""
    directory.mkdir(parents=True, exist_ok=True)
    write_manifest(directory, manifest)
    with ResultsWriter(directory) as writer:
        for row in rows:
            writer.write(row)


class ResultsWriter:
    """Appends rows to ``results.jsonl``, one line each; the caller says when they must reach the file."""

    BUFFER_BYTES = 1 << 20
    """Rows held between flushes need not reach the file on their own: a row is ~5 kB."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / RESULTS
        _drop_torn_tail(self.path)
        self._stream = self.path.open("a", encoding="utf-8", buffering=self.BUFFER_BYTES)

    def write(self, row: ResultRow) -> None:
        """Append ``row``; it may stay in memory until ``flush`` or ``close``."""
        self._stream.write(row.model_dump_json() + "\n")

    def flush(self) -> None:
        """Hand every row written so far to the operating system."""
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a killed writer left without its newline."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as stream:
        data = stream.read()
        if data.endswith(b"\n"):
            return
        stream.truncate(data.rfind(b"\n") + 1)


def iter_rows(directory: Path) -> Iterator[ResultRow]:
    """Rows of a run directory; a torn last line is skipped, any other bad line is an error."""
    path = directory / RESULTS
    if not path.exists():
        return
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.endswith("\n"):
                return
            try:
                yield ResultRow.model_validate_json(line)
            except ValidationError as error:
                raise InputError(f"{path}:{number}: invalid result row: {first_problem(error)}") from None


def latest_rows(rows: Iterable[ResultRow]) -> list[ResultRow]:
    """The last row for each (case, prompt, model, sample): resumed runs append replacements."""
    by_key: dict[tuple[str, str, str, int], ResultRow] = {}
    for row in rows:
        by_key[row.key] = row
    return list(by_key.values())


def merge_runs(directories: list[Path], out_dir: Path) -> tuple[Manifest, list[ResultRow]]:
    """Combine shard runs of one run (identical manifests but for the shard) into ``out_dir``."""
    manifests = [read_manifest(directory) for directory in directories]
    first = manifests[0]
    for directory, manifest in zip(directories[1:], manifests[1:]):
        if manifest.identity() != first.identity():
            differing = sorted(k for k, v in manifest.identity().items() if first.identity()[k] != v)
            raise InputError(f"{directory}: not a shard of the same run as {directories[0]} (differs in: {', '.join(differing)})")
    shards = [m.shard for m in manifests]
    if len(set(shards)) != len(shards):
        raise InputError(f"{directories[0]}: the same shard is given twice ({', '.join(str(s) for s in shards)})")
    rows = latest_rows(row for directory in directories for row in iter_rows(directory))
    merged = first.model_copy(update={
        "run_id": out_dir.name,
        "shard": None,
        "rows_expected": sum(m.rows_expected for m in manifests),
        "started_at": min(m.started_at for m in manifests),
        "ended_at": max((m.ended_at or "") for m in manifests) or None,
    })
    write_run(out_dir, merged, rows)
    return merged, rows
