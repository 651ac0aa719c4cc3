"""Property tests of the rule checks and the word counter (hypothesis).

The checks promise to be total (never raise, whatever the text), to return a score in [0, 1] with
a reason, and to count words by what a reader sees. The CLI's ``harness check`` must give the
same verdict as the library for the same text.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.checks import CHECKS, count_words, parse_output, run_checks
from harness.prompts import load_prompt
from tests_support import REPO, run_cli

SPEC = load_prompt(REPO / "prompts", "conclusion/v1").spec
"""Loaded once at import: hypothesis and function-scoped fixtures do not mix."""

# --- strategies ----------------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["cost", "latency", "LLMOps", "2019", "évaluation", "数据科学", "x", "A.", "end.", "why?", "—", "–", "&",
     "cost—latency", "2019–2020", "(see", "note)", "é", "42%", "state-of-the-art"]
)
WHITESPACE = st.sampled_from([" ", "  ", "\n", "\n\n  \n", "\t", "\u00a0", "\u2003", "\r\n", "\r"])
MARKUP = st.sampled_from(
    ["<p>", "</p>", "<br>", "<br/>", "<strong>", "</strong>", "<b>", "</b>", "<em>", "</em>", "&amp;", "&nbsp;",
     "&mdash;", "&#8212;", "—", "–", "<h2>", "</h2>", "<!-- c -->", "```", "**T**", "# ", "## Title", ":",
     "<div>", "</div>", "<ul><li>", "</li></ul>", "<html><body>", "</body></html>", "<", ">", "&", "<!--",
     "<![CDATA[x]]>", "<!DOCTYPE html>", "<script>x y</script>", "<p class='a'>", "</", "<p", "\x00"]
)
FRAGMENTS = st.one_of(WORDS, WHITESPACE, MARKUP)
HTMLISH = st.lists(FRAGMENTS, max_size=60).map("".join)
"""Strings built from HTML-ish fragments: tags (balanced or not), entities, dashes, markdown."""

INLINE_FRAGMENTS = st.one_of(
    WORDS,
    WHITESPACE,
    st.sampled_from(["&amp;", "&nbsp;", "&mdash;", "—", "–", "<br>", "<!-- c -->", "```", "**T**", "# ",
                     "<strong>", "</strong>", "<em>x</em>", "<b>bold</b>", "<code>a b</code>", "<h2>", "</h2>"]),
)
PARAGRAPH_BODY = st.lists(INLINE_FRAGMENTS, max_size=30).map("".join)
"""The inside of one ``<p>``: words, whitespace, inline markup, the odd heading tag; no ``<p>``."""

ANY_TEXT = st.one_of(st.text(), HTMLISH)

BARE_CHARREF = re.compile(r"&#(?![0-9]|[xX][0-9a-fA-F])")


@st.composite
def well_formed_outputs(draw) -> str:
    """Outputs shaped like a conclusion: paragraphs of plain sentences near the budgets, so that
    passing outputs are generated too (random text almost always fails every check)."""
    count = draw(st.integers(min_value=0, max_value=6))
    paragraphs = []
    for index in range(count):
        low, high = SPEC.bounds(index % len(SPEC.sections))
        words = draw(st.integers(min_value=max(1, low - 3), max_value=high + 3))
        body = " ".join(draw(st.lists(st.sampled_from(["cost", "latency", "evaluation", "model", "drift"]),
                                      min_size=words, max_size=words)))
        paragraphs.append(f"<p>{body}.</p>")
    joiner = draw(st.sampled_from(["", "\n", "\n\n  \n"]))
    return joiner.join(paragraphs)


# --- totality ------------------------------------------------------------------------------------


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_checks_never_raise_and_every_result_is_scored_and_explained(text):
    results = run_checks(text, SPEC)
    assert list(results) == list(CHECKS)
    for name, result in results.items():
        assert result.name == name
        assert isinstance(result.passed, bool)
        assert 0.0 <= result.score <= 1.0, (name, result.score)
        assert isinstance(result.detail, str) and result.detail.strip(), name
        if result.passed:
            assert result.score == 1.0, (name, result.score, result.detail)


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None)
def test_count_words_never_raises_and_is_bounded(text):
    words = count_words(text)
    assert isinstance(words, int)
    assert 0 <= words <= len(text.split()) + text.count("\u2014") + text.count("\u2013")


def _words_by_definition(text: str) -> int:
    """The word rule read literally: split on whitespace and dashes, keep tokens with a letter or digit."""
    tokens = text.replace("\u2013", " ").replace("\u2014", " ").split()
    return sum(1 for token in tokens if any(char.isalnum() for char in token))


CONTROL_AND_UNICODE = st.text(alphabet=st.sampled_from(
    list("ab1 _-.,'\"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f\x85\xa0é°²½×€\u2003\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u3000数据")
))


@given(st.one_of(ANY_TEXT, CONTROL_AND_UNICODE, st.text(min_size=200)))
@settings(max_examples=600, deadline=None)
def test_count_words_matches_the_word_rule_on_any_text(text):
    # count_words takes a byte-level fast path; it must agree with the rule on every character class.
    assert count_words(text) == _words_by_definition(text)


@given(ANY_TEXT)
@settings(max_examples=200, deadline=None)
def test_paragraph_word_counts_are_positive_and_parsing_is_stable(text):
    parsed = parse_output(text)
    counts = parsed.paragraph_word_counts
    assert all(count > 0 for count in counts)
    assert parse_output(text).paragraph_word_counts == counts


# --- word-count invariants -----------------------------------------------------------------------


def _no_bare_charref(text: str) -> bool:
    """False for text holding ``&#`` not followed by digits: the stdlib parser then swallows the rest
    of the output as text (see ``test_malformed_numeric_reference_does_not_swallow_the_rest``)."""
    return BARE_CHARREF.search(text) is None


@given(st.lists(PARAGRAPH_BODY, max_size=6), WHITESPACE, WHITESPACE)
@settings(max_examples=200, deadline=None)
def test_word_counts_do_not_depend_on_whitespace_between_paragraphs(bodies, before, between):
    paragraphs = [f"<p>{body}</p>" for body in bodies]
    tight = "".join(paragraphs)
    assume(_no_bare_charref(tight))
    loose = before + ("\n\n  \n" + between).join(paragraphs) + between
    assert parse_output(tight).paragraph_word_counts == parse_output(loose).paragraph_word_counts
    tight_results = {name: r.passed for name, r in run_checks(tight, SPEC).items() if name != "only_p_tags"}
    loose_results = {name: r.passed for name, r in run_checks(loose, SPEC).items() if name != "only_p_tags"}
    assert tight_results == loose_results


SPLITTABLE_FRAGMENTS = st.one_of(
    WORDS,
    WHITESPACE,
    st.sampled_from(["&amp;", "&nbsp;", "&mdash;", "&#8212;", "—", "–", "<br>", "<!-- c -->", "```", "**T**", "# ",
                     "<strong>", "</strong>", "<em>x</em>", "<b>bold</b>", "<code>a b</code>", "<h2>t</h2>",
                     "<div>d</div>", "<a href='x y'>link</a>"]),
)


@given(st.lists(SPLITTABLE_FRAGMENTS, max_size=30), st.data())
@settings(max_examples=300, deadline=None)
def test_splitting_a_paragraph_at_whitespace_never_lowers_the_total(fragments, data):
    # Split at a whitespace fragment of the paragraph itself, not at whitespace inside an element
    # (cutting '<h2> a</h2>' in two leaves a stray '</h2>' that rightly separates nothing).
    cuts = [index for index, fragment in enumerate(fragments) if fragment.isspace()]
    assume(cuts)
    cut = data.draw(st.sampled_from(cuts), label="cut")
    body = "".join(fragments)
    assume(_no_bare_charref(body))
    head, tail = "".join(fragments[:cut]), fragments[cut][1:] + "".join(fragments[cut + 1:])
    whole = f"<p>{body}</p>"
    split = f"<p>{head}</p>\n<p>{tail}</p>"
    before = sum(parse_output(whole).paragraph_word_counts)
    after = sum(parse_output(split).paragraph_word_counts)
    assert after >= before, (whole, split)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("<p>Use the C&# syntax here.</p><p>Second paragraph is fine.</p>", [5, 4]),
        ("<p>&# </p>\n\n  \n<p>a b</p>", [2]),
        ("<p>Item &#x is odd.</p><p>Next one.</p>", [4, 2]),
    ],
    ids=["word-ending-in-&#", "lone-&#", "&#x-without-digits"],
)
def test_malformed_numeric_reference_does_not_swallow_the_rest(text, counts):
    # Found by test_word_counts_do_not_depend_on_whitespace_between_paragraphs:
    # '<p>&# </p><p></p>' counts [1] but ' <p>&# </p>\n\n  \n <p></p> ' counts [2].
    parsed = parse_output(text)
    assert parsed.paragraph_word_counts == counts
    assert run_checks(parsed, SPEC)["only_p_tags"].passed


@given(st.lists(WORDS, min_size=1, max_size=40), st.data())
@settings(max_examples=200, deadline=None)
def test_splitting_plain_prose_keeps_the_total_exactly(words, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(words)), label="cut")
    whole = parse_output("<p>" + " ".join(words) + "</p>")
    split = parse_output("<p>" + " ".join(words[:cut]) + "</p> <p>" + " ".join(words[cut:]) + "</p>")
    assert sum(split.paragraph_word_counts) == sum(whole.paragraph_word_counts) == count_words(" ".join(words))


# --- the CLI agrees with the library -------------------------------------------------------------


@given(st.lists(st.one_of(well_formed_outputs(), HTMLISH, st.text(max_size=200)), min_size=1, max_size=5))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_cli_check_verdicts_equal_the_library(outputs):
    with tempfile.TemporaryDirectory() as directory:
        files = []
        for index, text in enumerate(outputs):
            path = Path(directory) / f"output-{index}.html"
            path.write_bytes(text.encode("utf-8"))
            files.append(str(path))
        result = run_cli("check", "--prompt", "conclusion/v1", *files, cwd=REPO, network=False)
    assert "Traceback" not in result.stderr, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [report["file"] for report in reports] == files, result.stderr
    for text, report in zip(outputs, reports):
        parsed = parse_output(text)
        expected = run_checks(parsed, SPEC)
        assert report["prompt"] == "conclusion/v1"
        assert report["checks"] == {name: r.as_json() for name, r in expected.items()}, text
        assert report["passed"] == all(r.passed for r in expected.values())
        assert report["paragraph_word_counts"] == parsed.paragraph_word_counts
    assert result.returncode == (0 if all(report["passed"] for report in reports) else 1), result.stderr
