"""What ``pytest evals/`` runs: the eval matrix and the known failures it expects.

The default matrix is the embedded offline set: every prompt version × every case with the
configured eval models (``offline/extractive``), plus every recorded call whose labels name a
prompt version and case (the replayed real trace among them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.config import Settings
from harness.dataset import Case, load_dataset
from harness.errors import InputError, first_problem
from harness.files import read_toml_file
from harness.prompts import PromptVersion, load_prompts
from harness.replay import ReplayStore
from harness.runner import RunPlan, Task


class KnownFailure(BaseModel):
    """A check expected to fail, with the reason; run as a strict xfail so a fix is noticed."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: str
    case: str
    check: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.prompt, self.model, self.case, self.check)


class _Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    known_failure: list[KnownFailure] = []


def load_expectations(path: Path) -> dict[tuple[str, str, str, str], str]:
    """Known failures by (prompt, model, case, check) -> reason. A missing file means none."""
    if not path.exists():
        return {}
    document = read_toml_file(path)
    try:
        parsed = _Expectations.model_validate(document)
    except ValidationError as error:
        raise InputError(f"{path}: {first_problem(error)}") from None
    return {failure.key: failure.reason for failure in parsed.known_failure}


@dataclass(frozen=True)
class EvalMatrix:
    plan: RunPlan
    tasks: list[Task]


def build_matrix(settings: Settings, models: list[str] | None = None) -> EvalMatrix:
    """The eval tasks for these settings; explicit ``models`` replace the default set."""
    from harness.checks import resolve_check_names
    from harness.planning import call_settings

    prompts = load_prompts(settings.path(settings.prompts_dir), settings.prompts or None)
    cases = load_dataset(settings.path(settings.dataset_dir), settings.cases or None)
    chosen_models = list(dict.fromkeys(models or settings.eval_models))
    tasks = [Task(case, prompt, model, 0) for prompt in prompts for model in chosen_models for case in cases]
    if settings.eval_recorded and not models:
        tasks += _recorded_tasks(ReplayStore(settings.path(settings.recordings_dir)), prompts, cases, {(t.prompt.id, t.model, t.case.id) for t in tasks})
    plan = RunPlan(
        prompts=tuple(prompts),
        models=tuple(dict.fromkeys(task.model for task in tasks)),
        cases=tuple(cases),
        checks=tuple(resolve_check_names(settings.checks, "[tool.harness] checks")),
        mode=settings.eval_mode,
        api_base=settings.api_base,
        **call_settings(settings),
    )
    return EvalMatrix(plan=plan, tasks=tasks)


def _recorded_tasks(store: ReplayStore, prompts: list[PromptVersion], cases: list[Case], seen: set[tuple[str, str, str]]) -> list[Task]:
    by_prompt = {prompt.id: prompt for prompt in prompts}
    by_case = {case.id: case for case in cases}
    tasks = []
    for _, recording in store.recordings():
        prompt = by_prompt.get(recording.labels.get("prompt_id", ""))
        case = by_case.get(recording.labels.get("case_id", ""))
        key = (prompt.id if prompt else "", recording.request.model, case.id if case else "")
        if prompt and case and key not in seen:
            seen.add(key)
            tasks.append(Task(case, prompt, recording.request.model, recording.request.sample))
    return tasks
