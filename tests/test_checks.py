"""Rule checks against the labelled fixture corpus (authored outputs, not model outputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checks import CHECKS, count_words, parse_output, run_checks

FIXTURES = Path(__file__).parent / "fixtures" / "outputs"
EXPECTED = {name: entry for name, entry in json.loads((FIXTURES / "expected.json").read_text()).items() if not name.startswith("_")}


def test_corpus_is_large_and_covers_every_check():
    assert len(EXPECTED) >= 30
    for check in CHECKS:
        verdicts = {entry["checks"][check] for entry in EXPECTED.values()}
        assert verdicts == {True, False}, f"{check} needs passing and failing fixtures"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdicts(name, conclusion_spec):
    expected = EXPECTED[name]
    text = (FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    parsed = parse_output(text)
    assert parsed.paragraph_word_counts == expected["paragraph_word_counts"], expected["why"]
    results = run_checks(parsed, conclusion_spec)
    got = {check: result.passed for check, result in results.items()}
    assert got == expected["checks"], f"{expected['why']}\n" + "\n".join(f"{r.name}: {r.detail}" for r in results.values())
    assert results["word_budgets"].score == pytest.approx(expected["word_budgets_score"])
    for result in results.values():
        assert 0.0 <= result.score <= 1.0
        assert result.detail


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cost—latency", 2),
        ("2019–2020", 2),
        ("a — b", 2),
        ("—", 0),
        ("&", 0),
        ("don't e.g. state-of-the-art", 3),
        ("  spaced\n\tout  ", 2),
        ("深度学习 很好", 2),
        ("🎉 🙂", 0),
        ("", 0),
    ],
)
def test_count_words(text, words):
    assert count_words(text) == words


@pytest.mark.parametrize(
    ("html", "counts"),
    [
        ("<p>cost&mdash;latency</p>", [2]),
        ("<p>one&nbsp;two</p>", [2]),
        ("<p>one<br>two<br/>three</p>", [3]),
        ("<p><strong>Syn</strong>thesis works</p>", [2]),
        ("<p>down<!-- c -->town</p>", [1]),
        ("<p>&amp;</p><p>word</p>", [1]),
        ("<p>1&#8211;2</p>", [2]),
    ],
)
def test_paragraph_word_counts_decode_html(html, counts):
    assert parse_output(html).paragraph_word_counts == counts


def _paragraphs(*counts: int) -> str:
    return "\n".join("<p>" + " ".join(["word"] * (count - 1) + ["end."]) + "</p>" for count in counts)


@pytest.mark.parametrize(
    ("counts", "passed", "score"),
    [
        ((150, 100, 100, 80), True, 1.0),
        ((200, 150, 120, 100), True, 1.0),
        ((149, 100, 100, 80), False, 0.75),
        ((201, 151, 120, 100), False, 0.5),
        ((149, 99, 99, 79), False, 0.0),
    ],
)
def test_word_budget_boundaries_are_inclusive(counts, passed, score, conclusion_spec):
    result = run_checks(_paragraphs(*counts), conclusion_spec)["word_budgets"]
    assert (result.passed, result.score) == (passed, score)


def test_tolerance_widens_budgets(conclusion_spec):
    widened = conclusion_spec.model_copy(update={"tolerance": 2})
    text = _paragraphs(148, 152, 100, 80)
    assert not run_checks(text, conclusion_spec)["word_budgets"].passed
    assert run_checks(text, widened)["word_budgets"].passed


def test_word_budgets_detail_names_each_section(conclusion_spec):
    detail = run_checks(_paragraphs(129, 112, 99, 93), conclusion_spec)["word_budgets"].detail
    assert "section 1 'Synthesis and Integration': 129 words, budget 150-200: 21 short" in detail
    assert "section 3 'Limitations and Future Directions': 99 words, budget 100-120: 1 short" in detail
    assert "section 2 'Direct Response to Main Query': 112 words, budget 100-150: ok" in detail


def test_count_mismatch_fails_budgets_and_says_so(conclusion_spec):
    results = run_checks(_paragraphs(160, 120, 110), conclusion_spec)
    assert not results["section_count"].passed
    assert "3 non-empty <p> paragraphs, expected 4" in results["section_count"].detail
    assert not results["word_budgets"].passed
    assert "3 non-empty paragraphs for 4 sections" in results["word_budgets"].detail


def test_headings_detail_names_each_offender(conclusion_spec):
    text = "<h2>Conclusion</h2><p><strong>Synthesis:</strong> it works.</p><p>Key Findings</p>"
    detail = run_checks(text, conclusion_spec)["no_headings"].detail
    assert "<h2> 'Conclusion'" in detail
    assert "bold label 'Synthesis:'" in detail
    assert "title-like paragraph of 2 words 'Key Findings'" in detail


def test_real_trace_output_verdict(trace_output, conclusion_spec):
    parsed = parse_output(trace_output)
    assert parsed.paragraph_word_counts == [129, 112, 99, 93]
    results = run_checks(parsed, conclusion_spec)
    assert {name: r.passed for name, r in results.items()} == {
        "only_p_tags": True, "no_headings": True, "section_count": True, "word_budgets": False,
    }
    assert results["word_budgets"].score == 0.5


def test_checks_can_be_selected_and_unknown_names_are_errors(conclusion_spec):
    from harness.errors import UsageError

    assert list(run_checks("<p>x</p>", conclusion_spec, ["section_count"])) == ["section_count"]
    with pytest.raises(UsageError, match="unknown check 'wordcount'"):
        run_checks("<p>x</p>", conclusion_spec, ["wordcount"])
