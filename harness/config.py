"""Settings: ``[tool.harness]`` in ``pyproject.toml``, then ``HARNESS_*`` env vars, then CLI flags.

This is the only module that reads configuration. The resulting ``Settings`` object is passed
down to whatever needs it; nothing else looks at the environment or ``pyproject.toml``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import InputError, UsageError, first_problem
from harness.files import read_toml_file
from harness.scheduler import ModelLimit, RetryPolicy

ReplayMode = Literal["replay", "record", "auto", "live"]
ENV_PREFIX = "HARNESS_"


class Settings(BaseModel):
    """Everything configurable, with defaults that run the embedded offline evals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path = Field(default_factory=Path.cwd, description="project root; relative paths start here")
    prompts_dir: Path = Path("prompts")
    dataset_dir: Path = Path("datasets/research")
    recordings_dir: Path = Path("recordings")
    runs_dir: Path = Path("runs")
    prompts: list[str] = Field(default_factory=list, description="prompt ids to run; empty = every version")
    models: list[str] = Field(default_factory=lambda: ["offline/extractive"])
    cases: list[str] = Field(default_factory=list, description="case ids; empty = the whole dataset")
    checks: list[str] | None = Field(default=None, description="rule checks to run; null = all")
    mode: ReplayMode = "auto"
    api_base: str | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    concurrency: int = Field(default=16, ge=1)
    processes: int | None = Field(default=None, ge=0, description="worker processes that replay and check big runs; null = one per CPU, 0 = none")
    model_limits: dict[str, ModelLimit] = Field(default_factory=dict, description="per-model concurrency, rpm, tpm")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_cost_usd: float | None = Field(default=None, ge=0)
    judges: list[str] = Field(default_factory=list, description="judge metrics to run: synthesis_quality, faithfulness")
    judge_model: str | None = Field(default=None, description="litellm model for the judge, apart from the models under test")
    judge_api_base: str | None = None
    judge_repeats: int = Field(default=1, ge=1)
    judge_thresholds: dict[str, float] = Field(default_factory=dict, description="per-metric pass thresholds (0..1)")
    primary_metric: str = Field(default="all_checks", description="leaderboard sort key (a check, a judge, or all_checks)")
    compare_baseline: str | None = Field(default=None, description="prompt id the evals gate compares against")
    compare_candidate: str | None = Field(default=None, description="prompt id the evals gate checks for regressions")
    max_flips: int = Field(default=0, ge=0, description="pass->fail flips tolerated by --fail-on-regression")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level of compare verdicts")
    fail_on_error: bool = Field(default=True, description="harness run exits 1 when any row errored")
    eval_models: list[str] = Field(default_factory=list, description="models pytest evals/ runs by default")
    eval_mode: ReplayMode = Field(default="replay", description="pytest evals/ never calls a model unless told to")
    eval_recorded: bool = Field(default=True, description="pytest evals/ also replays every recorded (prompt, model, case)")
    expectations: Path = Path("evals/expected_failures.toml")

    @field_validator("prompts", "models", "cases", "checks", "eval_models", "judges", mode="before")
    @classmethod
    def _split_strings(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    def path(self, relative: Path) -> Path:
        """Resolve a configured path against the project root."""
        return relative if relative.is_absolute() else self.root / relative

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with CLI flag values applied (``None`` and empty lists mean 'not given')."""
        given = {key: value for key, value in overrides.items() if value not in (None, [], ())}
        if not given:
            return self
        try:
            return Settings.model_validate({**self.model_dump(), **given})
        except ValidationError as error:
            first = error.errors()[0]
            raise UsageError(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}") from None


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` whose pyproject.toml has ``[tool.harness]``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                if "harness" in tomllib.loads(candidate.read_text(encoding="utf-8")).get("tool", {}):
                    return directory
            except (tomllib.TOMLDecodeError, OSError):
                return directory
    return start


def _env_values(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and name != "root":
            values[name] = raw
    return values


def load_settings(start: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read ``[tool.harness]`` from the project's pyproject.toml, then apply ``HARNESS_*`` env vars."""
    environ = dict(os.environ if environ is None else environ)
    root = Path(environ.get(ENV_PREFIX + "ROOT") or find_project_root((start or Path.cwd()).resolve()))
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.is_file():
        table = read_toml_file(pyproject).get("tool", {}).get("harness", {})
        if not isinstance(table, dict):
            raise InputError(f"{pyproject}: [tool.harness] must be a table")
    try:
        settings = Settings.model_validate({**table, "root": root})
    except ValidationError as error:
        raise InputError(f"{pyproject}: [tool.harness] {first_problem(error)}") from None
    env = _env_values(environ)
    try:
        return Settings.model_validate({**settings.model_dump(), **env})
    except ValidationError as error:
        first = error.errors()[0]
        raise UsageError(f"{ENV_PREFIX}{str(first['loc'][0]).upper()}: {first['msg']}") from None
