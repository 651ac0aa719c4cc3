"""Versioned prompt templates and the section spec they share with the checks.

Layout on disk (``prompts/`` by default)::

    prompts/<task>/sections.toml      the task's section spec: names, order, word budgets
    prompts/<task>/<version>/prompt.toml   description, model parameters, optional spec override
    prompts/<task>/<version>/system.j2     system message template
    prompts/<task>/<version>/user.j2       user message template

The prompt id is ``<task>/<version>`` (e.g. ``conclusion/v1``). Budgets are written once, in the
spec; templates render them from it and the checks read the same object.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import InputError, first_problem
from harness.files import read_toml_file

PROMPT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*/v[0-9]+[a-z0-9_.-]*$")
SPEC_FILE = "sections.toml"
META_FILE = "prompt.toml"
MESSAGE_TEMPLATES = (("system", "system.j2"), ("user", "user.j2"))


class Section(BaseModel):
    """One section of the output: a key for templates, a display name, an inclusive word budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    min_words: int = Field(ge=0)
    max_words: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered_budget(self) -> Section:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is above max_words {self.max_words}")
        return self

    @property
    def budget(self) -> str:
        """The budget as prompts state it, e.g. ``150-200 words``."""
        return f"{self.min_words}-{self.max_words} words"


class SectionSpec(BaseModel):
    """The ordered sections an output must have, and how far a count may stray from a budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sections: tuple[Section, ...] = Field(min_length=1)
    tolerance: int = Field(default=0, ge=0, description="words allowed outside each budget")

    def bounds(self, index: int) -> tuple[int, int]:
        """Inclusive word bounds of section ``index``, widened by the tolerance."""
        section = self.sections[index]
        return max(0, section.min_words - self.tolerance), section.max_words + self.tolerance


class ModelParameters(BaseModel):
    """Sampling parameters sent with the prompt. Numbers are normalized (``"0.2"`` -> ``0.2``)."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None

    def as_request(self) -> dict[str, Any]:
        return {key: value for key, value in self.model_dump().items() if value is not None}


class PromptMeta(BaseModel):
    """The ``prompt.toml`` of a version."""

    model_config = ConfigDict(extra="forbid")

    description: str
    parameters: ModelParameters = Field(default_factory=ModelParameters)
    sections: SectionSpec | None = None


@dataclass(frozen=True)
class PromptVersion:
    """A prompt version: its templates, its parameters, its section spec and its content hash."""

    id: str
    description: str
    parameters: dict[str, Any]
    spec: SectionSpec
    templates: tuple[tuple[str, str], ...] = field(repr=False)
    hash: str = ""
    path: Path | None = None

    def render(self, research: dict[str, Any]) -> list[dict[str, str]]:
        """Render the chat messages for one research input."""
        context = {
            "research": research,
            "spec": self.spec,
            "sections": self.spec.sections,
            "section": {section.key: section for section in self.spec.sections},
        }
        messages = []
        for role, source in self.templates:
            template_name = f"{self.id}/{role}"
            try:
                text = _compiled(source).render(context)
            except jinja2.UndefinedError as error:
                raise InputError(f"{self.path or self.id}/{role}.j2: undefined template variable: {error.message}") from None
            except jinja2.TemplateError as error:
                raise InputError(f"{template_name}: template error: {error}") from None
            except RecursionError:
                raise InputError(f"{template_name}: the research input is nested too deeply to render") from None
            messages.append({"role": role, "content": text})
        return messages


def _to_json(value: Any, indent: int | None = 2) -> str:
    # Not jinja's |tojson: that one HTML-escapes < > & ', which would change the research text.
    return json.dumps(value, indent=indent)


_ENVIRONMENT = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["json"] = _to_json


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> jinja2.Template:
    """Compile a template once: compiling costs milliseconds, rendering microseconds."""
    return _ENVIRONMENT.from_string(source)


def load_spec(path: Path) -> SectionSpec:
    """Load a ``sections.toml`` section spec."""
    try:
        return SectionSpec.model_validate(read_toml_file(path))
    except ValidationError as error:
        raise InputError(f"{path}: {first_problem(error)}") from None


def load_prompt(prompts_dir: Path, prompt_id: str) -> PromptVersion:
    """Load prompt version ``<task>/<version>`` from ``prompts_dir``."""
    if not PROMPT_ID_PATTERN.match(prompt_id):
        raise InputError(f"--prompt {prompt_id!r}: expected an id like 'conclusion/v1'")
    directory = prompts_dir / prompt_id
    meta_path = directory / META_FILE
    if not meta_path.is_file():
        known = ", ".join(list_prompt_ids(prompts_dir)) or "none"
        raise InputError(f"--prompt {prompt_id!r}: no {meta_path} (known prompts: {known})")
    try:
        meta = PromptMeta.model_validate(read_toml_file(meta_path))
    except ValidationError as error:
        raise InputError(f"{meta_path}: {first_problem(error)}") from None
    spec = meta.sections or load_spec(directory.parent / SPEC_FILE)
    templates = []
    for role, filename in MESSAGE_TEMPLATES:
        template_path = directory / filename
        if not template_path.is_file():
            raise InputError(f"{template_path}: missing {role} template")
        source = template_path.read_text(encoding="utf-8")
        try:
            _ENVIRONMENT.parse(source)
        except jinja2.TemplateSyntaxError as error:
            raise InputError(f"{template_path}:{error.lineno}: template syntax error: {error.message}") from None
        templates.append((role, source))
    parameters = meta.parameters.as_request()
    content = json.dumps(
        {
            "id": prompt_id,
            "templates": templates,
            "parameters": parameters,
            "spec": spec.model_dump(mode="json"),
        },
        sort_keys=True,
    )
    return PromptVersion(
        id=prompt_id,
        description=meta.description.strip(),
        parameters=parameters,
        spec=spec,
        templates=tuple(templates),
        hash=hashlib.sha256(content.encode()).hexdigest()[:12],
        path=directory,
    )


def list_prompt_ids(prompts_dir: Path) -> list[str]:
    """Every prompt id under ``prompts_dir``, sorted by task then version number."""
    ids = [
        f"{meta.parent.parent.name}/{meta.parent.name}"
        for meta in prompts_dir.glob(f"*/*/{META_FILE}")
    ]

    def order(prompt_id: str) -> tuple[str, int, str]:
        task, version = prompt_id.split("/")
        digits = re.match(r"v(\d+)", version)
        return task, int(digits.group(1)) if digits else 0, version

    return sorted((i for i in ids if PROMPT_ID_PATTERN.match(i)), key=order)


def load_prompts(prompts_dir: Path, prompt_ids: list[str] | None = None) -> list[PromptVersion]:
    """Load the given prompt versions, or every version when none are given."""
    return [load_prompt(prompts_dir, prompt_id) for prompt_id in (prompt_ids or list_prompt_ids(prompts_dir))]
