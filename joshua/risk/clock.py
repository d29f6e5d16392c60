"""Score → seconds to midnight (named mapping strategies) and seconds → risk band."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

MIDNIGHT_SPAN = 1440  # seconds from noon (no risk) to midnight (certain catastrophe) on the spec's dial


def linear_seconds(score: float) -> int:
    """The spec's mapping: floor((1 − score) × 1440), clamped to 0..1440."""
    # The epsilon keeps float error from flooring 1007.9999… to 1007 when the exact value is 1008.
    return min(MIDNIGHT_SPAN, max(0, math.floor((1.0 - score) * MIDNIGHT_SPAN + 1e-9)))


MAPPINGS: dict[str, Callable[[float], int]] = {"linear": linear_seconds}


def seconds_to_midnight(score: float, mapping: str = "linear") -> int:
    """Seconds to midnight of a score under a named mapping strategy."""
    try:
        return MAPPINGS[mapping](score)
    except KeyError:
        raise ValueError(f"unknown clock mapping {mapping!r}; known: {', '.join(MAPPINGS)}") from None


def band_for(seconds: int, bands: Mapping[str, int]) -> str:
    """The band whose upper bound the seconds fall below; beyond every bound, `minimal`."""
    for band, upper in bands.items():
        if seconds < upper:
            return band
    return "minimal"
