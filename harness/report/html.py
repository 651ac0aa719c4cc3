"""The HTML report: one self-contained file (no CDN, no network, works from ``file://``).

Model outputs are untrusted: they are shown sanitized with nh3 (only paragraph-level inline
markup survives; no script, event handler, ``javascript:`` URL or external resource), and the
page's Content-Security-Policy allows no external loads and only the report's own script.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import nh3

from harness.compare import Comparison
from harness.leaderboard import LeaderboardRow, metric_names
from harness.prompts import SectionSpec
from harness.report import strip_control
from harness.results import ResultRow

ALLOWED_TAGS = {"p", "br", "a", "b", "strong", "i", "em", "code", "sub", "sup", "span", "ul", "ol", "li", "h1", "h2", "h3",
                "h4", "h5", "h6", "blockquote", "pre", "div"}


def sanitize(output: str) -> str:
    """Model HTML made safe to show: structure kept so a reader sees headings or lists that broke a rule."""
    return nh3.clean(strip_control(output), tags=ALLOWED_TAGS, attributes={"a": {"title"}}, url_schemes=set(), link_rel=None)


@dataclass(frozen=True)
class Bar:
    index: int
    words: int
    low: int | None
    high: int | None

    @property
    def ok(self) -> bool:
        return self.low is None or self.high is None or self.low <= self.words <= self.high


def word_bars(row: ResultRow, spec: SectionSpec | None) -> tuple[list[Bar], int]:
    """Each paragraph's word count against its budget, and the axis maximum for drawing."""
    bars = []
    for index, words in enumerate(row.paragraph_word_counts):
        low, high = spec.bounds(index) if spec and index < len(spec.sections) else (None, None)
        bars.append(Bar(index, words, low, high))
    limits = [b.words for b in bars] + [b.high for b in bars if b.high] + [1]
    return bars, int(max(limits) * 1.15)


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters["sanitize"] = sanitize


def render_report(leaderboard: list[LeaderboardRow], comparison: Comparison | None, rows: list[ResultRow],
                  specs: dict[str, SectionSpec], title: str = "Prompt evaluation report") -> str:
    """The whole report as one HTML string."""
    cases: dict[str, list[ResultRow]] = {}
    for row in sorted(rows, key=lambda r: (r.case_id, r.prompt_id, r.model, r.sample)):
        if row.sample == 0:
            cases.setdefault(row.case_id, []).append(row)
    drilldown = []
    for case_id, case_rows in cases.items():
        entries = []
        for row in case_rows:
            bars, axis = word_bars(row, specs.get(row.prompt_id))
            entries.append({"row": row, "bars": bars, "axis": axis})
        failing = any(not entry["row"].passed for entry in entries)
        drilldown.append({"case_id": case_id, "entries": entries, "failing": failing})
    cases_html = _ENVIRONMENT.get_template("cases.html.j2").render(drilldown=drilldown)
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        title=title,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        nonce=secrets.token_urlsafe(16),
        leaderboard=leaderboard,
        metric_names=metric_names(leaderboard),
        comparison=comparison,
        drilldown=drilldown,
        failing_cases=sum(1 for case in drilldown if case["failing"]),
        cases_payload=pack(cases_html),
    )


def pack(html: str) -> str:
    """HTML as gzip + base64: the drill-down is the report's bulk; packed, it ships at a fraction
    of its size and is unpacked in the browser (DecompressionStream), so the page opens fast."""
    return base64.b64encode(gzip.compress(html.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def write_report(path: Path, html: str) -> None:
    from harness.replay import atomic_write_text

    atomic_write_text(path, html)
