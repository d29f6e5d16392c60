"""History as people ask for it: the last assessments, a period, a summary, what changed."""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from joshua.errors import ConfigError

# The page is the newest `count` assessments up to `end`, plus the one before them for the oldest
# one's change: a top-N, so a long history is never windowed whole.
HISTORY_SQL = """
WITH recent AS (
    SELECT assessed_at, run_id, assessment_id, seconds_to_midnight, trend, confidence, band
    FROM assessments
    WHERE assessed_at <= $end
    ORDER BY assessed_at DESC, run_id DESC
    LIMIT $count + 1
),
page AS (
    SELECT *, seconds_to_midnight - lag(seconds_to_midnight) OVER (ORDER BY assessed_at, run_id) AS change
    FROM recent
    QUALIFY assessed_at >= $start
    ORDER BY assessed_at DESC, run_id DESC
    LIMIT $count
),
top AS (
    SELECT assessment_id, first(category ORDER BY contribution DESC, category) AS top_factor
    FROM risk_factors
    WHERE assessment_id IN (SELECT assessment_id FROM page)
    GROUP BY assessment_id
)
SELECT p.assessed_at, p.assessment_id, p.seconds_to_midnight, p.change, p.trend, p.confidence, p.band, t.top_factor
FROM page AS p LEFT JOIN top AS t USING (assessment_id)
ORDER BY p.assessed_at DESC, p.run_id DESC
"""
LAST_TWO_FACTORS_SQL = """
WITH last_two AS (SELECT assessment_id, assessed_at, run_id FROM assessments ORDER BY assessed_at DESC, run_id DESC LIMIT 2)
SELECT l.assessed_at, l.run_id, f.category, f.name, f.value
FROM risk_factors AS f JOIN last_two AS l USING (assessment_id)
ORDER BY l.assessed_at, l.run_id
"""
RELATIVE = re.compile(r"^(\d+)([dwmy])$")
DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}
CHANGE_THRESHOLD = 0.01


def parse_moment(text: str, now: datetime, end_of_day: bool = False) -> datetime:
    """`2026-11-01`, an ISO timestamp, or a span back from now such as `7d`, `2w`, `1m`, `1y`."""
    match = RELATIVE.match(text.strip().lower())
    if match:
        return now - timedelta(days=int(match.group(1)) * DAYS_PER_UNIT[match.group(2)])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is neither a date (YYYY-MM-DD) nor a span such as 7d, 1m or 1y") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    is_plain_date = len(text.strip()) == len("YYYY-MM-DD")
    return moment + timedelta(days=1) - timedelta(microseconds=1) if end_of_day and is_plain_date else moment


@dataclass(frozen=True)
class HistoryRow:
    """One assessment as `joshua history` lists it."""

    date: datetime
    assessment_id: str
    seconds: int
    change: int | None
    trend: str
    confidence: str
    band: str
    top_factor: str | None


def history_rows(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, count: int) -> list[HistoryRow]:
    """The newest `count` assessments between `start` and `end`, newest first."""
    rows = con.execute(HISTORY_SQL, {"start": start, "end": end, "count": count}).fetchall()
    return [HistoryRow(*row) for row in rows]


@dataclass(frozen=True)
class HistorySummary:
    """Mean, range and volatility (SD of the changes) of listed assessments."""

    count: int
    mean: float | None
    minimum: int | None
    maximum: int | None
    volatility: float | None


def summarize(rows: list[HistoryRow]) -> HistorySummary:
    """Summary statistics of a history listing."""
    seconds = [r.seconds for r in rows]
    changes = [r.change for r in rows if r.change is not None]
    return HistorySummary(
        count=len(rows),
        mean=statistics.fmean(seconds) if seconds else None,
        minimum=min(seconds, default=None),
        maximum=max(seconds, default=None),
        volatility=statistics.pstdev(changes) if len(changes) >= 2 else None,
    )


@dataclass(frozen=True)
class FactorChanges:
    """What differs between the last two assessments' factors."""

    new: list[str]
    gone: list[str]
    changed: list[tuple[str, float, float]]


def compare_last_two(con: duckdb.DuckDBPyConnection) -> FactorChanges | None:
    """Factors new, gone and changed (by more than 0.01) between the last two assessments."""
    rows = con.execute(LAST_TWO_FACTORS_SQL).fetchall()
    # Told apart by run, not by time alone: replays of one snapshot share their as-of time.
    runs = sorted({(when, run_id) for when, run_id, *_ in rows})
    if len(runs) < 2:
        return None
    before = {f"{c}/{n}": v for when, run_id, c, n, v in rows if (when, run_id) == runs[0]}
    after = {f"{c}/{n}": v for when, run_id, c, n, v in rows if (when, run_id) == runs[1]}
    return FactorChanges(
        new=sorted(set(after) - set(before)),
        gone=sorted(set(before) - set(after)),
        changed=[
            (key, before[key], after[key])
            for key in sorted(set(before) & set(after))
            if abs(after[key] - before[key]) > CHANGE_THRESHOLD
        ],
    )


def as_records(rows: list[HistoryRow]) -> list[dict]:
    """Rows as plain dicts (for JSON and CSV)."""
    return [asdict(row) | {"date": row.date.isoformat()} for row in rows]
