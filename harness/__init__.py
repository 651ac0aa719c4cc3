"""Prompt-evaluation harness: is the new prompt version better, with numbers you can trust?

The names a script needs::

    from harness import load_dataset, load_prompt, run_checks
    case = load_dataset(Path("datasets/research"), ["llmops-vs-mlops"])[0]
    prompt = load_prompt(Path("prompts"), "conclusion/v1")
    messages = prompt.render(case.research)
    verdicts = run_checks(output_html, prompt.spec)   # {name: CheckResult}
"""

import harness._env  # noqa: F401  (offline and telemetry defaults before any dependency import)

from harness.checks import CheckResult, run_checks
from harness.dataset import Case, load_dataset
from harness.prompts import PromptVersion, SectionSpec, load_prompt
from harness.results import ResultRow

__all__ = ["Case", "CheckResult", "PromptVersion", "ResultRow", "SectionSpec", "load_dataset", "load_prompt", "run_checks"]
