"""Uncertainty of the score by Monte Carlo (DESIGN decision 7a).

Each factor value v is drawn from Beta(κ·v, κ·(1 − v)), whose mean is v and whose spread shrinks
as the concentration κ grows with the rating's confidence (SD at v = 0.5: VeryLow 0.22, Low 0.15,
Moderate 0.10, High 0.06, VeryHigh 0.04). The score is linear in the values, so each draw's score
is the draws times the base score's coefficients. Seeded, so an assessment can be reproduced from
its stored seed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from joshua.risk.clock import seconds_to_midnight
from joshua.risk.score import BaseScore
from schemas.records import ConfidenceLevel, FactorRating

CONCENTRATION: dict[ConfidenceLevel, float] = {
    ConfidenceLevel.VERY_LOW: 4.0,
    ConfidenceLevel.LOW: 10.0,
    ConfidenceLevel.MODERATE: 25.0,
    ConfidenceLevel.HIGH: 60.0,
    ConfidenceLevel.VERY_HIGH: 150.0,
}
# Beta parameters must be positive: values at the very edge are drawn from just inside it.
EDGE = 1e-4


def seed_for(ratings: Sequence[FactorRating], settings: str) -> int:
    """A stable 32-bit seed from what the draws depend on: the ratings and the risk settings (JSON).

    Not from the run id: a replay of the same snapshot with the same settings gets the same ratings,
    so the same seed and the same interval and P(use), as docs/snapshots.md promises.
    """
    key = [(r.category.value, r.name, r.value, r.confidence.value) for r in ratings]
    digest = hashlib.sha256(json.dumps([key, settings]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Uncertainty:
    """The distribution of the score over the draws, and the headline 95 % interval."""

    iterations: int
    seed: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float
    draws: np.ndarray

    def seconds_interval(self, mapping: str) -> tuple[int, int]:
        """The interval in seconds to midnight (the high score is the low seconds)."""
        return seconds_to_midnight(self.ci_high, mapping), seconds_to_midnight(self.ci_low, mapping)


def draw_scores(
    values: np.ndarray, concentrations: np.ndarray, coefficients: np.ndarray, iterations: int, seed: int
) -> np.ndarray:
    """Scores of `iterations` joint draws of the factor values."""
    rng = np.random.default_rng(seed)
    centred = np.clip(values, EDGE, 1 - EDGE)
    draws = rng.beta(centred * concentrations, (1 - centred) * concentrations, size=(iterations, values.size))
    return draws @ coefficients


def score_uncertainty(
    ratings: Sequence[FactorRating], base: BaseScore, iterations: int = 10_000, seed: int = 0
) -> Uncertainty:
    """Mean, SD, median and 2.5/97.5 percentiles of the score; the interval always holds the point.

    Draws cannot reach exactly 0 or 1, so for a score at the very edge the percentile interval is
    extended to the point estimate.
    """
    if not ratings:
        return Uncertainty(iterations, seed, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(0))
    values = np.array([r.value for r in ratings], dtype=float)
    concentrations = np.array([CONCENTRATION[r.confidence] for r in ratings])
    scores = draw_scores(values, concentrations, base.coefficients, iterations, seed)
    low, median, high = np.percentile(scores, [2.5, 50, 97.5])
    return Uncertainty(
        iterations=iterations,
        seed=seed,
        mean=float(scores.mean()),
        sd=float(scores.std()),
        median=float(median),
        ci_low=float(min(low, base.score)),
        ci_high=float(max(high, base.score)),
        draws=scores,
    )
