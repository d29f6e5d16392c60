"""Trend over stored assessments (DESIGN decision 5): Mann–Kendall, Sen's slope, CUSUM.

Everything here reads a chronological series of seconds to midnight. `rising` means risk rising,
that is seconds falling toward midnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from schemas.records import Trend

MIN_TREND_POINTS = 3
# Trends are judged over the most recent assessments: about a quarter of daily runs. It also bounds
# Sen's slope, which compares every pair of points (n² / 2 slopes).
TREND_WINDOW = 90
MIN_CUSUM_POINTS = 10
SIGNIFICANCE = 0.05
CUSUM_K, CUSUM_H = 0.5, 4.0  # allowance and decision interval, in population standard deviations


@dataclass(frozen=True)
class MannKendall:
    """A Mann–Kendall test of a series against time, with Sen's slope."""

    tau: float
    p_value: float
    slope: float  # Sen's slope, units per step
    significant: bool


@dataclass(frozen=True)
class ChangePoint:
    """A CUSUM alarm: the index where a shift up or down was detected."""

    index: int
    direction: Literal["up", "down"]
    magnitude: float  # the cumulative sum when it crossed h, in the series' units


def mann_kendall(series: Sequence[float], window: int | None = TREND_WINDOW) -> MannKendall | None:
    """Kendall's τ-b of the series against time (tie-corrected variance) and Sen's slope; None if n < 3.

    Only the last `window` points count (None: all of them).
    """
    values = np.asarray(series, dtype=float)
    values = values[~np.isnan(values)]
    if window is not None:
        values = values[-window:]
    if values.size < MIN_TREND_POINTS:
        return None
    if np.all(values == values[0]):
        return MannKendall(tau=0.0, p_value=1.0, slope=0.0, significant=False)
    steps = np.arange(values.size)
    tau, p_value = stats.kendalltau(steps, values)
    slope = stats.theilslopes(values, steps).slope
    return MannKendall(tau=float(tau), p_value=float(p_value), slope=float(slope), significant=p_value < SIGNIFICANCE)


def cusum_change_points(series: Sequence[float]) -> list[ChangePoint]:
    """Two-sided CUSUM with k = 0.5σ and h = 4σ (population σ), reset after each alarm; none if n < 10."""
    values = np.asarray(series, dtype=float)
    values = values[~np.isnan(values)]
    if values.size < MIN_CUSUM_POINTS:
        return []
    mean, sigma = values.mean(), values.std()
    if sigma == 0:
        return []
    k, h = CUSUM_K * sigma, CUSUM_H * sigma
    upper = lower = 0.0
    points = []
    for index, value in enumerate(values):
        upper = max(0.0, upper + value - mean - k)
        lower = max(0.0, lower - value + mean - k)
        if upper > h:
            points.append(ChangePoint(index=index, direction="up", magnitude=upper))
            upper = 0.0
        if lower > h:
            points.append(ChangePoint(index=index, direction="down", magnitude=lower))
            lower = 0.0
    return points


def trend_label(seconds_history: Sequence[float]) -> Trend:
    """`rising` (toward midnight), `falling`, `stable`, or `insufficient` with fewer than three points."""
    test = mann_kendall(seconds_history)
    if test is None:
        return "insufficient"
    if not test.significant:
        return "stable"
    return "rising" if test.tau < 0 else "falling"
