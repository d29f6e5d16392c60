"""Score → seconds to midnight (named mapping strategies) and seconds → risk band.

Mappings: `linear` (the spec's, always stored as `seconds_linear`), `calibrated` (the clock fitted
on the Bulletin's settings, `joshua/calibration.py`: it reads the clock score, which only the risk
engine has, through a fitted `ClockMapping`) and `auto` (calibrated once its leave-one-out fit meets
issue 16's targets, linear until then). On a bare score without a fitted clock, as in what-if
simulations, `calibrated` and `auto` fall back to linear.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from schemas.records import Category

MIDNIGHT_SPAN = 1440  # seconds from noon (no risk) to midnight (certain catastrophe) on the spec's dial
CALIBRATED = "calibrated"
AUTO = "auto"


def linear_seconds(score: float) -> int:
    """The spec's mapping: floor((1 − score) × 1440), clamped to 0..1440."""
    # The epsilon keeps float error from flooring 1007.9999… to 1007 when the exact value is 1008.
    return min(MIDNIGHT_SPAN, max(0, math.floor((1.0 - score) * MIDNIGHT_SPAN + 1e-9)))


MAPPINGS: dict[str, Callable[[float], int]] = {"linear": linear_seconds, CALIBRATED: linear_seconds, AUTO: linear_seconds}


def seconds_to_midnight(score: float, mapping: str = "linear") -> int:
    """Seconds to midnight of a score under a named mapping strategy (calibrated ones: see above)."""
    try:
        return MAPPINGS[mapping](score)
    except KeyError:
        raise ValueError(f"unknown clock mapping {mapping!r}; known: {', '.join(MAPPINGS)}") from None


@dataclass(frozen=True)
class ClockMapping:
    """Category values → clock score c = Σ w_k·v_k → seconds exp(a − b·c) (b ≥ 0: monotone)."""

    intercept: float
    slope: float
    weights: dict[Category, float]

    def score(self, values: Mapping[Category, float]) -> float:
        """The clock score of category values: their weighted sum under the fitted weights."""
        return float(min(1.0, max(0.0, sum(w * values.get(c, 0.0) for c, w in self.weights.items()))))

    def seconds(self, score: float) -> int:
        """Seconds to midnight of a clock score: exp(a − b·score), rounded, within 0..1440."""
        return int(min(MIDNIGHT_SPAN, max(0, round(math.exp(min(50.0, self.intercept - self.slope * score))))))


@dataclass(frozen=True)
class CalibratedClock:
    """A fitted clock and whether its out-of-sample fit met the targets that make it the default."""

    mapping: ClockMapping
    meets_targets: bool
    loo_spearman: float
    loo_mae: float
    fitted_on: str

    def use_for(self, mapping: str) -> bool:
        """Whether a run configured with `mapping` takes its headline from this clock."""
        return mapping == CALIBRATED or (mapping == AUTO and self.meets_targets)


def band_for(seconds: int, bands: Mapping[str, int]) -> str:
    """The band whose upper bound the seconds fall below; beyond every bound, `minimal`."""
    for band, upper in bands.items():
        if seconds < upper:
            return band
    return "minimal"
