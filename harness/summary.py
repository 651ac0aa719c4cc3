"""The short table at the end of a run: per prompt × model, pass rate of each check, cost, latency.

With repeats, each check also gets pass^N (the share of cases whose every sample passes) and the
flip rate (the share of cases whose samples disagree), so a flaky verdict shows as flaky.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from harness.results import ResultRow


@dataclass(frozen=True)
class CheckSummary:
    """One check of one prompt × model: pass rate over all samples, pass^N, flip rate."""

    pass_rate: float
    pass_all_samples: float
    flip_rate: float


@dataclass(frozen=True)
class SummaryRow:
    """Aggregates of one prompt version × model over the rows of a run."""

    prompt_id: str
    model: str
    rows: int
    samples: int
    errors: int
    cached: int
    checks: dict[str, CheckSummary]
    all_checks: CheckSummary
    total_cost_usd: float | None
    median_latency_s: float | None

    @property
    def check_pass_rates(self) -> dict[str, float]:
        return {name: summary.pass_rate for name, summary in self.checks.items()}


def _check_summary(group: list[ResultRow], passed) -> CheckSummary:
    by_case: dict[str, list[bool]] = {}
    for row in group:
        by_case.setdefault(row.case_id, []).append(passed(row))
    verdicts = [v for values in by_case.values() for v in values]
    return CheckSummary(
        pass_rate=sum(verdicts) / len(verdicts),
        pass_all_samples=sum(all(values) for values in by_case.values()) / len(by_case),
        flip_rate=sum(len(set(values)) > 1 for values in by_case.values()) / len(by_case),
    )


def summarize(rows: Iterable[ResultRow]) -> list[SummaryRow]:
    """Group rows by (prompt, model), in first-seen order. Error rows count as failing every check."""
    groups: dict[tuple[str, str], list[ResultRow]] = {}
    for row in rows:
        groups.setdefault((row.prompt_id, row.model), []).append(row)
    summary = []
    for (prompt_id, model), group in groups.items():
        names = list(dict.fromkeys(name for row in group for name in row.checks))
        costs = [row.cost_usd for row in group if row.error is None]
        latencies = [row.latency_s for row in group if row.latency_s is not None]
        samples: dict[str, int] = {}
        for row in group:
            samples[row.case_id] = samples.get(row.case_id, 0) + 1
        summary.append(
            SummaryRow(
                prompt_id=prompt_id,
                model=model,
                rows=len(group),
                samples=max(samples.values()),
                errors=sum(1 for row in group if row.error is not None),
                cached=sum(1 for row in group if row.cached),
                checks={
                    name: _check_summary(group, lambda row, name=name: name in row.checks and row.checks[name].passed)
                    for name in names
                },
                all_checks=_check_summary(group, lambda row: row.passed),
                total_cost_usd=None if not costs or any(cost is None for cost in costs) else sum(c for c in costs if c is not None),
                median_latency_s=statistics.median(latencies) if latencies else None,
            )
        )
    return summary
