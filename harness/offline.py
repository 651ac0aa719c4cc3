"""``offline/extractive``: a deterministic, non-LLM baseline behind the same litellm client.

It reads what a real model reads (the system prompt and the research JSON in the user message),
takes the word budgets the system prompt states, and writes one ``<p>`` per budget from
sentences of the research: synthesized answers and agreements, the direct answers with their
confidence, the gaps and critique, then tensions and insights. No network, no weights. It is
the floor row of every leaderboard; its outputs are computed on every run, never recorded.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from harness.checks import count_words

_BUDGET_PATTERNS = (
    re.compile(r"\((\d+)\s*[-–]\s*(\d+) words\)"),
    re.compile(r"between (\d+) and (\d+) words"),
)
_FALLBACK_BUDGETS = ((90, 130),) * 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")


def stated_budgets(system_prompt: str) -> list[tuple[int, int]]:
    """The paragraph word budgets a prompt states, in order (e.g. ``(150-200 words)``)."""
    for pattern in _BUDGET_PATTERNS:
        found = [(int(low), int(high)) for low, high in pattern.findall(system_prompt)]
        if found:
            return found
    return list(_FALLBACK_BUDGETS)


def _sentences(text: Any) -> list[str]:
    if isinstance(text, list):
        return [sentence for item in text for sentence in _sentences(item)]
    if not isinstance(text, str):
        return []
    return [" ".join(part.split()) for part in _SENTENCE.split(text.strip()) if count_words(part) >= 3]


def _interleave(groups: Iterable[list[str]]) -> list[str]:
    """Round-robin over groups so every sub-question contributes early."""
    groups = [list(group) for group in groups if group]
    result = []
    while any(groups):
        for group in groups:
            if group:
                result.append(group.pop(0))
    return result


def _pools(research: dict[str, Any]) -> list[list[str]]:
    info = research.get("enhanced_info") or {}
    answers = [entry for entry in info.values() if isinstance(entry, dict)]
    viewpoints = research.get("viewpoint_analysis") or {}
    reflection = research.get("reflection_metadata") or {}
    tensions = [t for t in viewpoints.get("areas_of_tension") or [] if isinstance(t, dict)]
    confidence = [
        f"Confidence in the finding on {question.rstrip('?')} is {entry.get('confidence_level', 'unstated')}."
        for question, entry in info.items() if isinstance(entry, dict)
    ]
    synthesis = _sentences(viewpoints.get("integrative_insights")) + _sentences(viewpoints.get("main_points_of_agreement"))
    synthesis += _interleave(_sentences(entry.get("synthesized_answer"))[1:] for entry in answers)
    direct = [sentence for entry in answers for sentence in _sentences(entry.get("synthesized_answer"))[:1]]
    direct += confidence
    limits = _interleave(_sentences(entry.get("information_gaps")) for entry in answers)
    limits += _sentences(viewpoints.get("perspective_gaps")) + _sentences(reflection.get("critique_summary"))
    limits += _sentences(reflection.get("additional_questions_identified"))
    implications = [
        sentence
        for tension in tensions
        for sentence in _sentences(list((tension.get("viewpoints") or {}).values()))[:2]
    ]
    implications += _interleave(_sentences(entry.get("improvements")) for entry in answers)
    return [synthesis, direct, limits, implications]


def _fill(target: int, high: int, preferred: list[str], fallback: Iterator[str]) -> str:
    """Take sentences until ``target`` words; cut the last one so the paragraph stays <= ``high``."""
    chosen: list[str] = []
    words = 0
    used: set[str] = set()
    sources = iter(preferred)
    while words < target:
        sentence = next(sources, None)
        if sentence is None:
            sentence = next(fallback, None)
            if sentence is None:
                break
        if sentence in used:
            continue
        used.add(sentence)
        room = high - words
        length = count_words(sentence)
        if length > room:
            tokens = sentence.split()
            cut: list[str] = []
            for token in tokens:
                if count_words(" ".join(cut + [token])) > min(room, target - words + 5):
                    break
                cut.append(token)
            sentence = " ".join(cut).rstrip(",;:") + "."
            length = count_words(sentence)
        chosen.append(sentence)
        words += length
    return " ".join(chosen)


def write_conclusion(system_prompt: str, user_message: str) -> str:
    """The baseline's answer: one ``<p>`` per stated budget, each sized to its budget's middle."""
    budgets = stated_budgets(system_prompt)
    try:
        research = json.loads(user_message)
    except json.JSONDecodeError:
        research = {"enhanced_info": {"input": {"synthesized_answer": user_message}}}
    if not isinstance(research, dict):
        research = {}
    pools = _pools(research)
    everything = [sentence for pool in pools for sentence in pool] or [
        f"The research addresses the question: {research.get('main_query', 'unstated')}"
    ]

    def cycle() -> Iterator[str]:
        # After the research runs out, restate its sentences with a marker so no text repeats verbatim.
        yield from everything
        for round_number in range(2, 50):
            for sentence in everything:
                yield f"Restating point {round_number}: {sentence}"

    paragraphs = []
    for index, (low, high) in enumerate(budgets):
        pool = pools[index] if index < len(pools) else []
        text = _fill((low + high) // 2, high, pool, cycle())
        paragraphs.append(f"<p>{html.escape(text, quote=False)}</p>")
    return "\n\n".join(paragraphs)


def _message(messages: list[dict[str, Any]], role: str) -> str:
    for message in messages:
        if message.get("role") == role and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def litellm_provider() -> Any:
    """The litellm custom provider behind ``offline/extractive``.

    Built on first use, so that importing this module (``write_conclusion``) does not import litellm."""
    import litellm
    from litellm.llms.custom_llm import CustomLLM

    class ExtractiveModel(CustomLLM):
        """litellm custom provider ``offline``; model ``offline/extractive``."""

        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            if model.split("/")[-1] != "extractive":
                raise litellm.exceptions.NotFoundError(
                    message=f"unknown offline model {model!r}; available: offline/extractive",
                    model=model, llm_provider="offline",
                )
            system, user = _message(messages, "system"), _message(messages, "user")
            text = write_conclusion(system, user)
            return litellm.ModelResponse(
                model="offline/extractive",
                choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                usage={
                    "prompt_tokens": count_words(system) + count_words(user),
                    "completion_tokens": count_words(text),
                    "total_tokens": count_words(system) + count_words(user) + count_words(text),
                },
            )

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return self.completion(model, messages, *args, **kwargs)

    return ExtractiveModel()
