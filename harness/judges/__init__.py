"""LLM-judge metrics (deepeval): ``synthesis_quality`` (G-Eval, fixed steps: one call per output)
and ``faithfulness`` (claims checked against the research, one chunk per answer, viewpoint and gap
list; truths extracted once per research input and judge).

Each result is ``{"score", "passed", "reason", "judge_model", "metric_version", "cost_usd", "error"}``;
with ``judge_repeats`` > 1 also ``"scores"``, ``"spread"`` and ``"above_threshold"`` (the fraction
of repeats at or above the threshold). Without a judge model, metrics are reported as skipped
(``score`` and ``passed`` null, the reason saying why), never as passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from harness.judges._context import judge_input, retrieval_chunks
from harness.llm import LLMError, LLMRequest, LLMResponse
from harness.prompts import SectionSpec

JUDGES = ("synthesis_quality", "faithfulness")
DEFAULT_THRESHOLDS = {"synthesis_quality": 0.5, "faithfulness": 0.7}
SKIPPED_NO_MODEL = "skipped: no judge model (set --judge-model, HARNESS_JUDGE_MODEL or [tool.harness] judge_model)"

_ROLE_STEPS = {
    "synthesis": "Check that the '{name}' paragraph integrates findings across the sub-questions into a higher-level "
                 "understanding (shared themes, how findings support or qualify each other) instead of summarizing "
                 "each sub-question in turn. Listing sub-answers one by one is a serious fault.",
    "direct_response": "Check that the '{name}' paragraph answers the main query directly and clearly separates what the "
                       "research establishes from what remains uncertain, consistent with the stated confidence levels.",
    "limitations": "Check that the '{name}' paragraph names the real, specific limitations and information gaps of THIS "
                   "research (its stated gaps, perspective gaps and critique), not generic caveats, and what further "
                   "evidence would help.",
    "implications": "Check that the '{name}' paragraph draws concrete implications for stakeholders that follow from "
                    "the findings.",
}


def synthesis_steps(spec: SectionSpec) -> list[str]:
    """The fixed G-Eval steps, written from the section spec's names and roles."""
    steps = [_ROLE_STEPS.get(section.key, "Check that the '{name}' paragraph fulfils its role.").format(name=section.name)
             for section in spec.sections]
    steps.append("Score high only when every paragraph does its job; heavily penalize a conclusion that never answers the "
                 "main query or that merely lists findings.")
    return steps


def metric_version(name: str, spec: SectionSpec) -> str:
    """Changes whenever the judge's prompts or steps change (our steps, or deepeval's templates)."""
    material = {"metric": name, "deepeval": version("deepeval"),
                "steps": synthesis_steps(spec) if name == "synthesis_quality" else None, "chunks": "v1"}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]


JudgeCaller = Callable[[LLMRequest], Awaitable[LLMResponse]]


@dataclass
class Judging:
    """Scores outputs with the enabled judge metrics; every judge call goes through ``caller``."""

    judge_model: str | None
    caller: JudgeCaller
    names: tuple[str, ...] = JUDGES
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    repeats: int = 1
    json_mode: bool = True
    _truths: dict[tuple, asyncio.Future] = field(default_factory=dict)

    async def score(self, research: dict[str, Any], output: str, spec: SectionSpec) -> dict[str, dict[str, Any]]:
        """Every enabled metric's result for one output (metrics run concurrently)."""
        if not self.judge_model:
            return {name: {"score": None, "passed": None, "reason": SKIPPED_NO_MODEL, "judge_model": None,
                           "metric_version": metric_version(name, spec), "cost_usd": None, "error": None} for name in self.names}
        results = await asyncio.gather(*(self._repeated(name, research, output, spec) for name in self.names))
        return dict(zip(self.names, results))

    async def _repeated(self, name: str, research: dict[str, Any], output: str, spec: SectionSpec) -> dict[str, Any]:
        runs = await asyncio.gather(*(self._once(name, research, output, spec, sample) for sample in range(self.repeats)))
        first = dict(runs[0])
        if self.repeats == 1:
            return first
        scores = [run["score"] for run in runs if run["score"] is not None]
        threshold = self.thresholds[name]
        costs = [run["cost_usd"] for run in runs]
        first.update(
            scores=[run["score"] for run in runs],
            score=statistics.fmean(scores) if scores else None,
            spread=statistics.pstdev(scores) if len(scores) > 1 else 0.0 if scores else None,
            above_threshold=sum(score >= threshold for score in scores) / len(scores) if scores else None,
            cost_usd=None if any(c is None for c in costs) else sum(costs),
            error=next((run["error"] for run in runs if run["error"]), None),
        )
        first["passed"] = None if first["score"] is None else first["score"] >= threshold
        return first

    async def _once(self, name: str, research: dict[str, Any], output: str, spec: SectionSpec, sample: int) -> dict[str, Any]:
        from deepeval.test_case import LLMTestCase

        from harness.judges._adapter import HarnessJudge, JudgeError

        judge = HarnessJudge(self.judge_model, self.caller, sample=sample, json_mode=self.json_mode)
        result = {"score": None, "passed": None, "reason": None, "judge_model": self.judge_model,
                  "metric_version": metric_version(name, spec), "cost_usd": None, "error": None}
        try:
            if name == "synthesis_quality":
                metric = _synthesis_metric(judge, spec, self.thresholds[name])
                case = LLMTestCase(input=judge_input(research) + "\n\nResearch findings (JSON):\n" + json.dumps(research, ensure_ascii=False),
                                   actual_output=output)
            else:
                metric = _faithfulness_metric(judge, self.thresholds[name], self._truths, (self.judge_model, sample, result["metric_version"]))
                case = LLMTestCase(input=judge_input(research), actual_output=output, retrieval_context=retrieval_chunks(research))
            await metric.a_measure(case, _show_indicator=False)
        except JudgeError as error:
            result.update(error=f"{error.kind}: {error.message}", cost_usd=judge.cost_usd)
            return result
        except LLMError as error:
            result.update(error=f"{error.kind}: {error.message}", cost_usd=judge.cost_usd)
            return result
        except Exception as error:  # deepeval is third-party code: its failure is this metric's error, not the run's
            result.update(error=f"judge_error: {type(error).__name__}: {' '.join(str(error).split())[:300]}", cost_usd=judge.cost_usd)
            return result
        score = float(metric.score)
        reason = metric.reason or ""
        if name == "faithfulness":
            unsupported = [claim for claim, verdict in zip(metric.claims or [], metric.verdicts or [])
                           if str(getattr(verdict.verdict, "value", verdict.verdict)).strip().lower() == "no"]
            if unsupported:
                reason += " Unsupported claims: " + "; ".join(unsupported)
        result.update(score=score, passed=score >= self.thresholds[name], reason=reason.strip(), cost_usd=judge.cost_usd,
                      judge_calls=judge.calls)
        return result


def _synthesis_metric(judge: Any, spec: SectionSpec, threshold: float) -> Any:
    from deepeval.metrics import GEval
    from deepeval.test_case import SingleTurnParams

    return GEval(name="synthesis_quality", evaluation_steps=synthesis_steps(spec), model=judge, threshold=threshold,
                 evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT], async_mode=True)


def _faithfulness_metric(judge: Any, threshold: float, truths: dict, key_prefix: tuple) -> Any:
    from deepeval.metrics import FaithfulnessMetric as DeepEvalFaithfulness

    # deepeval finds its prompt templates by class name, so the subclass keeps the name.
    class FaithfulnessMetric(DeepEvalFaithfulness):
        """Truths depend only on the research and the judge: extract them once, even when several
        outputs of the same input ask at the same moment."""

        async def _a_generate_truths(self, retrieval_context: list[str], multimodal: bool) -> list[str]:
            key = (*key_prefix, tuple(retrieval_context), multimodal)
            pending = truths.get(key)
            if pending is None:
                pending = asyncio.ensure_future(super()._a_generate_truths(retrieval_context, multimodal))
                truths[key] = pending
                pending.add_done_callback(lambda done: truths.pop(key) if done.exception() else None)
            return list(await asyncio.shield(pending))

    return FaithfulnessMetric(threshold=threshold, model=judge, include_reason=True, async_mode=True)


def resolve_judge_names(names: list[str] | tuple[str, ...], source: str = "--judges") -> tuple[str, ...]:
    """Validate judge metric names from config or flags."""
    from harness.errors import UsageError

    for name in names:
        if name not in JUDGES:
            raise UsageError(f"{source}: unknown judge metric {name!r} (known: {', '.join(JUDGES)})")
    return tuple(dict.fromkeys(names))
