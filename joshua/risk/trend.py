"""Trend over stored assessments (DESIGN decision 5): Mann–Kendall, Sen's slope, CUSUM.

Everything here reads a chronological series of seconds to midnight. `rising` means risk rising,
that is seconds falling toward midnight.

Kendall's τ and Sen's slope are computed here with NumPy exactly as `scipy.stats.kendalltau` and
`scipy.stats.theilslopes` compute them (tests/test_trend.py checks them against SciPy): importing
scipy.stats costs every flow process about 75 MB for two functions of a series of at most 90 points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import math

import numpy as np

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
    tau, p_value = kendall_tau(values)
    return MannKendall(tau=tau, p_value=p_value, slope=sens_slope(values), significant=p_value < SIGNIFICANCE)


def kendall_tau(values: np.ndarray) -> tuple[float, float]:
    """Kendall's τ-b of a series against its index and the two-sided p-value, as SciPy's `kendalltau`.

    The p-value is exact (Kendall's recursion) without ties when n ≤ 33 or at most one pair is
    discordant, else from the normal approximation with the tie-corrected variance.
    """
    n = values.size
    signs = np.sign(values[None, :] - values[:, None])
    s = int(np.triu(signs, 1).sum())  # concordant minus discordant pairs (time never ties)
    pairs = n * (n - 1) // 2
    _, counts = np.unique(values, return_counts=True)
    tied = int((counts * (counts - 1) // 2).sum())
    tau = min(1.0, max(-1.0, s / math.sqrt(pairs) / math.sqrt(pairs - tied)))
    discordant = (pairs - tied - s) // 2
    if tied == 0 and (n <= 33 or min(discordant, pairs - discordant) <= 1):
        return tau, _kendall_exact_p(n, pairs - discordant)
    variance = (n * (n - 1.0) * (2 * n + 5) - float((counts * (counts - 1.0) * (2 * counts + 5)).sum())) / 18
    return tau, math.erfc(abs(s) / math.sqrt(variance) / math.sqrt(2))  # 2 × the normal tail


def _kendall_exact_p(n: int, concordant: int) -> float:
    """The exact two-sided p-value of `concordant` pairs among n untied points (Kendall, 1970)."""
    c = min(concordant, n * (n - 1) // 2 - concordant)
    if n <= 2:
        return 1.0
    if c == 0:
        return 2.0 / math.factorial(n) if n < 171 else 0.0
    if c == 1:
        return 2.0 / math.factorial(n - 1) if n < 172 else 0.0
    if 4 * c == n * (n - 1):
        return 1.0
    counts = np.zeros(c + 1)
    counts[0:2] = 1.0
    for j in range(3, n + 1):
        counts = np.cumsum(counts) if n < 171 else np.cumsum(counts) / j
        if j <= c:
            counts[j:] -= counts[: c + 1 - j]
    probability = 2.0 * counts.sum() / math.factorial(n) if n < 171 else counts.sum()
    return float(min(1.0, max(0.0, probability)))


def sens_slope(values: np.ndarray) -> float:
    """Sen's slope: the median of the slopes between every pair of points, as SciPy's `theilslopes`."""
    steps = np.arange(values.size, dtype=float)
    dx = steps[:, None] - steps
    dy = values[:, None] - values
    return float(np.median(dy[dx > 0] / dx[dx > 0]))


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
