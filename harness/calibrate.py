"""How far to trust a judge: its verdicts against human labels on authored calibration pairs.

A pair (``datasets/judge-calibration/<id>.json``) names a dataset case, holds a conclusion and,
per metric, the human verdict, score and a one-line rationale. ``calibrate`` scores every pair
with the judge and reports, per metric, accuracy, Cohen's kappa, Spearman's rho, the confusion
matrix and the pairs the judge got wrong.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.dataset import Case, read_json_file
from harness.errors import InputError, first_problem
from harness.prompts import SectionSpec
from harness.stats import cohen_kappa, spearman


class HumanLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    score: float = Field(ge=0, le=1)
    rationale: str


class CalibrationPair(BaseModel):
    """One labelled (research input, conclusion) pair. Authored, and says so."""

    model_config = ConfigDict(extra="forbid")

    case: str
    conclusion: str = Field(min_length=1)
    authored: bool
    note: str = ""
    labels: dict[str, HumanLabel]


@dataclass(frozen=True)
class Disagreement:
    pair: str
    human_passed: bool
    human_score: float
    judge_passed: bool | None
    judge_score: float | None
    rationale: str
    judge_reason: str | None


@dataclass(frozen=True)
class MetricAgreement:
    metric: str
    pairs: int
    judged: int
    accuracy: float
    kappa: float
    spearman: float
    confusion: dict[str, int]  # judge_pass_human_pass, judge_pass_human_fail, judge_fail_human_pass, judge_fail_human_fail
    errors: int
    wrong: list[Disagreement]


def load_pairs(directory: Path) -> dict[str, CalibrationPair]:
    if not directory.is_dir():
        raise InputError(f"{directory}: calibration directory not found")
    pairs = {}
    for path in sorted(directory.glob("*.json")):
        try:
            pairs[path.stem] = CalibrationPair.model_validate(read_json_file(path))
        except ValidationError as error:
            raise InputError(f"{path}: {first_problem(error)}") from None
    if not pairs:
        raise InputError(f"{directory}: no calibration pairs (*.json)")
    return pairs


def agreement(metric: str, labels: dict[str, HumanLabel], results: dict[str, dict[str, Any]]) -> MetricAgreement:
    """Agreement of judge results with human labels for one metric (judge errors are counted apart)."""
    confusion = {"judge_pass_human_pass": 0, "judge_pass_human_fail": 0, "judge_fail_human_pass": 0, "judge_fail_human_fail": 0}
    human_scores, judge_scores, wrong, errors = [], [], [], 0
    for pair_id, label in labels.items():
        result = results.get(pair_id) or {}
        if result.get("score") is None:
            errors += 1
            wrong.append(Disagreement(pair_id, label.passed, label.score, None, None, label.rationale, result.get("error") or result.get("reason")))
            continue
        judge_passed = bool(result["passed"])
        key = f"judge_{'pass' if judge_passed else 'fail'}_human_{'pass' if label.passed else 'fail'}"
        confusion[key] += 1
        human_scores.append(label.score)
        judge_scores.append(result["score"])
        if judge_passed != label.passed:
            wrong.append(Disagreement(pair_id, label.passed, label.score, judge_passed, result["score"], label.rationale, result.get("reason")))
    judged = sum(confusion.values())
    agree = confusion["judge_pass_human_pass"] + confusion["judge_fail_human_fail"]
    return MetricAgreement(
        metric=metric, pairs=len(labels), judged=judged, accuracy=agree / judged if judged else float("nan"),
        kappa=cohen_kappa(confusion["judge_pass_human_pass"], confusion["judge_pass_human_fail"],
                          confusion["judge_fail_human_pass"], confusion["judge_fail_human_fail"]),
        spearman=spearman(judge_scores, human_scores), confusion=confusion, errors=errors, wrong=wrong,
    )


def calibrate(pairs: dict[str, CalibrationPair], cases: dict[str, Case], judging: Any, spec: SectionSpec) -> list[MetricAgreement]:
    """Score every pair with ``judging`` (a ``harness.judges.Judging``) and compare with the labels."""
    missing = sorted({pair.case for pair in pairs.values()} - set(cases))
    if missing:
        raise InputError(f"calibration pairs name cases not in the dataset: {', '.join(missing)}")

    async def score_all() -> dict[str, dict[str, dict[str, Any]]]:
        scored = await asyncio.gather(*(judging.score(cases[p.case].research, p.conclusion, spec) for p in pairs.values()))
        return dict(zip(pairs, scored))

    results = asyncio.run(score_all())
    metrics = sorted({metric for pair in pairs.values() for metric in pair.labels} & set(judging.names))
    return [
        agreement(metric, {pid: p.labels[metric] for pid, p in pairs.items() if metric in p.labels},
                  {pid: results[pid][metric] for pid in pairs})
        for metric in metrics
    ]


def as_json(metrics: list[MetricAgreement]) -> str:
    def clean(value: Any) -> Any:
        return None if isinstance(value, float) and value != value else value

    return json.dumps([{k: clean(v) for k, v in asdict(m).items()} for m in metrics], indent=2) + "\n"
