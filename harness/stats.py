"""Statistics for leaderboards and comparisons, in plain Python (exact where possible, seeded otherwise).

- ``wilson_interval``: 95% interval for a pass rate that behaves at 0/n and n/n;
- ``bootstrap_mean_interval`` / ``paired_bootstrap_interval``: percentile bootstrap, fixed seed;
- ``mcnemar_exact_p``: exact two-sided McNemar test on discordant pairs (binomial, p = 1/2);
- ``sign_test_p``: the same binomial test on wins vs losses of paired scores.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

Z_95 = 1.959963984540054
DEFAULT_SEED = 20250527
DEFAULT_RESAMPLES = 2000


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``trials`` (``(0, 1)`` when there are none)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def bootstrap_mean_interval(values: Sequence[float], seed: int = DEFAULT_SEED, resamples: int = DEFAULT_RESAMPLES,
                            confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; reproducible for a given seed."""
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], values[0]
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    return _percentile(means, tail), _percentile(means, 1 - tail)


def paired_bootstrap_interval(baseline: Sequence[float], candidate: Sequence[float], seed: int = DEFAULT_SEED,
                              resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of mean(candidate - baseline), resampling pairs together."""
    if len(baseline) != len(candidate):
        raise ValueError("paired samples must have the same length")
    return bootstrap_mean_interval([c - b for b, c in zip(baseline, candidate)], seed, resamples, confidence)


def _binomial_two_sided_p(k: int, n: int) -> float:
    """Exact two-sided p-value of observing ``min(k, n-k)`` or fewer successes in ``n`` fair trials."""
    if n == 0:
        return 1.0
    smaller = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(smaller + 1))
    return min(1.0, 2 * tail / 2**n)


def mcnemar_exact_p(baseline_only: int, candidate_only: int) -> float:
    """Exact McNemar p-value from the discordant pairs: passed only under baseline vs only under candidate."""
    return _binomial_two_sided_p(candidate_only, baseline_only + candidate_only)


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided sign test on paired scores (ties dropped)."""
    return _binomial_two_sided_p(wins, wins + losses)


def quantile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated quantile (``fraction`` in 0..1) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    return _percentile(sorted(values), fraction)


def cohen_kappa(both_pass: int, judge_only: int, human_only: int, both_fail: int) -> float:
    """Cohen's kappa of two raters' pass/fail verdicts from their 2x2 table (NaN when undefined)."""
    total = both_pass + judge_only + human_only + both_fail
    if total == 0:
        return math.nan
    observed = (both_pass + both_fail) / total
    judge_pass = (both_pass + judge_only) / total
    human_pass = (both_pass + human_only) / total
    expected = judge_pass * human_pass + (1 - judge_pass) * (1 - human_pass)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    position = 0
    while position < len(order):
        end = position
        while end + 1 < len(order) and values[order[end + 1]] == values[order[position]]:
            end += 1
        for i in range(position, end + 1):
            ranks[order[i]] = (position + end) / 2 + 1  # ties share their average rank
        position = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on average ranks); NaN when a side is constant."""
    if len(x) != len(y) or len(x) < 2:
        return math.nan
    rx, ry = _ranks(x), _ranks(y)
    mean_x, mean_y = sum(rx) / len(rx), sum(ry) / len(ry)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(rx, ry))
    spread = math.sqrt(sum((a - mean_x) ** 2 for a in rx) * sum((b - mean_y) ** 2 for b in ry))
    return math.nan if spread == 0 else covariance / spread
