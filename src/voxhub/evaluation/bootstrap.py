"""Means with a 95 % bootstrap interval over speakers, reproducible from a fixed seed.

A mean over five or thirty speakers moves a lot with who happens to be in the set; the interval
says how much, so two runs (or two settings) are compared by more than their means. Speakers,
not sentences or targets, are resampled: a speaker's scores share one voice and are not
independent of each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Fixed, so the same scores always give the same interval (and a report can be diffed).
SEED = 13
RESAMPLES = 10_000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over `n` values and its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready, to four places."""
        return {
            "mean": round(self.mean, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "n": self.n,
        }


def mean_interval(
    values: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
) -> Interval | None:
    """The mean of `values` and the central `level` share of the means of `resamples`
    resamples drawn with replacement; None for no values. One value gives a zero-width
    interval: nothing to resample, which the `n` beside it makes plain."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    means = data[picks].mean(axis=1)
    tail = (1.0 - level) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(data.mean()), float(low), float(high), int(data.size))
