"""Walk-forward backtest and calibration curve (spec §1.11), reusable by the calibration work.

The walk-forward predictor at step i sees scores [0, i) only and extrapolates one step with Sen's
slope from the last value (the persistence forecast when there are fewer than three points).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from joshua.risk.trend import mann_kendall

CALIBRATION_BINS = 10
MIN_TRAINING_POINTS = 2


def predict_next(history: Sequence[float]) -> float:
    """The next score from the history: last value plus Sen's slope, clipped to [0, 1]."""
    test = mann_kendall(history)
    slope = test.slope if test is not None else 0.0
    return float(np.clip(history[-1] + slope, 0.0, 1.0))


@dataclass(frozen=True)
class Backtest:
    """How well one-step-ahead predictions matched what came next."""

    predictions: int
    correlation: float | None
    mae: float
    rmse: float
    direction_accuracy: float | None


def walk_forward(
    scores: Sequence[float], predictor: Callable[[Sequence[float]], float] = predict_next
) -> Backtest | None:
    """Predict each score from those before it; None with fewer than three scores.

    Correlation is None when either side is constant; direction accuracy counts steps where the
    predicted and actual moves have the same sign (a flat move matches a flat prediction), None when
    every step is flat on both sides.
    """
    if len(scores) <= MIN_TRAINING_POINTS:
        return None
    actual = np.asarray(scores[MIN_TRAINING_POINTS:], dtype=float)
    predicted = np.array([predictor(scores[:i]) for i in range(MIN_TRAINING_POINTS, len(scores))])
    previous = np.asarray(scores[MIN_TRAINING_POINTS - 1 : -1], dtype=float)
    errors = predicted - actual
    correlation = (
        float(np.corrcoef(predicted, actual)[0, 1]) if predicted.std() > 0 and actual.std() > 0 else None
    )
    moves = np.sign(actual - previous), np.sign(predicted - previous)
    informative = (moves[0] != 0) | (moves[1] != 0)
    direction = float((moves[0] == moves[1])[informative].mean()) if informative.any() else None
    return Backtest(
        predictions=int(actual.size),
        correlation=correlation,
        mae=float(np.abs(errors).mean()),
        rmse=float(np.sqrt((errors**2).mean())),
        direction_accuracy=direction,
    )


@dataclass(frozen=True)
class CalibrationBin:
    """One of ten bins of predicted probability."""

    predicted: float  # the bin's centre
    actual: float  # mean outcome in the bin, or the centre for an empty bin
    count: int


def calibration_curve(predicted: Sequence[float], outcomes: Sequence[float]) -> list[CalibrationBin]:
    """Spec §1.11: bin = min(⌊p·10⌋, 9); an empty bin reports its own centre."""
    p = np.clip(np.asarray(predicted, dtype=float), 0.0, 1.0)
    y = np.asarray(outcomes, dtype=float)
    bins = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    curve = []
    for b in range(CALIBRATION_BINS):
        centre = (b + 0.5) / CALIBRATION_BINS
        members = y[bins == b]
        curve.append(CalibrationBin(centre, float(members.mean()) if members.size else centre, int(members.size)))
    return curve
