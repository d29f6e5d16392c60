"""Alerts (DESIGN decision 4): what a new assessment says that someone should hear about.

- Apocalyptic: below 60 seconds to midnight.
- Critical: the band is `critical`.
- Severe: a move toward midnight of at least 10 % or at least 30 s since the previous assessment.
- Warning: a move toward midnight of at least 5 s, or a confidence drop of at least 20 points.
- Info: the trend changed to `rising` or `falling` (a significant Mann–Kendall result).

Each rule fires on its own, so one assessment can raise several alerts; a move that is Severe does
not also raise the Warning for the same move.
"""

from __future__ import annotations

from dataclasses import dataclass

from joshua.risk.trend import SIGNIFICANCE
from schemas.records import Alert, Trend

APOCALYPTIC_SECONDS = 60
SEVERE_MOVE_FRACTION, SEVERE_MOVE_SECONDS = 0.10, 30
WARNING_MOVE_SECONDS = 5
CONFIDENCE_DROP_POINTS = 20


@dataclass(frozen=True)
class Reading:
    """The parts of an assessment the alert rules look at."""

    seconds: int
    band: str
    confidence_score: float
    trend: Trend
    trend_p_value: float | None = None


def alerts_for(current: Reading, previous: Reading | None) -> list[Alert]:
    """The alerts a new assessment raises, most severe first."""
    raised = []
    if current.seconds < APOCALYPTIC_SECONDS:
        raised.append(
            Alert(
                level="Apocalyptic",
                kind="threshold",
                message=f"EXTREME DANGER: {current.seconds} seconds to midnight. IMMEDIATE ATTENTION REQUIRED.",
                threshold=APOCALYPTIC_SECONDS,
                value=current.seconds,
            )
        )
    if current.band == "critical":
        raised.append(
            Alert(
                level="Critical",
                kind="band",
                message=f"Critical: {current.seconds} seconds to midnight (band critical).",
                threshold=current.seconds,
                value=current.seconds,
            )
        )
    if previous is None:
        return raised
    move = previous.seconds - current.seconds  # positive: toward midnight
    fraction = move / previous.seconds if previous.seconds else 0.0
    if move >= SEVERE_MOVE_SECONDS or (move > 0 and fraction >= SEVERE_MOVE_FRACTION):
        raised.append(
            Alert(
                level="Severe",
                kind="move",
                message=f"Severe: {move} s toward midnight ({fraction:.0%}), now {current.seconds} seconds.",
                threshold=SEVERE_MOVE_SECONDS,
                value=move,
            )
        )
    elif move >= WARNING_MOVE_SECONDS:
        raised.append(
            Alert(
                level="Warning",
                kind="move",
                message=f"Warning: {move} s toward midnight, now {current.seconds} seconds.",
                threshold=WARNING_MOVE_SECONDS,
                value=move,
            )
        )
    drop = (previous.confidence_score - current.confidence_score) * 100
    if drop >= CONFIDENCE_DROP_POINTS:
        raised.append(
            Alert(
                level="Warning",
                kind="confidence",
                message=f"Warning: confidence fell {drop:.0f} points to {current.confidence_score:.2f}.",
                threshold=CONFIDENCE_DROP_POINTS,
                value=drop,
            )
        )
    if current.trend in ("rising", "falling") and current.trend != previous.trend:
        raised.append(
            Alert(
                level="Info",
                kind="trend",
                message=f"Info: the trend is now {current.trend} (was {previous.trend}).",
                threshold=SIGNIFICANCE,
                value=current.trend_p_value if current.trend_p_value is not None else 0.0,
            )
        )
    return raised
