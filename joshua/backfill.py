"""The reconstruction 1947–2026: one structural assessment per year through the risk engine.

Each year is assessed as of 31 December (today for the current year) from the historical record
alone, so it reflects that year's events and nothing dated later. Every year is its own run with
an id derived from the year (`YYYY1231T000000Z-<hash>`), so a rerun replaces that year's rows
instead of adding to them. Years are chained oldest first: each one's trend and alerts read the
years before it, never after, and none is shrunk toward the others (the reconstruction is a
level, not a noisy reading of one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time

from joshua.risk.assess import History, build_assessment
from joshua.risk.clock import CalibratedClock
from joshua.settings import RiskSettings
from joshua.structural.analyzer import structural_analysis
from joshua.structural.history import HistoricalRecord
from schemas.records import Assessment

BACKFILL_FLOW = "nuclear-risk-backfill"
FIRST_YEAR = 1947
DATA_LABEL = "structural reconstruction from yearly historical indicators (data/reference/history), not news"


def backfill_run_id(year: int) -> str:
    """The stable run id of a reconstructed year."""
    return f"{year:04d}1231T000000Z-{hashlib.sha256(f'backfill:{year}'.encode()).hexdigest()[:6]}"


def backfill_as_of(year: int, today: date) -> date:
    """31 December of the year, or today for the current year; ValueError for a future year."""
    if year > today.year:
        raise ValueError(f"cannot reconstruct {year}: it has not begun (today is {today.isoformat()})")
    return today if year == today.year else date(year, 12, 31)


def reconstruct(
    record: HistoricalRecord,
    years: range,
    *,
    today: date,
    assessed_at: datetime,
    risk: RiskSettings,
    clock: CalibratedClock | None,
) -> Iterator[Assessment]:
    """One assessment per year, oldest first (module docstring)."""
    history = History()
    for year in years:
        as_of = backfill_as_of(year, today)
        assessment = build_assessment(
            structural_analysis(record, as_of),
            run_id=backfill_run_id(year),
            assessed_at=assessed_at,
            as_of=datetime.combine(as_of, time(23, 59, 59), tzinfo=UTC),
            risk=risk,
            sources_ok=1,
            sources_failed=0,
            history=history,
            data_label=DATA_LABEL,
            sample_data=False,
            clock=clock,
        )
        yield assessment
        history = History(
            seconds=[*history.seconds, assessment.seconds_to_midnight],
            confidence_scores=[*history.confidence_scores, assessment.confidence_score],
            trends=[*history.trends, assessment.trend],
            bands=[*history.bands, assessment.band],
        )
