"""The bootstrap interval: known cases, and the same answer every time."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.evaluation.bootstrap import mean_interval


def test_constant_values_give_a_zero_width_interval() -> None:
    interval = mean_interval([0.4, 0.4, 0.4, 0.4])
    assert interval is not None
    assert (interval.mean, interval.low, interval.high, interval.n) == pytest.approx(
        (0.4, 0.4, 0.4, 4)
    )


def test_two_values_span_from_one_to_the_other() -> None:
    # Resampling [0, 1] gives means 0, 0.5 and 1 with chances 1/4, 1/2, 1/4: the 2.5 % and
    # 97.5 % points are the two ends, the mean is the middle.
    interval = mean_interval([0.0, 1.0])
    assert interval is not None
    assert (interval.mean, interval.low, interval.high) == (0.5, 0.0, 1.0)


def test_a_large_sample_matches_the_normal_approximation() -> None:
    values = np.random.default_rng(0).normal(2.0, 1.0, 400)
    interval = mean_interval(values)
    assert interval is not None
    expected_half_width = 1.96 * values.std() / np.sqrt(len(values))
    assert interval.mean == pytest.approx(values.mean())
    assert (interval.high - interval.low) / 2 == pytest.approx(expected_half_width, rel=0.1)
    assert interval.low < interval.mean < interval.high


def test_same_seed_same_interval_and_other_seed_other_interval() -> None:
    # Twenty distinct values: few enough that resampling noise shows in the interval's ends.
    values = list(np.random.default_rng(1).uniform(0, 1, 20))
    assert mean_interval(values) == mean_interval(values)
    assert mean_interval(values, seed=1) != mean_interval(values, seed=2)


def test_no_values_no_interval() -> None:
    assert mean_interval([]) is None
