"""Rule checks: pure functions ``(output, spec) -> CheckResult`` that never raise on any text.

>>> from harness.checks import run_checks
>>> results = run_checks("<p>Too short.</p>", spec)            # doctest: +SKIP
>>> results["section_count"].passed                              # doctest: +SKIP
False
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CheckedOutput:
    """What a result row keeps of an output's checks: verdicts as JSON, and the word counts."""

    checks: dict[str, dict[str, object]]
    paragraph_word_counts: list[int]


def check_output(output: str, spec: SectionSpec, names: Iterable[str] | None = None) -> CheckedOutput:
    """Run the named checks (default: all) on ``output`` into the form a result row stores."""
    parsed = parse_output(output)
    verdicts = run_checks(parsed, spec, names)
    return CheckedOutput({name: result.as_json() for name, result in verdicts.items()}, parsed.paragraph_word_counts)


__all__ = [
    "CHECKS", "CheckResult", "CheckedOutput", "check_output", "ParsedOutput", "count_words", "no_headings", "only_p_tags",
    "parse_output", "resolve_check_names", "run_checks", "section_count", "word_budgets",
]
