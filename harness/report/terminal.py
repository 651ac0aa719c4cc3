"""Terminal rendering with rich. Model text is data: control and escape sequences are stripped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.report import strip_control as terminal_safe


def _console(stream: Any = None):
    from rich.console import Console

    console = Console(file=stream, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        # CI logs and pipes are not 80 columns wide; keep tables readable there.
        console.width = 220
    return console


def verdict_text(passed: bool | None):
    from rich.text import Text

    if passed is None:
        return Text("skip", style="yellow")
    return Text("pass", style="green") if passed else Text("FAIL", style="bold red")


def print_check_table(reports: Iterable[Mapping[str, Any]], stream: Any = None) -> None:
    """One table per checked file: each check's verdict, score and detail."""
    from rich.table import Table
    from rich.text import Text

    console = _console(stream)
    for report in reports:
        table = Table(title=Text(f"{terminal_safe(report['file'])}  ({report['prompt']})"), title_justify="left")
        table.add_column("check")
        table.add_column("verdict")
        table.add_column("score", justify="right")
        table.add_column("detail", overflow="fold")
        for name, result in report["checks"].items():
            table.add_row(name, verdict_text(result["passed"]), f"{result['score']:.2f}", Text(terminal_safe(result["detail"])))
        console.print(table)
        console.print(Text(f"paragraph word counts: {report['paragraph_word_counts']}"))


def print_run_summary(summary: list, stream: Any = None) -> None:
    """The end-of-run table: one line per prompt × model. With repeats, each check cell reads
    ``pass rate / pass^N / flip rate``."""
    from rich.table import Table
    from rich.text import Text

    checks = list(dict.fromkeys(name for row in summary for name in row.checks))
    repeated = any(row.samples > 1 for row in summary)
    title = "run summary: pass rate / pass^N / flip rate per check" if repeated else "run summary (pass rate per check)"
    table = Table(title=title, title_justify="left")
    table.add_column("prompt", no_wrap=True)
    table.add_column("model", overflow="fold", min_width=24)
    for column in ("rows", *checks, "all checks", "errors", "cost $", "p50 latency s"):
        table.add_column(column, justify="right")
    for row in summary:
        cells = [_check_cell(row.checks.get(name), repeated) for name in checks]
        cost = ("unknown" if row.rows > row.errors else "-") if row.total_cost_usd is None else f"{row.total_cost_usd:.4f}"
        latency = "-" if row.median_latency_s is None else f"{row.median_latency_s:.2f}"
        errors = Text(str(row.errors), style="bold red" if row.errors else "")
        table.add_row(row.prompt_id, terminal_safe(row.model), str(row.rows), *cells, _check_cell(row.all_checks, repeated), errors, cost, latency)
    _console(stream).print(table)


def _check_cell(summary, repeated: bool):
    from rich.text import Text

    if summary is None:
        return Text("-")
    cell = _rate(summary.pass_rate)
    if repeated:
        cell.append(f"/{summary.pass_all_samples:.0%}/{summary.flip_rate:.0%}")
    return cell


def _rate(value: float | None):
    from rich.text import Text

    if value is None:
        return Text("-")
    style = "green" if value == 1 else ("red" if value < 0.5 else "yellow")
    return Text(f"{value:.0%}", style=style)


def print_leaderboard(rows: list, stream: Any = None) -> None:
    """Leaderboard with intervals; pass rates coloured."""
    from rich.table import Table
    from rich.text import Text

    from harness.leaderboard import metric_names

    names = metric_names(rows)
    table = Table(title="leaderboard (95% intervals)", title_justify="left")
    for column in ("#", "prompt", "model", *names, "cost/output $", "p50 s", "p95 s", "cases", "errors"):
        table.add_column(column, justify="left" if column in ("prompt", "model") else "right", overflow="fold")
    for rank, row in enumerate(rows, start=1):
        cells = []
        for name in names:
            stat = row.metrics.get(name)
            if stat is None or stat.mean != stat.mean:
                cells.append(Text("-"))
            elif stat.kind == "judge":
                cells.append(Text(f"{stat.mean:.2f} [{stat.low:.2f},{stat.high:.2f}]"))
            else:
                text = _rate(stat.mean)
                text.append(f" [{stat.low:.0%},{stat.high:.0%}]", style="dim")
                cells.append(text)
        table.add_row(
            str(rank), f"{row.prompt_id} ({row.prompt_hash})", terminal_safe(row.model), *cells,
            "unknown" if row.mean_cost_usd is None else f"{row.mean_cost_usd:.5f}",
            "-" if row.p50_latency_s is None else f"{row.p50_latency_s:.2f}",
            "-" if row.p95_latency_s is None else f"{row.p95_latency_s:.2f}",
            str(row.cases), Text(str(row.errors), style="bold red" if row.errors else ""),
        )
    _console(stream).print(table)


_VERDICT_STYLE = {"better": ("▲ better", "bold green"), "worse": ("▼ worse", "bold red"), "no_difference": ("= no difference", "dim")}


def print_comparison(comparison, stream: Any = None, max_flips: int = 20) -> None:
    """Per-metric comparison with arrows, then the flipped cases."""
    from rich.table import Table
    from rich.text import Text

    console = _console(stream)
    table = Table(title=f"{terminal_safe(comparison.candidate)} vs {terminal_safe(comparison.baseline)}: {comparison.pairs} pairs",
                  title_justify="left")
    for column in ("metric", "baseline", "candidate", "diff [95% CI]", "p", "W/T/L", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for m in comparison.metrics:
        label, style = _VERDICT_STYLE[m.verdict]
        table.add_row(m.metric, f"{m.baseline_mean:.3f}", f"{m.candidate_mean:.3f}",
                      f"{m.diff:+.3f} [{m.ci_low:+.3f}, {m.ci_high:+.3f}]", f"{m.p_value:.3g}",
                      f"{m.wins}/{m.ties}/{m.losses}", Text(label, style=style))
    console.print(table)
    flips = [f for f in comparison.flips if f.metric != "all_checks"]
    for flip in flips[:max_flips]:
        arrow = Text("pass → FAIL", style="bold red") if flip.direction == "pass_to_fail" else Text("fail → pass", style="green")
        line = Text(f"  {flip.metric} {terminal_safe(flip.case_id)} [{terminal_safe(flip.model)} #{flip.sample}] ")
        line.append(arrow)
        if flip.candidate_detail:
            line.append(f": {terminal_safe(flip.candidate_detail)[:160]}")
        console.print(line)
    if len(flips) > max_flips:
        console.print(Text(f"  …and {len(flips) - max_flips} more flips"))


def print_calibration(metrics: list, judge_model: str, stream: Any = None) -> None:
    """Judge-vs-human agreement per metric, the confusion matrix, and the pairs the judge got wrong."""
    from rich.table import Table
    from rich.text import Text

    console = _console(stream)
    table = Table(title=f"judge calibration: {terminal_safe(judge_model)} vs human labels", title_justify="left")
    for column in ("metric", "pairs", "judged", "accuracy", "kappa", "spearman", "J+H+", "J+H-", "J-H+", "J-H-", "errors"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for m in metrics:
        c = m.confusion
        table.add_row(m.metric, str(m.pairs), str(m.judged), f"{m.accuracy:.2f}", f"{m.kappa:.2f}", f"{m.spearman:.2f}",
                      str(c["judge_pass_human_pass"]), str(c["judge_pass_human_fail"]), str(c["judge_fail_human_pass"]),
                      str(c["judge_fail_human_fail"]), str(m.errors))
    console.print(table)
    for m in metrics:
        for wrong in m.wrong:
            judge = "error" if wrong.judge_passed is None else f"{'pass' if wrong.judge_passed else 'fail'} {wrong.judge_score:.2f}"
            line = Text(f"  {m.metric} {wrong.pair}: human {'pass' if wrong.human_passed else 'fail'} {wrong.human_score:.2f}, judge {judge}")
            line.append(f" | human: {terminal_safe(wrong.rationale)}", style="dim")
            if wrong.judge_reason:
                line.append(f" | judge: {terminal_safe(wrong.judge_reason)[:200]}", style="dim")
            console.print(line)
