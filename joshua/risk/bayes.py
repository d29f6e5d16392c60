"""The Bayesian step (DESIGN decision 6): Normal–Normal shrinkage toward history, and factor
correlation diagnostics.

With history h_1..h_n of a quantity (the base score, or one category's value) of mean μ and
population variance σ², and a new observation x:

    prior precision  τ₀ = 1 / max(σ², VARIANCE_FLOOR)
    adjusted         = (τ₀·μ + τ_obs·x) / (τ₀ + τ_obs)      with τ_obs = 10 (the spec's value)

With no history, x passes through. The floor keeps one prior point or an identical history from
dividing by zero, and keeps the headline from freezing: real score histories vary by a few
hundredths, which would give the past a weight of hundreds against the observation's 10. With
σ² ≥ 0.05 the prior precision is at most 20, so the new observation always keeps at least a third
of the weight: shrinkage smooths noise without hiding a real move. History is of *base* scores,
never of adjusted ones, so the prior does not feed on its own output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

OBSERVATION_PRECISION = 10.0
VARIANCE_FLOOR = 0.05
CORRELATION_THRESHOLD = 0.3
MIN_CORRELATION_POINTS = 30


@dataclass(frozen=True)
class Shrinkage:
    """An observation pulled toward its history."""

    observed: float
    adjusted: float
    prior_mean: float | None
    prior_variance: float | None
    history_points: int


def shrink(observed: float, history: Sequence[float], obs_precision: float = OBSERVATION_PRECISION) -> Shrinkage:
    """Normal–Normal posterior mean of `observed` given its history (formula in the module docstring).

    NaN values in the history are ignored; a NaN observation has nothing to adjust and passes through.
    """
    past = np.asarray(history, dtype=float)
    past = past[~np.isnan(past)]
    if past.size == 0 or np.isnan(observed):
        return Shrinkage(observed, observed, None, None, int(past.size))
    mean, variance = float(past.mean()), float(past.var())
    prior_precision = 1.0 / max(variance, VARIANCE_FLOOR)
    adjusted = (prior_precision * mean + obs_precision * observed) / (prior_precision + obs_precision)
    return Shrinkage(observed, adjusted, mean, variance, int(past.size))


@dataclass(frozen=True)
class Correlation:
    """A notable Pearson correlation between two factors' histories."""

    first: str
    second: str
    r: float
    n: int


def factor_correlations(history: Mapping[str, Sequence[float]]) -> list[Correlation]:
    """Pairs of factors whose aligned histories correlate with |r| > 0.3 over at least 30 points.

    `history` maps a factor name to its values over the same assessments (NaN where absent); each
    pair is compared over the assessments where both are present. All pairs are computed at once
    from masked sums (matrix products), not pair by pair.
    """
    names = sorted(history)
    if len(names) < 2:
        return []
    values = np.array([np.asarray(history[name], dtype=float) for name in names])
    present = (~np.isnan(values)).astype(float)
    x = np.where(present > 0, values, 0.0)
    n = present @ present.T  # points both factors have
    sum_x = x @ present.T  # Σ x_i over the shared points of (i, j)
    sum_xx = (x * x) @ present.T
    sum_xy = x @ x.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sum_xy - sum_x * sum_x.T / n
        var_i = sum_xx - sum_x**2 / n
        r = cov / np.sqrt(var_i * var_i.T)
    found = []
    for i, j in zip(*np.triu_indices(len(names), k=1), strict=True):
        usable = n[i, j] >= MIN_CORRELATION_POINTS and var_i[i, j] > 1e-12 and var_i[j, i] > 1e-12
        if usable and abs(r[i, j]) > CORRELATION_THRESHOLD:
            found.append(Correlation(names[i], names[j], float(np.clip(r[i, j], -1.0, 1.0)), int(n[i, j])))
    return sorted(found, key=lambda c: abs(c.r), reverse=True)
