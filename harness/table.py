"""Run directories as one tidy polars table: a row per (run, prompt, prompt hash, model, case,
sample, metric), so every leaderboard is a ``group_by().agg()``.

Scanning is lazy (``scan_ndjson`` with an explicit schema). Rows replaced by a resume are
dropped (the last row per key wins). An errored row counts as failing each of its run's
checks, with the error type kept, so errors are never silently left out of a pass rate.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from harness.errors import InputError
from harness.results import RESULTS, Manifest, read_manifest

KEY_COLUMNS = ["run_id", "prompt_id", "prompt_hash", "model", "case_id", "sample"]
_VERDICT = pl.Struct({"passed": pl.Boolean, "score": pl.Float64, "detail": pl.String})
_JUDGE = pl.Struct({"score": pl.Float64, "passed": pl.Boolean, "reason": pl.String, "judge_model": pl.String,
                    "metric_version": pl.String, "cost_usd": pl.Float64, "error": pl.String})


def _schema(checks: Sequence[str], judges: Sequence[str]) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {
        "case_id": pl.String, "prompt_id": pl.String, "prompt_hash": pl.String, "model": pl.String, "sample": pl.Int64,
        "usage": pl.Struct({"input_tokens": pl.Int64, "output_tokens": pl.Int64}),
        "cost_usd": pl.Float64, "latency_s": pl.Float64, "cached": pl.Boolean, "truncated": pl.Boolean,
        "error": pl.Struct({"type": pl.String, "message": pl.String}),
    }
    if checks:
        schema["checks"] = pl.Struct({name: _VERDICT for name in checks})
    if judges:
        schema["judges"] = pl.Struct({name: _JUDGE for name in judges})
    return schema


def _run_frame(directory: Path, manifest: Manifest) -> pl.LazyFrame:
    judges = list(manifest.judges)
    rows = pl.scan_ndjson(directory / RESULTS, schema=_schema(manifest.checks, judges), ignore_errors=True)
    rows = (
        rows.with_columns(
            pl.lit(manifest.run_id).alias("run_id"),
            pl.lit(manifest.started_at).alias("run_started_at"),
            pl.col("usage").struct.field("input_tokens").alias("input_tokens"),
            pl.col("usage").struct.field("output_tokens").alias("output_tokens"),
            pl.col("error").struct.field("type").alias("error"),
        )
        .drop("usage")
        .with_row_index("line")
        .unique(subset=["case_id", "prompt_id", "model", "sample"], keep="last", maintain_order=True)
        .drop("line")
    )
    base = [*KEY_COLUMNS, "run_started_at", "cost_usd", "latency_s", "input_tokens", "output_tokens", "cached", "truncated", "error"]
    parts = []
    for name in manifest.checks:
        verdict = pl.col("checks").struct.field(name)
        parts.append(rows.select(
            *base, pl.lit(name).alias("metric"), pl.lit("check").alias("kind"),
            verdict.struct.field("passed").fill_null(False).alias("passed"),
            verdict.struct.field("score").fill_null(0.0).alias("score"),
            verdict.struct.field("detail").alias("detail"),
        ))
    for name in judges:
        verdict = pl.col("judges").struct.field(name)
        parts.append(rows.select(
            *base, pl.lit(name).alias("metric"), pl.lit("judge").alias("kind"),
            verdict.struct.field("passed").alias("passed"),
            verdict.struct.field("score").alias("score"),
            pl.coalesce(verdict.struct.field("error"), verdict.struct.field("reason")).alias("detail"),
        ))
    return pl.concat(parts, how="vertical") if parts else rows.select(*base).with_columns(
        pl.lit(None, pl.String).alias("metric"), pl.lit(None, pl.String).alias("kind"), pl.lit(None, pl.Boolean).alias("passed"),
        pl.lit(None, pl.Float64).alias("score"), pl.lit(None, pl.String).alias("detail"))


def load_table(run_dirs: Sequence[Path]) -> pl.DataFrame:
    """The tidy table of one or many run directories.

    Rows of one prompt id with different prompt hashes are kept apart (``prompt_hash`` is a key
    column) and a warning says so."""
    if not run_dirs:
        raise InputError("no run directories given (run `harness run` first, or pass RUN dirs)")
    frames = []
    for directory in run_dirs:
        manifest = read_manifest(directory)
        if not (directory / RESULTS).exists():
            raise InputError(f"{directory}: no {RESULTS} in this run directory")
        frames.append(_run_frame(directory, manifest))
    table = pl.concat(frames, how="vertical").collect()
    hashes = table.group_by("prompt_id").agg(pl.col("prompt_hash").n_unique().alias("n")).filter(pl.col("n") > 1)
    for prompt_id in hashes["prompt_id"].to_list():
        warnings.warn(f"prompt {prompt_id} appears with different content hashes; they are reported apart", stacklevel=2)
    return table


def all_checks_passed(table: pl.DataFrame) -> pl.DataFrame:
    """Per output that has check rows: ``all_passed``, every check passed and the row has no error."""
    return (
        table.filter(pl.col("kind") == "check")
        .group_by(KEY_COLUMNS, maintain_order=True)
        .agg((pl.col("passed").all() & pl.col("error").is_null().all()).alias("all_passed"))
    )


def latest_runs(runs_dir: Path) -> tuple[list[Path], dict[tuple[str, str], str]]:
    """For each (prompt, model), the most recent run that has it: the run directories to load
    and, per (prompt, model), the run id whose rows count."""
    chosen: dict[tuple[str, str], tuple[str, Path]] = {}
    for directory in sorted(p for p in runs_dir.glob("*") if (p / "manifest.json").exists() and (p / RESULTS).exists()):
        try:
            manifest = read_manifest(directory)
        except InputError:
            continue
        for prompt in manifest.prompts:
            for model in manifest.models:
                key = (prompt.id, model)
                if key not in chosen or manifest.started_at >= chosen[key][0]:
                    chosen[key] = (manifest.started_at, directory)
    return sorted({directory for _, directory in chosen.values()}), {key: d.name for key, (_, d) in chosen.items()}


def latest_table(runs_dir: Path) -> pl.DataFrame:
    """The table of the latest run of each prompt × model under ``runs_dir``."""
    directories, owners = latest_runs(runs_dir)
    if not directories:
        raise InputError(f"{runs_dir}: no run directories; run `harness run` first")
    table = load_table(directories)
    keep = pl.DataFrame(
        [{"prompt_id": p, "model": m, "run_id": r} for (p, m), r in owners.items()],
        schema={"prompt_id": pl.String, "model": pl.String, "run_id": pl.String},
    )
    return table.join(keep, on=["prompt_id", "model", "run_id"], how="semi")


def latest_run(runs_dir: Path) -> Path:
    """The most recently started run directory."""
    runs = [(read_manifest(p).started_at, p) for p in runs_dir.glob("*") if (p / "manifest.json").exists() and (p / RESULTS).exists()]
    if not runs:
        raise InputError(f"{runs_dir}: no run directories; run `harness run` first")
    return max(runs)[1]
