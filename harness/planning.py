"""From settings or a run's manifest to a ``RunPlan``, and the run directory's life cycle.

The CLI's ``run``, ``merge`` and ``calibrate`` commands use these; they hold no I/O beyond
creating or discarding a run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from harness.config import Settings
from harness.errors import UsageError


def first_missing(path: Path) -> Optional[Path]:
    """The outermost directory of ``path`` that does not exist yet (what a run would create)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def discard_if_empty(out_dir: Path, created: Optional[Path]) -> None:
    """A run that stopped on bad input before any row leaves nothing behind; rows are kept (resumable)."""
    import shutil

    from harness.results import RESULTS

    results = out_dir / RESULTS
    if created is not None and (not results.exists() or results.stat().st_size == 0):
        shutil.rmtree(created, ignore_errors=True)


def plan_from_settings(settings: Settings, repeats: int, shard: Optional[str]):
    from harness.checks import resolve_check_names
    from harness.dataset import load_dataset
    from harness.prompts import load_prompts
    from harness.runner import RunPlan, Shard

    return RunPlan(
        prompts=tuple(load_prompts(settings.path(settings.prompts_dir), list(dict.fromkeys(settings.prompts)) or None)),
        models=tuple(dict.fromkeys(settings.models)),
        cases=tuple(load_dataset(settings.path(settings.dataset_dir), list(dict.fromkeys(settings.cases)) or None)),
        checks=tuple(resolve_check_names(settings.checks, "[tool.harness] checks")),
        mode=settings.mode,
        repeats=repeats,
        api_base=settings.api_base,
        shard=Shard.parse(shard) if shard else Shard(),
        **call_settings(settings),
    )


def call_settings(settings: Settings, judges: Optional[list[str]] = None, judge_model: Optional[str] = None) -> dict:
    """The ``RunPlan`` fields that say how calls are made (limits, retries, budget, judges), from
    settings: one place for runs, resumes, evals and calibration. ``judges`` and ``judge_model``
    override the settings' (a resume keeps its run's)."""
    from harness.judges import resolve_judge_names

    return dict(
        timeout_s=settings.timeout_s,
        concurrency=settings.concurrency,
        processes=settings.processes,
        model_limits=settings.model_limits,
        retry=settings.retry,
        max_cost_usd=settings.max_cost_usd,
        judges=resolve_judge_names(settings.judges if judges is None else judges, "judges"),
        judge_model=judge_model or settings.judge_model,
        judge_api_base=settings.judge_api_base,
        judge_repeats=settings.judge_repeats,
        judge_thresholds=settings.judge_thresholds,
    )


def plan_from_manifest(settings: Settings, manifest):
    """Rebuild a run's plan; refuse when its prompts or cases changed since."""
    from harness.dataset import dataset_hash, load_dataset
    from harness.prompts import load_prompt
    from harness.runner import RunPlan, Shard

    prompts = []
    for entry in manifest.prompts:
        version = load_prompt(settings.path(settings.prompts_dir), entry.id)
        if version.hash != entry.hash:
            raise UsageError(f"--resume: prompt {entry.id} changed since the run (hash {entry.hash} -> {version.hash}); start a new run")
        prompts.append(version)
    cases = load_dataset(settings.path(settings.dataset_dir), manifest.cases)
    if dataset_hash(cases) != manifest.dataset_hash:
        raise UsageError("--resume: the dataset's cases changed since the run; start a new run")
    return RunPlan(
        prompts=tuple(prompts),
        models=tuple(manifest.models),
        cases=tuple(cases),
        checks=tuple(manifest.checks),
        mode=manifest.mode,
        repeats=manifest.repeats,
        api_base=settings.api_base or manifest.api_base,
        shard=Shard.parse(manifest.shard) if manifest.shard else Shard(),
        **call_settings(settings, manifest.judges, manifest.judge_model),
    )


def new_out_dir(settings: Settings) -> Path:
    from harness.runner import new_run_dir

    return new_run_dir(settings.path(settings.runs_dir))


def checked_out_dir(out: Path, settings: Settings) -> Path:
    """``--out`` must not contain '..' and must not already hold results."""
    from harness.results import RESULTS

    if ".." in out.parts:
        raise UsageError(f"--out {out}: must not contain '..'; give a path inside the project or an absolute path")
    if (out / RESULTS).exists():
        raise UsageError(f"--out {out}: already holds a run; use --resume {out} to finish it, or another directory")
    return out


def render_all(plan) -> None:
    """Render every (prompt, case) once, so a template error is reported before any file is written."""
    for version in plan.prompts:
        for case in plan.cases:
            version.render(case.research)
