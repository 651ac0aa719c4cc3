"""Research inputs: the pydantic model of the pipeline's research JSON, and cases on disk.

A case file *is* the research JSON the pipeline sends to the conclusion step, so pipeline
outputs can be dropped in unchanged. The case id is the file stem. Optional metadata (tags,
notes, source) lives beside it in ``<id>.meta.toml`` and never changes the input.

The prompt is rendered from the case's raw JSON (``Case.research``), not from the model, so
key order, number formatting (``6.0`` stays ``6.0``) and unknown fields survive byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import InputError, first_problem
from harness.files import read_toml_file

MAX_CASE_BYTES = 20 * 1024 * 1024
MAX_NESTING = 64
"""Deeper JSON is refused: the research format nests 4 levels, and deep values break encoders."""
"""Case files above this size are rejected before parsing (the real one is 22 kB)."""

CASE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class _Research(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class SubAnswer(_Research):
    """What the pipeline found for one sub-question."""

    synthesized_answer: str
    confidence_level: str
    information_gaps: str = ""
    key_sources: list[str] = Field(default_factory=list)
    improvements: list[str] = Field(default_factory=list)


class Tension(_Research):
    """A topic on which perspectives disagree, with each perspective's view."""

    topic: str
    viewpoints: dict[str, str]


class ViewpointAnalysis(_Research):
    """How different perspectives read the findings."""

    main_points_of_agreement: list[str] = Field(default_factory=list)
    areas_of_tension: list[Tension] = Field(default_factory=list)
    perspective_gaps: str = ""
    integrative_insights: str = ""


class ReflectionMetadata(_Research):
    """The pipeline's self-critique of its research."""

    critique_summary: list[str] = Field(default_factory=list)
    additional_questions_identified: list[str] = Field(default_factory=list)
    improvements_made: float | None = None


class ResearchInput(_Research):
    """The research JSON given to the conclusion step. Unknown extra fields are kept."""

    main_query: str
    sub_questions: list[str]
    enhanced_info: dict[str, SubAnswer]
    viewpoint_analysis: ViewpointAnalysis | None = None
    reflection_metadata: ReflectionMetadata | None = None


class CaseMeta(BaseModel):
    """Optional metadata beside a case: where it came from and what it covers."""

    model_config = ConfigDict(extra="forbid")

    source: str = "authored"
    tags: list[str] = Field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class Case:
    """One dataset case: its id, the raw research JSON, and its metadata."""

    id: str
    research: dict[str, Any] = field(repr=False)
    meta: CaseMeta = field(default_factory=CaseMeta)
    path: Path | None = None

    @property
    def input(self) -> ResearchInput:
        """The validated, typed view of the research JSON."""
        return ResearchInput.model_validate(self.research)

    @property
    def content_hash(self) -> str:
        """Hash of the research JSON as rendered into prompts."""
        return sha256_text(json.dumps(self.research, sort_keys=True, ensure_ascii=False))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- validation errors as one line each -------------------------------------------------------

_JSON_TYPE_NAMES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "a list",
    dict: "an object",
}


def _describe_value(value: Any) -> str:
    for kind, name in _JSON_TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _describe_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(arg) for arg in args)
    if origin is list:
        item = _describe_type(args[0])
        plural = item.removeprefix("a ").removeprefix("an ")
        return f"a list of {plural}s" if not plural.endswith("s") else f"a list of {plural}"
    if origin is dict:
        return f"an object mapping strings to {_describe_type(args[1]).removeprefix('a ').removeprefix('an ')}s"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object"
    return _JSON_TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _walk_location(loc: tuple[Any, ...]) -> tuple[str, Any]:
    """Turn a pydantic error location into a JSON path and the annotation expected there."""
    path = ""
    annotation: Any = ResearchInput
    for part in loc:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (typing.Union, types.UnionType):
            non_null = [arg for arg in args if arg is not type(None)]
            annotation = non_null[0] if len(non_null) == 1 else annotation
            origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            path += f".{part}" if path else str(part)
            model_field = annotation.model_fields.get(str(part))
            annotation = model_field.annotation if model_field else Any
        elif origin is dict:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
            annotation = args[1]
        elif origin is list:
            path += f"[{part}]"
            annotation = args[0]
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]" if isinstance(part, str) else f"[{part}]"
            annotation = Any
    return path or "(top level)", annotation


def _validation_lines(source: str, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        path, annotation = _walk_location(tuple(item["loc"]))
        expected = _describe_type(annotation) if annotation is not Any else "a valid value"
        if item["type"] == "missing":
            found = "nothing (the field is missing)"
        elif item["type"] == "extra_forbidden":
            expected, found = "no such field", "an unknown field"
        else:
            found = _describe_value(item.get("input"))
        lines.append(f"{source}: {path}: expected {expected}, got {found}")
    return lines


def validate_research(source: str, research: Any) -> list[str]:
    """Validate a research JSON value; return one error line per problem (empty when valid)."""
    if not isinstance(research, dict):
        return [f"{source}: (top level): expected an object, got {_describe_value(research)}"]
    try:
        ResearchInput.model_validate(research)
    except ValidationError as error:
        return _validation_lines(source, error)
    return []


# --- loading --------------------------------------------------------------------------------


def read_json_file(path: Path, *, max_bytes: int = MAX_CASE_BYTES) -> Any:
    """Read a JSON file with size, encoding and syntax errors reported as one line."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    if size > max_bytes:
        raise InputError(f"{path}: file is {size} bytes, larger than the {max_bytes}-byte limit")
    if size == 0:
        raise InputError(f"{path}: file is empty, expected a JSON object")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start}); expected a JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply") from None


def _too_deep(value: Any, limit: int = MAX_NESTING) -> str | None:
    """The JSON path of the first value nested deeper than ``limit``, or None."""
    stack = [(value, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        if depth > limit:
            return path or "(top level)"
        if isinstance(current, dict):
            stack.extend((item, f"{path}.{key}" if path else str(key), depth + 1) for key, item in current.items())
        elif isinstance(current, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(current))
    return None


def load_case(path: Path) -> Case:
    """Load and validate one case file; raise InputError with the first problem on one line."""
    case_id = path.stem
    if not CASE_ID_PATTERN.match(case_id):
        raise InputError(f"{path}: case id {case_id!r} must be letters, digits, '.', '_' or '-'")
    research = read_json_file(path)
    deep = _too_deep(research)
    if deep:
        raise InputError(f"{path}: {deep}: expected at most {MAX_NESTING} levels of nesting, got deeper JSON")
    problems = validate_research(str(path), research)
    if problems:
        raise InputError(problems[0])
    return Case(id=case_id, research=research, meta=_load_meta(path), path=path)


def _load_meta(case_path: Path) -> CaseMeta:
    meta_path = case_path.with_suffix(".meta.toml")
    if not meta_path.exists():
        return CaseMeta()
    data = read_toml_file(meta_path)
    try:
        return CaseMeta.model_validate(data)
    except ValidationError as error:
        raise InputError(f"{meta_path}: {first_problem(error)}") from None


def case_files(directory: Path) -> list[Path]:
    """The case files of a dataset directory, sorted; symlinks must stay inside it."""
    if not directory.is_dir():
        raise InputError(f"{directory}: dataset directory not found")
    root = directory.resolve()
    files = []
    for path in sorted(directory.glob("*.json")):
        if not path.resolve().is_relative_to(root):
            raise InputError(f"{path}: symlink points outside the dataset directory {directory}")
        files.append(path)
    return files


def load_dataset(directory: Path, case_ids: Iterable[str] | None = None) -> list[Case]:
    """Load the cases of a dataset directory (all, or the given ids in the given order)."""
    files = {path.stem: path for path in case_files(directory)}
    if case_ids is None:
        return [load_case(path) for path in files.values()]
    cases = []
    for case_id in case_ids:
        if not CASE_ID_PATTERN.match(case_id):
            raise InputError(f"--case {case_id!r}: a case id is a file stem (letters, digits, '.', '_', '-')")
        if case_id not in files:
            known = ", ".join(sorted(files)) or "none"
            raise InputError(f"--case {case_id!r}: no {case_id}.json in {directory} (cases: {known})")
        cases.append(load_case(files[case_id]))
    return cases


def validate_dataset(directory: Path) -> tuple[int, list[str]]:
    """Validate every case file; return (number of files, one line per problem found)."""
    problems: list[str] = []
    files = case_files(directory)
    for path in files:
        try:
            research = read_json_file(path)
        except InputError as error:
            problems.append(str(error))
            continue
        deep = _too_deep(research)
        if deep:
            problems.append(f"{path}: {deep}: expected at most {MAX_NESTING} levels of nesting, got deeper JSON")
            continue
        problems.extend(validate_research(str(path), research))
        try:
            _load_meta(path)
        except InputError as error:
            problems.append(str(error))
    return len(files), problems


def dataset_hash(cases: Iterable[Case]) -> str:
    """One hash over the ids and contents of the given cases."""
    digest = hashlib.sha256()
    for case in sorted(cases, key=lambda case: case.id):
        digest.update(f"{case.id}\0{case.content_hash}\n".encode())
    return digest.hexdigest()
