"""Markdown for pull requests and GitHub step summaries. Cell text is escaped: a pipe or a tag
in a model's text or a check detail cannot break the table or inject HTML."""

from __future__ import annotations

import html
import re

from harness.compare import Comparison
from harness.leaderboard import LeaderboardRow, metric_names

ARROWS = {"better": "▲ better", "worse": "▼ worse", "no_difference": "= no difference"}


def cell(text: object) -> str:
    """One table cell: HTML-escaped, pipes and newlines neutralized, backticks and emphasis kept literal."""
    value = html.escape(str(text), quote=False)
    value = re.sub(r"[\r\n]+", " ", value)
    return value.replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(mean: float, low: float, high: float, percent: bool) -> str:
    if mean != mean:  # NaN: no values
        return "-"
    if percent:
        return f"{mean:.0%} [{low:.0%}, {high:.0%}]"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def leaderboard_markdown(rows: list[LeaderboardRow]) -> str:
    names = metric_names(rows)
    header = ["#", "prompt", "model", *names, "cost/output $", "p50 s", "p95 s", "cases", "errors"]
    body = []
    for rank, row in enumerate(rows, start=1):
        cells = [str(rank), cell(f"{row.prompt_id} ({row.prompt_hash})"), cell(row.model)]
        for name in names:
            stat = row.metrics.get(name)
            cells.append(_interval(stat.mean, stat.low, stat.high, stat.kind != "judge") if stat else "-")
        cells += [
            "unknown" if row.mean_cost_usd is None else f"{row.mean_cost_usd:.5f}",
            "-" if row.p50_latency_s is None else f"{row.p50_latency_s:.2f}",
            "-" if row.p95_latency_s is None else f"{row.p95_latency_s:.2f}",
            str(row.cases), f"**{row.errors}**" if row.errors else "0",
        ]
        body.append(cells)
    return "### Leaderboard\n\nPass rates with Wilson 95% intervals; judge scores with bootstrap 95% intervals.\n\n" + _table(header, body) + "\n"


def compare_markdown(comparison: Comparison, max_flips: int = 20) -> str:
    header = ["metric", "baseline", "candidate", "diff [95% CI]", "p", "W/T/L", "verdict"]
    body = [
        [cell(m.metric), f"{m.baseline_mean:.3f}", f"{m.candidate_mean:.3f}",
         f"{m.diff:+.3f} [{m.ci_low:+.3f}, {m.ci_high:+.3f}]", f"{m.p_value:.3g}", f"{m.wins}/{m.ties}/{m.losses}",
         ARROWS[m.verdict]]
        for m in comparison.metrics
    ]
    text = (f"### {cell(comparison.candidate)} vs {cell(comparison.baseline)}\n\n"
            f"{comparison.pairs} pairs (case × model × sample).\n\n" + _table(header, body) + "\n")
    flips = [f for f in comparison.flips if f.metric != "all_checks"]
    if flips:
        text += "\n**Flips**\n\n" + _table(
            ["metric", "case", "model", "sample", "direction", "candidate detail"],
            [[cell(f.metric), cell(f.case_id), cell(f.model), str(f.sample), f.direction.replace("_", " "),
              cell((f.candidate_detail or "")[:200])] for f in flips[:max_flips]],
        ) + "\n"
        if len(flips) > max_flips:
            text += f"\n…and {len(flips) - max_flips} more.\n"
    return text
