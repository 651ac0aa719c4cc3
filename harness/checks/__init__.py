"""Rule checks: pure functions ``(output, spec) -> CheckResult`` that never raise on any text.

>>> from harness.checks import run_checks
>>> results = run_checks("<p>Too short.</p>", spec)            # doctest: +SKIP
>>> results["section_count"].passed                              # doctest: +SKIP
False
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.checks._output import ParsedOutput, count_words, parse_output
from harness.checks._rules import CheckResult, no_headings, only_p_tags, section_count, word_budgets
from harness.errors import UsageError
from harness.prompts import SectionSpec

Check = Callable[[ParsedOutput, SectionSpec], CheckResult]

CHECKS: dict[str, Check] = {
    "only_p_tags": only_p_tags,
    "no_headings": no_headings,
    "section_count": section_count,
    "word_budgets": word_budgets,
}
"""Every rule check by name, in the order results list them."""


def resolve_check_names(names: Iterable[str] | None, source: str = "checks") -> list[str]:
    """Validate check names from config or flags; ``None`` means all checks."""
    if names is None:
        return list(CHECKS)
    chosen = list(names)
    for name in chosen:
        if name not in CHECKS:
            raise UsageError(f"{source}: unknown check {name!r} (known checks: {', '.join(CHECKS)})")
    return chosen


def run_checks(output: str | ParsedOutput, spec: SectionSpec, names: Iterable[str] | None = None) -> dict[str, CheckResult]:
    """Parse ``output`` once and run the named checks (default: all) against ``spec``."""
    parsed = parse_output(output)
    return {name: CHECKS[name](parsed, spec) for name in resolve_check_names(names)}


__all__ = [
    "CHECKS", "CheckResult", "ParsedOutput", "count_words", "no_headings", "only_p_tags",
    "parse_output", "resolve_check_names", "run_checks", "section_count", "word_budgets",
]
