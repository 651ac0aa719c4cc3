"""The offline/extractive baseline: deterministic, budget-fitting, escaped, read from the prompt."""

from __future__ import annotations

import json

import pytest
from tests_support import REPO

from harness.checks import parse_output, run_checks
from harness.dataset import load_dataset
from harness.offline import stated_budgets, write_conclusion
from harness.prompts import load_prompts

CASES = load_dataset(REPO / "datasets" / "research")
PROMPTS = load_prompts(REPO / "prompts")


@pytest.mark.parametrize("prompt", PROMPTS, ids=lambda p: p.id)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fits_every_budget_on_every_case(prompt, case):
    system, user = (m["content"] for m in prompt.render(case.research))
    output = write_conclusion(system, user)
    results = run_checks(output, prompt.spec)
    assert all(r.passed for r in results.values()), {n: r.detail for n, r in results.items()}
    assert write_conclusion(system, user) == output, "deterministic"


def test_budgets_come_from_the_prompt_text():
    assert stated_budgets("1. **A (150-200 words):**\n2. **B (10-20 words):**") == [(150, 200), (10, 20)]
    assert stated_budgets("1. A: between 30 and 40 words (aim for about 35).") == [(30, 40)]
    output = write_conclusion("Write (30-40 words) then (20-25 words) then (5-9 words).", json.dumps(CASES[0].research))
    counts = parse_output(output).paragraph_word_counts
    assert len(counts) == 3 and 30 <= counts[0] <= 40 and 20 <= counts[1] <= 25 and 5 <= counts[2] <= 9


def test_research_markup_is_escaped_not_emitted():
    research = {
        "main_query": "Is <script>alert(1)</script> & co safe?",
        "sub_questions": ["q"],
        "enhanced_info": {"q": {"synthesized_answer": "The payload <script>alert(1)</script> & \"quotes\" stay text here. " * 5,
                                "confidence_level": "low", "information_gaps": "Gaps <b>remain</b> in the data we saw."}},
    }
    output = write_conclusion("(20-30 words) (20-30 words)", json.dumps(research))
    soup = parse_output(output).soup
    assert soup.find("script") is None and soup.find("b") is None
    assert "&lt;script&gt;" in output


def test_the_baseline_writer_does_not_import_litellm():
    # Importing litellm costs ~1-2 s and ~340,000 objects that every full garbage collection
    # walks: a process that only writes baseline conclusions (or replays) must not pay for it.
    import subprocess
    import sys

    probe = "import sys, harness.offline; print('litellm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
