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
