"""Terminal rendering with rich. Model text is data: control and escape sequences are stripped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b.|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Remove ANSI escape sequences and control characters (keeps newlines and tabs)."""
    return _CONTROL.sub("", text)


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
        cell.append(f" / {summary.pass_all_samples:.0%} / {summary.flip_rate:.0%}")
    return cell


def _rate(value: float | None):
    from rich.text import Text

    if value is None:
        return Text("-")
    style = "green" if value == 1 else ("red" if value < 0.5 else "yellow")
    return Text(f"{value:.0%}", style=style)
