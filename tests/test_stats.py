"""Statistics against known answers."""

from __future__ import annotations

import random

import pytest

from harness.stats import bootstrap_mean_interval, mcnemar_exact_p, paired_bootstrap_interval, quantile, sign_test_p, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Table I / Wilson score intervals
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (20, 20, 0.8389, 1.0),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_known_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=5e-4) and got[1] == pytest.approx(high, abs=5e-4)


def test_wilson_with_no_trials_is_uninformative():
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        # exact binomial McNemar: 2 * P(X <= min(b, c)), X ~ Bin(b + c, 1/2)
        (0, 0, 1.0),
        (1, 0, 1.0),
        (0, 5, 0.0625),
        (0, 6, 0.03125),
        (2, 10, 0.0386),
        (3, 11, 0.0574),
        (10, 10, 1.0),
    ],
)
def test_mcnemar_exact_p_values(b, c, p):
    assert mcnemar_exact_p(b, c) == pytest.approx(p, abs=5e-4)
    assert mcnemar_exact_p(c, b) == pytest.approx(p, abs=5e-4)


def test_sign_test_is_the_same_binomial_test():
    assert sign_test_p(10, 2) == pytest.approx(mcnemar_exact_p(2, 10))


def test_bootstrap_is_reproducible_and_covers_the_true_difference():
    rng = random.Random(7)
    baseline = [rng.gauss(0.60, 0.1) for _ in range(200)]
    candidate = [b + 0.05 + rng.gauss(0, 0.05) for b in baseline]
    interval = paired_bootstrap_interval(baseline, candidate, seed=1)
    assert interval == paired_bootstrap_interval(baseline, candidate, seed=1)
    assert interval[0] < 0.05 < interval[1]
    assert interval[0] > 0, "a real improvement of 0.05 with n=200 is detected"


def test_bootstrap_coverage_is_near_95_percent():
    covered = 0
    for trial in range(200):
        rng = random.Random(trial)
        values = [rng.gauss(1.0, 1.0) for _ in range(40)]
        low, high = bootstrap_mean_interval(values, seed=trial, resamples=400)
        covered += low <= 1.0 <= high
    assert 0.88 <= covered / 200 <= 0.99


def test_quantile():
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([5.0], 0.95) == 5.0
