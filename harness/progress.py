"""Run progress: a rich bar on a terminal, plain periodic lines elsewhere (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from harness.results import ResultRow
from harness.scheduler import CallStats


class Progress:
    """Call ``update(row)`` per finished row and ``close()`` at the end."""

    def __init__(self, total: int, stats_source: Any, stream: TextIO | None = None, interval_s: float = 10.0,
                 force_plain: bool = False):
        self.total = total
        self.done = 0
        self.errors = 0
        self.started = time.monotonic()
        self._stats_source = stats_source
        self._stream = stream or sys.stderr
        self._interval_s = interval_s
        self._last_line = self.started
        self._bar = None
        if not force_plain and self._stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("run"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"), transient=False,
            )
            self._task = self._bar.add_task("run", total=total, status="")
            self._bar.start()

    @property
    def stats(self) -> CallStats | None:
        source = self._stats_source() if callable(self._stats_source) else self._stats_source
        return source

    def status(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        stats = self.stats
        tokens = (stats.input_tokens + stats.output_tokens) if stats else 0
        cost = stats.cost_usd if stats else 0.0
        eta = f"{remaining:.0f}s" if remaining != float("inf") else "?"
        return f"{rate:.1f} rows/s, ETA {eta}, errors {self.errors}, tokens {tokens:,}, cost ${cost:.4f}"

    def update(self, row: ResultRow) -> None:
        self.done += 1
        self.errors += row.error is not None
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, status=self.status())
            return
        now = time.monotonic()
        if now - self._last_line >= self._interval_s or self.done == self.total:
            self._last_line = now
            self._stream.write(f"progress: {self.done}/{self.total} rows ({self.done / max(self.total, 1):.0%}), {self.status()}\n")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
