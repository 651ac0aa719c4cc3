"""The short table at the end of a run: per prompt × model, pass rate of each check, cost, latency."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from harness.results import ResultRow


@dataclass(frozen=True)
class SummaryRow:
    """Aggregates of one prompt version × model over the rows of a run."""

    prompt_id: str
    model: str
    rows: int
    errors: int
    cached: int
    check_pass_rates: dict[str, float]
    all_checks_pass_rate: float
    total_cost_usd: float | None
    median_latency_s: float | None


def summarize(rows: Iterable[ResultRow]) -> list[SummaryRow]:
    """Group rows by (prompt, model), in first-seen order. Error rows count against pass rates."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.prompt_id, row.model), []).append(row)
    summary = []
    for (prompt_id, model), group in groups.items():
        names = list(dict.fromkeys(name for row in group for name in row.checks))
        rates = {name: sum(1 for row in group if name in row.checks and row.checks[name].passed) / len(group) for name in names}
        costs = [row.cost_usd for row in group if row.error is None]
        latencies = [row.latency_s for row in group if row.latency_s is not None]
        summary.append(
            SummaryRow(
                prompt_id=prompt_id,
                model=model,
                rows=len(group),
                errors=sum(1 for row in group if row.error is not None),
                cached=sum(1 for row in group if row.cached),
                check_pass_rates=rates,
                all_checks_pass_rate=sum(1 for row in group if row.passed) / len(group),
                total_cost_usd=None if not costs or any(cost is None for cost in costs) else sum(c for c in costs if c is not None),
                median_latency_s=statistics.median(latencies) if latencies else None,
            )
        )
    return summary
