"""The format rules a conclusion must follow. Each is a pure function (output, spec) -> CheckResult.

Checks never raise on any string: a malformed output is a failed check with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import Tag

from harness.checks._output import BLOCK_TAGS, ParsedOutput, is_ignorable, is_text, parse_output
from harness.prompts import SectionSpec

INLINE_TAGS_IN_P = frozenset({"a", "b", "strong", "i", "em", "code", "sub", "sup", "br", "span"})
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BOLD_TAGS = frozenset({"b", "strong"})
TITLE_MAX_WORDS = 6

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s")
_BOLD_ONLY_LINE = re.compile(r"^(\*\*|__)[^*_\n]+(\*\*|__):?$")
_SENTENCE_END = (".", "!", "?", ":", "。", "！", "？", "：")
_CLOSING_PUNCTUATION = "\"'”’)]»"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one output; ``detail`` always says why."""

    name: str
    passed: bool
    score: float
    detail: str

    def as_json(self) -> dict[str, object]:
        return {"passed": self.passed, "score": self.score, "detail": self.detail}


def _snippet(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _meaningful_children(element: Tag) -> list[object]:
    return [child for child in element.children if not is_ignorable(child)]


def only_p_tags(output: str | ParsedOutput, spec: SectionSpec | None = None) -> CheckResult:
    """Pass when the output is only ``<p>`` elements (and whitespace or comments) at top level,
    with nothing but inline tags (a, b, strong, i, em, code, sub, sup, br, span) inside them."""
    parsed = parse_output(output)
    if not parsed.text.strip():
        return CheckResult("only_p_tags", False, 0.0, "empty output: expected <p> paragraphs")
    problems: list[str] = []
    top_level = parsed.top_level
    # When every element is a top-level <p>, no <p> holds a tag: skip walking their insides.
    elements_inside_p = len(parsed.tags) > sum(1 for node in top_level if type(node) is Tag)
    for node in top_level:
        if isinstance(node, Tag):
            if node.name != "p":
                problems.append(f"top-level <{node.name}> (only <p> is allowed)")
                continue
            if not elements_inside_p:
                continue
            for inner in (child for child in node.descendants if isinstance(child, Tag)):
                if inner.name in BLOCK_TAGS:
                    problems.append(f"block <{inner.name}> inside a <p>")
                elif inner.name not in INLINE_TAGS_IN_P:
                    problems.append(f"<{inner.name}> inside a <p> (allowed inline tags: {', '.join(sorted(INLINE_TAGS_IN_P))})")
        elif is_text(node):
            problems.append(f"text outside <p>: {_snippet(str(node))}")
        else:
            problems.append(f"non-paragraph markup at top level: {_snippet(str(node))}")
    paragraphs = sum(1 for node in top_level if isinstance(node, Tag) and node.name == "p")
    if not problems:
        return CheckResult("only_p_tags", True, 1.0, f"{paragraphs} top-level <p> elements and nothing else")
    score = paragraphs / (paragraphs + len(problems))
    return CheckResult("only_p_tags", False, score, "; ".join(problems))


def _may_hold_markdown(text: str) -> bool:
    # Both markdown patterns need '#', '**' or '__' in the decoded text; an entity can spell them.
    # Single characters first: str.__contains__ finds those with memchr, pairs far more slowly.
    return "#" in text or "*" in text or "&" in text or ("_" in text and "__" in text)


def _heading_lines(parsed: ParsedOutput) -> list[str]:
    if not _may_hold_markdown(parsed.text):
        return []
    blocks = [node.get_text() if isinstance(node, Tag) else str(node) for node in parsed.soup.children if is_text(node) or isinstance(node, Tag)]
    offenders = []
    for block in blocks:
        for line in block.splitlines():
            stripped = line.strip()
            if _MARKDOWN_HEADING.match(stripped):
                offenders.append(f"markdown heading line {_snippet(stripped)}")
            elif _BOLD_ONLY_LINE.match(stripped):
                offenders.append(f"bold-only line {_snippet(stripped)}")
    return offenders


def _paragraph_heading(element: Tag, text: str, words: int) -> str | None:
    children = _meaningful_children(element)
    if len(children) == 1 and isinstance(children[0], Tag) and children[0].name in BOLD_TAGS:
        return f"paragraph that is only bold text {_snippet(text)}"
    if children and isinstance(children[0], Tag) and children[0].name in BOLD_TAGS:
        label = children[0].get_text().strip()
        after = children[1] if len(children) > 1 else None
        if label.endswith(":") or (is_text(after) and str(after).lstrip().startswith(":")):
            return f"paragraph opening with a bold label {_snippet(label)}"
    ending = text.strip().rstrip(_CLOSING_PUNCTUATION)
    if 0 < words <= TITLE_MAX_WORDS and not ending.endswith(_SENTENCE_END):
        return f"title-like paragraph of {words} words {_snippet(text)}"
    return None


def no_headings(output: str | ParsedOutput, spec: SectionSpec | None = None) -> CheckResult:
    """Fail on anything that reads as a heading: h1-h6, markdown ``#`` or ``**bold**`` lines,
    a paragraph that is only bold text or opens with a bold label ending in a colon, and a
    short paragraph (at most six words) that is not a sentence."""
    parsed = parse_output(output)
    offenders = []
    if not HEADING_TAGS.isdisjoint(parsed.tag_names):
        offenders.extend(f"<{tag.name}> {_snippet(tag.get_text())}" for tag in parsed.tags if tag.name in HEADING_TAGS)
    offenders.extend(_heading_lines(parsed))
    has_bold = not BOLD_TAGS.isdisjoint(parsed.tag_names)
    for paragraph in parsed.paragraphs:
        if paragraph.words > TITLE_MAX_WORDS and not has_bold:
            continue  # long and without bold text: cannot read as a heading
        reason = _paragraph_heading(paragraph.element, paragraph.text, paragraph.words)
        if reason:
            offenders.append(reason)
    if offenders:
        return CheckResult("no_headings", False, 0.0, "headings found: " + "; ".join(offenders))
    return CheckResult("no_headings", True, 1.0, "no headings")


def section_count(output: str | ParsedOutput, spec: SectionSpec) -> CheckResult:
    """Pass when the number of non-empty ``<p>`` elements equals the number of sections."""
    found = len(parse_output(output).non_empty_paragraphs)
    expected = len(spec.sections)
    passed = found == expected
    score = 1.0 if passed else (min(found, expected) / max(found, expected))
    return CheckResult("section_count", passed, score, f"{found} non-empty <p> paragraphs, expected {expected}")


def word_budgets(output: str | ParsedOutput, spec: SectionSpec) -> CheckResult:
    """Check paragraph i against section i's inclusive word budget (widened by the tolerance).

    Score is the fraction of sections in budget. When the paragraph count differs from the
    number of sections, budgets cannot be matched to paragraphs and the check fails."""
    counts = parse_output(output).paragraph_word_counts
    expected = len(spec.sections)
    if len(counts) != expected:
        return CheckResult(
            "word_budgets", False, 0.0,
            f"cannot match budgets: {len(counts)} non-empty paragraphs for {expected} sections (word counts {counts})",
        )
    verdicts = []
    in_budget = 0
    for index, (section, words) in enumerate(zip(spec.sections, counts)):
        low, high = spec.bounds(index)
        budget = f"{low}-{high}"
        if words < low:
            verdicts.append(f"section {index + 1} {section.name!r}: {words} words, budget {budget}: {low - words} short")
        elif words > high:
            verdicts.append(f"section {index + 1} {section.name!r}: {words} words, budget {budget}: {words - high} over")
        else:
            in_budget += 1
            verdicts.append(f"section {index + 1} {section.name!r}: {words} words, budget {budget}: ok")
    passed = in_budget == expected
    summary = "all sections in budget" if passed else f"{expected - in_budget} of {expected} sections out of budget"
    return CheckResult("word_budgets", passed, in_budget / expected, summary + ": " + "; ".join(verdicts))


__all__ = ["CheckResult", "no_headings", "only_p_tags", "section_count", "word_budgets"]
