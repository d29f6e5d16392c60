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
from pathlib import Path

import polars as pl

from joshua.errors import ConfigError
from joshua.lake import commit_lock, conform, publish, table_path, write_parquet_atomic
from joshua.risk.assess import History, build_assessment
from joshua.risk.clock import CalibratedClock
from joshua.settings import RiskSettings, RunPaths
from joshua.store import stage_assessment_rows
from joshua.structural.analyzer import structural_analysis
from joshua.structural.history import HistoricalRecord
from schemas.records import Assessment, BackfillParams, BackfillSummary, YearSummary
from schemas.tables import TABLES

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


def backfill_years(params: BackfillParams, today: date) -> range:
    """The years a backfill covers; ConfigError for a year that has not begun."""
    last = params.last_year if params.last_year is not None else today.year
    if last > today.year:
        raise ConfigError(f"cannot reconstruct {last}: it has not begun (today is {today.isoformat()})")
    return range(params.first_year, last + 1)


def store_year(assessment: Assessment, paths: RunPaths, started_at: datetime, ended_at: datetime) -> None:
    """Publish one year's rows into the lake, then its `runs` row (the commit point), replacing a rerun's."""
    staging = paths.staging / assessment.run_id
    stage_assessment_rows(staging, assessment)
    publish(staging, paths.lake, assessment.run_id)
    row = {
        "run_id": assessment.run_id,
        "flow": BACKFILL_FLOW,
        "started_at": started_at,
        "ended_at": ended_at,
        "status": "completed",
        "analyzer": "structural",
        "data_label": DATA_LABEL,
        "sources_ok": 0,
        "sources_failed": 0,
        "sources_skipped": 0,
        "sources": [],
        "errors": [],
    }
    record = pl.DataFrame([row]).with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in TABLES["runs"].items() if name not in row]
    )
    with commit_lock(paths.lake):  # the lake's writes take turns with compaction
        write_parquet_atomic(conform(record, "runs"), table_path(paths.lake, "runs", assessment.run_id))


def year_summary(assessment: Assessment) -> YearSummary:
    """The line `joshua backfill` prints for a year."""
    return YearSummary(
        year=assessment.as_of.year,
        run_id=assessment.run_id,
        score=assessment.score,
        seconds_to_midnight=assessment.seconds_to_midnight,
        seconds_linear=assessment.seconds_linear,
        seconds_calibrated=assessment.seconds_calibrated,
        p_nuclear_use_365d=assessment.p_nuclear_use_365d,
    )


def backfill_summary(years: list[YearSummary], lake: Path | str) -> BackfillSummary:
    """The reconstruction's summary: its years, the peak P(use) year and the expected uses."""
    if not years:
        raise ConfigError("the backfill covered no year")
    peak = max(years, key=lambda y: y.p_nuclear_use_365d)
    return BackfillSummary(
        years=years,
        peak_p_use_year=peak.year,
        expected_uses=sum(y.p_nuclear_use_365d for y in years),
        lake_path=str(lake),
    )
