"""The ``harness`` command line. Commands import heavy modules (litellm, deepeval) lazily, so
``check``, ``render``, ``prompts`` and ``datasets`` start fast."""

from __future__ import annotations

import harness._env  # noqa: F401  (offline/telemetry defaults before any dependency import)

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.config import Settings, load_settings
from harness.errors import HarnessError, UsageError

app = typer.Typer(
    help="Evaluate prompt versions: render, check, run, compare. Offline by default.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
prompts_app = typer.Typer(help="Prompt versions.", no_args_is_help=True)
datasets_app = typer.Typer(help="Dataset cases.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(datasets_app, name="datasets")


class CheckFormat(str, Enum):
    json = "json"
    table = "table"


def _settings() -> Settings:
    return load_settings()


def _stdout_line(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _error_line(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help="Output files to check; '-' reads stdin.")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="Prompt version whose section spec applies.")],
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="json: one object per line; table: for people.")] = CheckFormat.json,
) -> None:
    """Check model outputs against a prompt version's rules.

    Exit 0 when every check passes, 1 when one fails, 2 on usage or input errors.

    Example: harness check --prompt conclusion/v1 output.html
    """
    from harness.checks import parse_output, run_checks
    from harness.prompts import load_prompt

    settings = _settings()
    version = load_prompt(settings.path(settings.prompts_dir), prompt)
    checks = settings.checks
    reports, input_errors = [], 0
    for name in files:
        try:
            text = sys.stdin.read() if name == "-" else _read_output_file(Path(name))
        except HarnessError as error:
            _error_line(str(error))
            input_errors += 1
            continue
        parsed = parse_output(text)
        results = run_checks(parsed, version.spec, checks)
        report = {
            "file": name,
            "prompt": version.id,
            "passed": all(result.passed for result in results.values()),
            "checks": {check_name: result.as_json() for check_name, result in results.items()},
            "paragraph_word_counts": parsed.paragraph_word_counts,
        }
        reports.append(report)
        if format is CheckFormat.json:
            _stdout_line(report)
    if format is CheckFormat.table:
        from harness.report.terminal import print_check_table

        print_check_table(reports)
    if input_errors:
        raise typer.Exit(2)
    if not all(report["passed"] for report in reports):
        raise typer.Exit(1)


def _read_output_file(path: Path) -> str:
    from harness.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a model output") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None


@app.command()
def render(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="Prompt version id, e.g. conclusion/v1.")],
    case: Annotated[str, typer.Option("--case", "-c", help="Case id (the file stem in the dataset).")],
) -> None:
    """Print the messages a prompt version renders for a case, as a JSON list.

    Example: harness render --prompt conclusion/v1 --case llmops-vs-mlops
    """
    from harness.dataset import load_dataset
    from harness.prompts import load_prompt

    settings = _settings()
    version = load_prompt(settings.path(settings.prompts_dir), prompt)
    [loaded] = load_dataset(settings.path(settings.dataset_dir), [case])
    sys.stdout.write(json.dumps(version.render(loaded.research), indent=2, ensure_ascii=False) + "\n")


@prompts_app.command("list")
def prompts_list() -> None:
    """List prompt versions with their content hashes and descriptions.

    Example: harness prompts list
    """
    from rich.console import Console
    from rich.table import Table

    from harness.prompts import load_prompts

    settings = _settings()
    table = Table("prompt", "hash", "sections (word budgets)", "description")
    for version in load_prompts(settings.path(settings.prompts_dir)):
        budgets = ", ".join(f"{s.min_words}-{s.max_words}" for s in version.spec.sections)
        table.add_row(version.id, version.hash, budgets, " ".join(version.description.split()))
    Console().print(table)


@datasets_app.command("validate")
def datasets_validate(
    directory: Annotated[Optional[Path], typer.Argument(help="Dataset directory (default from config).")] = None,
) -> None:
    """Validate every case file; print one line per problem.

    Example: harness datasets validate datasets/research
    """
    from harness.dataset import validate_dataset

    settings = _settings()
    target = directory or settings.path(settings.dataset_dir)
    count, problems = validate_dataset(target)
    for problem in problems:
        _error_line(problem)
    if problems:
        sys.stdout.write(f"{len(problems)} problem(s) in {count} case file(s) under {target}\n")
        raise typer.Exit(2)
    sys.stdout.write(f"{count} case file(s) valid under {target}\n")


@datasets_app.command("schema")
def datasets_schema() -> None:
    """Print the JSON Schema of a case file (the research JSON), for editors and validators.

    Example: harness datasets schema > research.schema.json
    """
    from harness.dataset import ResearchInput

    sys.stdout.write(json.dumps(ResearchInput.model_json_schema(), indent=2) + "\n")


@datasets_app.command("list")
def datasets_list() -> None:
    """List cases with their tags.

    Example: harness datasets list
    """
    from rich.console import Console
    from rich.table import Table

    from harness.dataset import load_dataset

    settings = _settings()
    table = Table("case", "source", "sub-questions", "characters", "tags")
    for case in load_dataset(settings.path(settings.dataset_dir)):
        research = case.input
        size = len(json.dumps(case.research, indent=2))
        table.add_row(case.id, case.meta.source, str(len(research.sub_questions)), str(size), ", ".join(case.meta.tags))
    Console().print(table)


class Mode(str, Enum):
    replay = "replay"
    record = "record"
    auto = "auto"
    live = "live"


@app.command()
def run(
    prompt: Annotated[Optional[list[str]], typer.Option("--prompt", "-p", help="Prompt version (repeatable); default: every version.")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="litellm model string (repeatable); default from config.")] = None,
    case: Annotated[Optional[list[str]], typer.Option("--case", "-c", help="Case id (repeatable); default: the whole dataset.")] = None,
    mode: Annotated[Optional[Mode], typer.Option("--mode", help="replay: recordings only; record: call and store; auto: replay else call and store; live: call, store nothing.")] = None,
    api_base: Annotated[Optional[str], typer.Option("--api-base", help="Base URL of an OpenAI-compatible server.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run directory (default runs/<timestamp>-<id>/).")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, help="Calls in flight at once (default 16).")] = None,
    processes: Annotated[Optional[int], typer.Option("--processes", min=0, help="Worker processes that read recordings and check outputs in runs of 1,000+ rows (default: one per CPU; 0: none).")] = None,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Samples per case × prompt × model.")] = 1,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", min=0, help="Stop scheduling calls once this many USD are spent.")] = None,
    shard: Annotated[Optional[str], typer.Option("--shard", help="Run only shard i of N of the matrix, e.g. 2/4.")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Finish an interrupted run: rows missing or errored.")] = None,
    judges: Annotated[Optional[bool], typer.Option("--judges/--no-judges", help="Score outputs with the LLM judges (synthesis_quality, faithfulness).")] = None,
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="litellm model for the judges, apart from --model.")] = None,
    judge_api_base: Annotated[Optional[str], typer.Option("--judge-api-base", help="Base URL of the judge's OpenAI-compatible server.")] = None,
    judge_repeats: Annotated[Optional[int], typer.Option("--judge-repeats", min=1, help="Score each output N times: mean, spread, share above threshold.")] = None,
) -> None:
    """Run prompt versions × models × cases, check every output, write a run directory.

    Exit 0 when every row has an answer (failing checks are results), 1 when a row errored,
    2 when the run could not start.

    Example (no network): harness run --prompt conclusion/v1
    --model openrouter/google/gemini-2.5-flash-preview-05-20 --case llmops-vs-mlops --mode replay
    """
    from harness.progress import Progress
    from harness.replay import ReplayStore
    from harness.report.terminal import print_run_summary
    from harness.results import iter_rows, latest_rows, read_manifest
    from harness.planning import (
        checked_out_dir, discard_if_empty, first_missing, new_out_dir, plan_from_manifest, plan_from_settings, render_all,
    )
    from harness.runner import pending_tasks, run as run_plan, tasks_of
    from harness.scheduler import CallStats
    from harness.summary import summarize

    settings = _settings().with_overrides(
        prompts=prompt, models=model, cases=case, mode=mode.value if mode else None, api_base=api_base,
        concurrency=concurrency, processes=processes, max_cost_usd=max_cost, judge_model=judge_model, judge_api_base=judge_api_base,
        judge_repeats=judge_repeats,
    )
    if judges is True and not settings.judges:
        settings = settings.with_overrides(judges=["synthesis_quality", "faithfulness"])
    elif judges is False:
        settings = settings.model_copy(update={"judges": []})
    manifest = None
    if resume is not None:
        manifest = read_manifest(resume)
        plan = plan_from_manifest(settings, manifest)
        out_dir = resume
        previous = latest_rows(iter_rows(resume))
        tasks = pending_tasks(plan, previous)
        sys.stderr.write(f"resuming {resume}: {len(tasks)} of {manifest.rows_expected} rows to run\n")
    else:
        plan = plan_from_settings(settings, repeats, shard)
        out_dir = checked_out_dir(out, settings) if out else new_out_dir(settings)
        tasks, previous = None, []
    render_all(plan)
    created = first_missing(out_dir) if resume is None else None
    total = len(tasks) if tasks is not None else len(tasks_of(plan))
    if plan.judges:
        import os

        # deepeval writes a key file and caches: keep them under this run, not in the project.
        os.environ["DEEPEVAL_CACHE_FOLDER"] = str((out_dir / ".deepeval").resolve())
    stats = CallStats()
    progress = Progress(total, stats)
    try:
        rows, stats = run_plan(plan, out_dir, ReplayStore(settings.path(settings.recordings_dir)), settings.root,
                               on_row=progress.update, tasks=tasks, manifest=manifest, stats=stats)
    except HarnessError:
        progress.close()
        discard_if_empty(out_dir, created)
        raise
    except KeyboardInterrupt:
        progress.close()
        _error_line(f"interrupted after {progress.done} of {total} rows; every finished row is in {out_dir / 'results.jsonl'}")
        _error_line(f"resume with: harness run --resume {out_dir}")
        raise typer.Exit(130)
    progress.close()
    final = latest_rows([*previous, *rows])
    print_run_summary(summarize(final))
    errors = [row for row in final if row.error is not None]
    for row in errors[:20]:
        _error_line(f"{row.prompt_id} × {row.model} × {row.case_id}: {row.error.type}: {row.error.message}")
    retried = f", {stats.retries} retries" if stats.retries else ""
    sys.stdout.write(f"{len(final)} rows, {len(errors)} errors{retried} -> {out_dir}\n")
    if errors:
        sys.stdout.write(f"resume with: harness run --resume {out_dir}\n")
    if errors and settings.fail_on_error:
        raise typer.Exit(1)


@app.command()
def merge(
    runs: Annotated[list[Path], typer.Argument(help="Shard run directories of one run.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the merged run.")],
) -> None:
    """Merge shard run directories (same manifest, different --shard) into one run.

    Example: harness merge runs/shard-1 runs/shard-2 --out runs/merged
    """
    from harness.planning import checked_out_dir
    from harness.results import merge_runs

    manifest, rows = merge_runs(runs, checked_out_dir(out, _settings()))
    sys.stdout.write(f"merged {len(runs)} run(s): {len(rows)} rows of {manifest.rows_expected} -> {out}\n")


@app.command("import-langfuse")
def import_langfuse(
    file: Annotated[Path, typer.Argument(help="Langfuse observations export (JSON).")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="litellm model name to record under (default: the trace's).")] = None,
    case_id: Annotated[Optional[str], typer.Option("--case-id", help="Case id for the imported research (default: from the main query).")] = None,
) -> None:
    """Import Langfuse generations as dataset cases and replay recordings.

    Example: harness import-langfuse export.json --case-id llmops-vs-mlops
    """
    from harness.langfuse import import_export
    from harness.prompts import load_prompts
    from harness.replay import ReplayStore

    settings = _settings()
    imported, warnings = import_export(
        file,
        dataset_dir=settings.path(settings.dataset_dir),
        store=ReplayStore(settings.path(settings.recordings_dir)),
        prompts=load_prompts(settings.path(settings.prompts_dir)),
        model=model,
        case_id=case_id,
    )
    for warning in warnings:
        sys.stderr.write(f"warning: {warning}\n")
    for call in imported:
        matched = ", ".join(call.matched_prompts) or "no prompt version"
        case_note = "new case" if call.case_written else "existing case"
        sys.stdout.write(f"{call.observation_id}: case {call.case_id} ({case_note}), model {call.model}, matches {matched}, recording {call.recording}\n")
    if not imported:
        _error_line(f"{file}: no research generations to import")
        raise typer.Exit(2)


class TableFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    csv = "csv"
    html = "html"


def _append_step_summary(markdown: str) -> None:
    """GitHub Actions shows what is appended to $GITHUB_STEP_SUMMARY on the run's page."""
    import os

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(markdown + "\n")


def _specs(settings: Settings, prompt_ids: list[str]) -> dict:
    from harness.prompts import load_prompt

    specs = {}
    for prompt_id in prompt_ids:
        try:
            specs[prompt_id] = load_prompt(settings.path(settings.prompts_dir), prompt_id).spec
        except HarnessError:
            continue  # a run of a prompt version no longer on disk: bars drawn without budgets
    return specs


@app.command("leaderboard")
def leaderboard_command(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="Run directories (default: the latest run of each prompt × model).")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f")] = TableFormat.table,
    primary: Annotated[Optional[str], typer.Option("--primary", help="Metric to rank by (default from config: all_checks).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout (html needs it).")] = None,
) -> None:
    """One row per prompt version × model: pass rates with Wilson 95% intervals, judge means with
    bootstrap intervals, cost per output, p50/p95 latency, tokens, cases and errors.

    Example: harness leaderboard --format markdown
    """
    from harness.leaderboard import leaderboard
    from harness.report.markdown import leaderboard_markdown
    from harness.report.tables import leaderboard_records, records_csv
    from harness.table import latest_table, load_table

    settings = _settings()
    table = load_table(runs) if runs else latest_table(settings.path(settings.runs_dir))
    rows = leaderboard(table, primary or settings.primary_metric)
    markdown = leaderboard_markdown(rows)
    _append_step_summary(markdown)
    if format is TableFormat.table:
        from harness.report.terminal import print_leaderboard

        print_leaderboard(rows)
        return
    if format is TableFormat.html:
        _write_html_report(settings, rows, None, runs, output or Path("leaderboard.html"))
        return
    text = {
        TableFormat.markdown: lambda: markdown,
        TableFormat.json: lambda: json.dumps(leaderboard_records(rows), indent=2) + "\n",
        TableFormat.csv: lambda: records_csv(leaderboard_records(rows)),
    }[format]()
    _emit(text, output)


def _emit(text: str, output: Optional[Path]) -> None:
    if output:
        from harness.replay import atomic_write_text

        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)


@app.command("compare")
def compare_command(
    baseline: Annotated[str, typer.Argument(help="Run directory, or prompt id (e.g. conclusion/v1) selecting rows of --run.")],
    candidate: Annotated[str, typer.Argument(help="Run directory, or prompt id (e.g. conclusion/v2).")],
    run_dirs: Annotated[Optional[list[Path]], typer.Option("--run", help="Run directory to select prompt ids from (repeatable; default: the latest run).")] = None,
    format: Annotated[TableFormat, typer.Option("--format", "-f", help="table, markdown or json.")] = TableFormat.table,
    fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression", help="Exit 1 when a metric is significantly worse or checks flip pass -> fail beyond max_flips.")] = False,
    max_flips: Annotated[Optional[int], typer.Option("--max-flips", min=0, help="Pass -> fail flips tolerated (default from config: 0).")] = None,
) -> None:
    """Is the candidate better? Paired by case, model and sample: means, paired bootstrap 95%
    interval of the difference, wins/ties/losses, exact McNemar or sign test, verdict, flips.

    Example: harness compare conclusion/v1 conclusion/v2 --run runs/20261204-120000-ab12cd --fail-on-regression
    """
    from harness.compare import compare, select_side
    from harness.report.markdown import compare_markdown
    from harness.report.tables import comparison_json

    settings = _settings()
    runs_dir = settings.path(settings.runs_dir)
    base_label, base_rows = select_side(baseline, run_dirs or [], runs_dir)
    cand_label, cand_rows = select_side(candidate, run_dirs or [], runs_dir)
    comparison = compare(base_rows, cand_rows, base_label, cand_label, alpha=settings.alpha)
    markdown = compare_markdown(comparison)
    _append_step_summary(markdown)
    if format is TableFormat.json:
        sys.stdout.write(json.dumps(comparison_json(comparison), indent=2) + "\n")
    elif format is TableFormat.markdown:
        sys.stdout.write(markdown)
    elif format is TableFormat.table:
        from harness.report.terminal import print_comparison

        print_comparison(comparison)
    else:
        raise UsageError(f"--format {format.value}: compare prints table, markdown or json")
    regressions = comparison.regressions(settings.max_flips if max_flips is None else max_flips)
    if fail_on_regression and regressions:
        for reason in regressions:
            _error_line(f"regression: {reason}")
        raise typer.Exit(1)


@app.command("report")
def report_command(
    runs: Annotated[Optional[list[Path]], typer.Argument(help="Run directories (default: the latest run of each prompt × model).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("report.html"),
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="Prompt id for the compare view (default from config, else the first version).")] = None,
    candidate: Annotated[Optional[str], typer.Option("--candidate", help="Prompt id for the compare view (default from config, else the second version).")] = None,
) -> None:
    """Write a self-contained HTML report: leaderboard, compare view, per-case drill-down.

    Example: harness report runs/20261204-120000-ab12cd -o report.html
    """
    from harness.leaderboard import leaderboard
    from harness.table import latest_table, load_table

    settings = _settings()
    table = load_table(runs) if runs else latest_table(settings.path(settings.runs_dir))
    rows = leaderboard(table, settings.primary_metric)
    _write_html_report(settings, rows, table, runs, output, baseline, candidate)


def _write_html_report(settings: Settings, rows, table, runs, output: Path, baseline: Optional[str] = None,
                       candidate: Optional[str] = None) -> None:
    import polars as pl

    from harness.compare import compare
    from harness.prompts import list_prompt_ids
    from harness.report.html import render_report, write_report
    from harness.results import iter_rows, latest_rows
    from harness.table import latest_runs

    directories = runs or latest_runs(settings.path(settings.runs_dir))[0]
    result_rows = latest_rows(row for directory in directories for row in iter_rows(directory))
    present = sorted({row.prompt_id for row in result_rows}, key=lambda p: (list_prompt_ids(settings.path(settings.prompts_dir)) + [p]).index(p))
    comparison = None
    base = baseline or settings.compare_baseline or (present[0] if len(present) > 1 else None)
    cand = candidate or settings.compare_candidate or (present[1] if len(present) > 1 else None)
    if table is not None and base and cand and base in present and cand in present:
        comparison = compare(table.filter(pl.col("prompt_id") == base), table.filter(pl.col("prompt_id") == cand), base, cand,
                             alpha=settings.alpha)
    html = render_report(rows, comparison, result_rows, _specs(settings, present))
    write_report(output, html)
    sys.stdout.write(f"report: {output} ({len(html) // 1024} KiB)\n")


@app.command("calibrate")
def calibrate_command(
    judge_model: Annotated[Optional[str], typer.Option("--judge-model", help="litellm model for the judges (default from config).")] = None,
    judge_api_base: Annotated[Optional[str], typer.Option("--judge-api-base", help="Base URL of the judge's OpenAI-compatible server.")] = None,
    mode: Annotated[Optional[Mode], typer.Option("--mode", help="replay, record, auto (default) or live, as for harness run.")] = None,
    directory: Annotated[Path, typer.Option("--pairs", help="Directory of labelled calibration pairs.")] = Path("datasets/judge-calibration"),
    format: Annotated[CheckFormat, typer.Option("--format", "-f", help="table or json.")] = CheckFormat.table,
) -> None:
    """Measure the judges against human labels: accuracy, Cohen's kappa, Spearman, confusion matrix,
    and the pairs the judge got wrong.

    Example: harness calibrate --judge-model openai/gpt-4o-mini
    """
    import os

    from harness.calibrate import as_json, calibrate, load_pairs
    from harness.dataset import load_dataset
    from harness.judges import JUDGES
    from harness.prompts import load_prompts
    from harness.replay import ReplayStore
    from harness.planning import call_settings
    from harness.runner import Execution, RunPlan

    settings = _settings().with_overrides(judge_model=judge_model, judge_api_base=judge_api_base, mode=mode.value if mode else None)
    if not settings.judge_model:
        raise UsageError("--judge-model: calibration needs a judge model (or [tool.harness] judge_model)")
    os.environ.setdefault("DEEPEVAL_CACHE_FOLDER", str(settings.path(settings.runs_dir) / ".deepeval"))
    pairs = load_pairs(directory if directory.is_absolute() else settings.root / directory)
    cases = {case.id: case for case in load_dataset(settings.path(settings.dataset_dir))}
    spec = load_prompts(settings.path(settings.prompts_dir))[0].spec
    plan = RunPlan(prompts=(), models=(), cases=(), checks=(), mode=settings.mode, **call_settings(settings, list(JUDGES)))
    execution = Execution.start(plan, ReplayStore(settings.path(settings.recordings_dir)))
    metrics = calibrate(pairs, cases, execution.judging, spec)
    if format is CheckFormat.json:
        sys.stdout.write(as_json(metrics))
    else:
        from harness.report.terminal import print_calibration

        print_calibration(metrics, settings.judge_model)


def main() -> None:
    """Entry point: run the app, turning user errors into one line on stderr and exit 2."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.exceptions import Abort

    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except NoArgsIsHelpError as error:
        error.show()
        sys.exit(0)
    except ClickException as error:
        # click prints a multi-line usage box; scripts and CI get one line naming the option
        _error_line(" ".join(error.format_message().split()) + " (see --help)")
        sys.exit(error.exit_code)
    except Abort:
        _error_line("aborted")
        sys.exit(130)
    except HarnessError as error:
        _error_line(str(error))
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _error_line("interrupted")
        sys.exit(130)


__all__ = ["app", "main"]
