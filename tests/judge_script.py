"""Scripted judge answers for the loopback server: recognizes deepeval's prompts and answers
with valid JSON (or, on request, invalid JSON)."""

from __future__ import annotations

import json
import threading
from collections import Counter

from fakeserver import Reply


def kind_of(prompt: str) -> str:
    if "Evaluation Steps" in prompt:
        return "geval"
    if prompt.startswith("Based on the given text, please generate a comprehensive list of"):
        return "truths"
    if "please extract a comprehensive list of FACTUAL" in prompt:
        return "claims"
    if prompt.startswith("Based on the given claims"):
        return "verdicts"
    if prompt.startswith("Below is a list of Contradictions"):
        return "reason"
    return "unknown"


class JudgeScript:
    """Callable script for FakeOpenAI; counts calls per kind. ``geval_score`` is on deepeval's 0-10 scale."""

    def __init__(self, geval_score: float = 8, unsupported: int = 1, invalid_json: int = 0):
        self.geval_score = geval_score
        self.unsupported = unsupported
        self.invalid_json = invalid_json
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, index: int, body: dict) -> Reply:
        if body.get("model") == "gen":
            # the model under test: a distinct conclusion per request, so every output is judged afresh
            with self._lock:
                self.calls["generation"] += 1
            return Reply(content=f"<p>Roman concrete heals its cracks, answer {index}.</p>")
        prompt = body["messages"][0]["content"]
        kind = kind_of(prompt)
        with self._lock:
            self.calls[kind] += 1
            if self.invalid_json > 0:
                self.invalid_json -= 1
                return Reply(content="I think the score is eight out of ten.")
        answers = {
            "geval": {"score": self.geval_score, "reason": "Integrates the sub-answers and answers the query."},
            "truths": {"truths": ["Roman concrete contains lime clasts.", "Self-healing reduces cracking."]},
            "claims": {"claims": [f"Roman concrete contains lime clasts (claim set {index}).", "A 2023 study proved 99% durability."]},
            "verdicts": {"verdicts": [{"verdict": "yes"}] + [{"verdict": "no", "reason": f"Not in the research ({index})."}] * self.unsupported},
            "reason": {"reason": "One claim is not supported by the research."},
        }
        if kind == "unknown":
            return Reply(status=400)
        return Reply(content=json.dumps(answers[kind]))
