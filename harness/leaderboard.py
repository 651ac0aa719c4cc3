"""One row per prompt version × model: pass rates with Wilson intervals, judge means with
bootstrap intervals, cost, latency, tokens, cases and errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from harness.stats import bootstrap_mean_interval, quantile, wilson_interval
from harness.table import KEY_COLUMNS, all_checks_passed

ALL_CHECKS = "all_checks"


@dataclass(frozen=True)
class MetricStat:
    """A metric's mean over outputs with its 95% interval; ``kind`` is check, judge or all."""

    name: str
    kind: str
    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class LeaderboardRow:
    prompt_id: str
    prompt_hash: str
    model: str
    cases: int
    outputs: int
    errors: int
    metrics: dict[str, MetricStat]
    mean_cost_usd: float | None
    p50_latency_s: float | None
    p95_latency_s: float | None
    mean_input_tokens: float | None
    mean_output_tokens: float | None

    def value(self, metric: str) -> float:
        stat = self.metrics.get(metric)
        return stat.mean if stat is not None and not math.isnan(stat.mean) else -math.inf


def _outputs(table: pl.DataFrame) -> pl.DataFrame:
    """One row per output: its cost, latency, tokens, error, and whether every check passed."""
    return (
        table.group_by(KEY_COLUMNS, maintain_order=True)
        .agg(pl.col("cost_usd").first(), pl.col("latency_s").first(), pl.col("input_tokens").first(),
             pl.col("output_tokens").first(), pl.col("error").first())
        .join(all_checks_passed(table), on=KEY_COLUMNS, how="left")
        .with_columns((pl.col("all_passed").fill_null(False) & pl.col("error").is_null()).alias("all_passed"))
    )


def _mean(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def leaderboard(table: pl.DataFrame, primary: str = ALL_CHECKS, seed: int | None = None) -> list[LeaderboardRow]:
    """Rank prompt × model groups by ``primary`` (a metric name or ``all_checks``), ties by cost."""
    outputs = _outputs(table)
    groups = ["prompt_id", "prompt_hash", "model"]
    result = []
    for key, group in outputs.group_by(groups, maintain_order=True):
        prompt_id, prompt_hash, model = key
        metric_rows = table.filter((pl.col("prompt_id") == prompt_id) & (pl.col("prompt_hash") == prompt_hash) & (pl.col("model") == model))
        metrics: dict[str, MetricStat] = {}
        for (name, kind), values in metric_rows.group_by(["metric", "kind"], maintain_order=True):
            if kind == "check":
                passed = values["passed"].to_list()
                low, high = wilson_interval(sum(passed), len(passed))
                metrics[name] = MetricStat(name, kind, sum(passed) / len(passed), low, high, len(passed))
            else:
                scores = [s for s in values["score"].to_list() if s is not None]
                mean = sum(scores) / len(scores) if scores else math.nan
                low, high = bootstrap_mean_interval(scores, **({"seed": seed} if seed is not None else {}))
                metrics[name] = MetricStat(name, kind, mean, low, high, len(scores))
        all_passed = group["all_passed"].to_list()
        low, high = wilson_interval(sum(all_passed), len(all_passed))
        metrics[ALL_CHECKS] = MetricStat(ALL_CHECKS, "all", sum(all_passed) / len(all_passed), low, high, len(all_passed))
        latencies = [v for v in group["latency_s"].to_list() if v is not None]
        costs = group.filter(pl.col("error").is_null())["cost_usd"].to_list()
        result.append(LeaderboardRow(
            prompt_id=prompt_id, prompt_hash=prompt_hash, model=model,
            cases=group["case_id"].n_unique(), outputs=group.height,
            errors=group.filter(pl.col("error").is_not_null()).height,
            metrics=metrics,
            mean_cost_usd=None if not costs or any(c is None for c in costs) else sum(costs) / len(costs),
            p50_latency_s=quantile(latencies, 0.5) if latencies else None,
            p95_latency_s=quantile(latencies, 0.95) if latencies else None,
            mean_input_tokens=_mean(group["input_tokens"].to_list()),
            mean_output_tokens=_mean(group["output_tokens"].to_list()),
        ))
    return sorted(result, key=lambda row: (-row.value(primary), row.mean_cost_usd if row.mean_cost_usd is not None else math.inf))


def metric_names(rows: list[LeaderboardRow]) -> list[str]:
    """Every metric shown, checks first, then judges, then all_checks."""
    order = {"check": 0, "judge": 1, "all": 2}
    seen: dict[str, str] = {}
    for row in rows:
        for stat in row.metrics.values():
            seen.setdefault(stat.name, stat.kind)
    return sorted(seen, key=lambda name: order[seen[name]])
