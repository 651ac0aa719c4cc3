"""Leaderboards and comparisons as plain records: the JSON and CSV formats, and what the
markdown, terminal and HTML renderers read."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from harness.compare import Comparison
from harness.leaderboard import LeaderboardRow, metric_names


def _number(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, digits)


def leaderboard_records(rows: list[LeaderboardRow]) -> list[dict[str, Any]]:
    """One flat dict per leaderboard row (metrics as ``<name>``, ``<name>_low``, ``<name>_high``)."""
    records = []
    for rank, row in enumerate(rows, start=1):
        record: dict[str, Any] = {"rank": rank, "prompt": row.prompt_id, "prompt_hash": row.prompt_hash, "model": row.model}
        for name in metric_names(rows):
            stat = row.metrics.get(name)
            record[name] = _number(stat.mean) if stat else None
            record[f"{name}_low"] = _number(stat.low) if stat else None
            record[f"{name}_high"] = _number(stat.high) if stat else None
        record.update({
            "mean_cost_usd": _number(row.mean_cost_usd, 6), "p50_latency_s": _number(row.p50_latency_s, 3),
            "p95_latency_s": _number(row.p95_latency_s, 3), "mean_input_tokens": _number(row.mean_input_tokens, 1),
            "mean_output_tokens": _number(row.mean_output_tokens, 1), "cases": row.cases, "outputs": row.outputs,
            "errors": row.errors,
        })
        records.append(record)
    return records


def records_csv(records: list[dict[str, Any]]) -> str:
    if not records:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    data = comparison.as_json()
    for metric in data["metrics"]:
        for key in ("baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high"):
            metric[key] = _number(metric[key])
        metric["p_value"] = _number(metric["p_value"], 6)
    return data
