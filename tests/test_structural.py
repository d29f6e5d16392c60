"""The structural analyzer: loading the record, no look-ahead, no calendar input, monotonicity."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joshua.errors import ConfigError
from joshua.risk.score import base_score
from joshua.settings import RiskSettings
from joshua.structural.analyzer import (
    category_values,
    indicators_as_of,
    structural_analysis,
    structural_level,
    structural_ratings,
)
from joshua.structural.history import (
    HISTORY_DIR,
    Crisis,
    HistoricalRecord,
    load_bulletin_settings,
    load_record,
    parse_known_date,
)
from schemas.records import Category

RECORD = load_record()
WEIGHTS = RiskSettings().weights
DATES = st.dates(min_value=date(1947, 1, 1), max_value=date(2026, 11, 30))


def score_of(record: HistoricalRecord, as_of: date) -> float:
    return structural_level(record, as_of, WEIGHTS).score


def truncated(record: HistoricalRecord, as_of: date) -> HistoricalRecord:
    """The record as someone on `as_of` could have written it."""
    return HistoricalRecord(
        years=tuple(y for y in record.years if date(y.year, 12, 31) <= as_of),
        treaty_events=tuple(e for e in record.treaty_events if e.on <= as_of),
        crises=tuple(
            dataclasses.replace(c, end=c.end if c.end is not None and c.end <= as_of else None)
            for c in record.crises
            if c.start <= as_of
        ),
        first_tests=tuple(d for d in record.first_tests if d <= as_of),
    )


def shifted(record: HistoricalRecord, years: int) -> HistoricalRecord:
    """The same history moved `years` later (a multiple of 4 within 1901–2099 keeps every weekday gap)."""

    def move(d: date) -> date:
        return d.replace(year=d.year + years)

    return HistoricalRecord(
        years=tuple(dataclasses.replace(y, year=y.year + years) for y in record.years),
        treaty_events=tuple(dataclasses.replace(e, on=move(e.on)) for e in record.treaty_events),
        crises=tuple(
            dataclasses.replace(c, start=move(c.start), end=move(c.end) if c.end else None) for c in record.crises
        ),
        first_tests=tuple(move(d) for d in record.first_tests),
    )


def test_record_loads_with_the_documented_coverage():
    assert [y.year for y in RECORD.years] == list(range(1945, 2026))
    assert len(RECORD.crises) == 30 and len(RECORD.first_tests) == 8
    assert {e.treaty for e in RECORD.treaty_events} >= {"New START", "INF Treaty", "NPT", "ABM Treaty"}
    settings_ = load_bulletin_settings()
    assert len(settings_) == 33
    by_year = {s.year: s.announced for s in settings_}
    assert by_year[1947] == date(1947, 6, 1) and by_year[1949] == date(1949, 10, 1) and by_year[1960] == date(1960, 1, 1)


def test_every_row_of_the_record_cites_a_public_source():
    """Every treaty and crisis row names its source; every treaty event quotes a treaty row; every
    announcement month JOSHUA filled in cites the Bulletin's page."""
    for name in ("arms_control_treaties.csv", "crises.csv", "warheads_by_year.csv", "nuclear_states_by_year.csv"):
        frame = pl.read_csv(HISTORY_DIR / name, infer_schema=False)
        assert frame["source"].null_count() == 0 and all(s.strip() for s in frame["source"]), name
    treaties = set(pl.read_csv(HISTORY_DIR / "arms_control_treaties.csv", infer_schema=False)["short_name"])
    events = pl.read_csv(HISTORY_DIR / "treaty_events.csv", infer_schema=False)
    assert set(events["short_name"]) <= treaties
    assert set(events["from_column"]) <= {"signed_or_opened", "in_force", "ended_or_suspended", "end_type", "parties", "status_2026"}
    spec = {1947, 1953, 1991, 1995, 1998, *range(2002, 2027)}  # announcement dates the spec's copy gave
    bulletin = pl.read_csv(HISTORY_DIR / "doomsday_clock_history.csv", infer_schema=False)
    for row in bulletin.iter_rows(named=True):
        if row["announced"] and int(row["year"]) not in spec:
            assert "thebulletin.org" in (row["note"] or ""), row


@pytest.mark.parametrize(
    ("text", "known"), [("1983-09-26", date(1983, 9, 26)), ("1955-05", date(1955, 5, 31)), ("1971", date(1971, 12, 31))]
)
def test_partial_dates_count_from_the_end_of_their_period(text, known):
    assert parse_known_date(text) == known


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("crises.csv", ",5,superpowers", ",7,superpowers"),
        ("treaty_events.csv", "2026-02-05,ended", "2026-02-05,vanished"),
        ("warheads_by_year.csv", "1962,30920", "1962,lots"),
        ("crisis_kinds.csv", "Cuban Missile Crisis,confrontation", "Cuban Missile Crisis,skirmish"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_file(tmp_path: Path, file, old, new):
    copy = tmp_path / "history"
    shutil.copytree(HISTORY_DIR, copy)
    text = (copy / file).read_text(encoding="utf-8")
    assert old in text
    (copy / file).write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError, match=file.split(".")[0]):
        load_record(copy)


def test_a_date_before_any_yearly_row_is_refused():
    with pytest.raises(ValueError, match="no yearly indicators"):
        indicators_as_of(RECORD, date(1945, 6, 1))


@settings(max_examples=40, deadline=None)
@given(DATES)
def test_nothing_dated_after_the_as_of_date_reaches_it(as_of):
    assert indicators_as_of(RECORD, as_of) == indicators_as_of(truncated(RECORD, as_of), as_of)


@settings(max_examples=25, deadline=None)
@given(DATES, st.sampled_from([28, 56]))
def test_no_input_encodes_the_calendar_year(as_of, years):
    """Moving the whole history and the date by decades changes nothing: only gaps between dates count."""
    later = as_of.replace(year=as_of.year + years)
    assert category_values(indicators_as_of(shifted(RECORD, years), later)) == category_values(
        indicators_as_of(RECORD, as_of)
    )


@settings(max_examples=40, deadline=None)
@given(DATES, st.floats(min_value=1.0, max_value=5.0))
def test_more_warheads_never_lower_the_score(as_of, factor):
    latest = max(y.year for y in RECORD.years if date(y.year, 12, 31) <= as_of)
    more = dataclasses.replace(
        RECORD,
        years=tuple(
            dataclasses.replace(
                y,
                world_inventory=round(y.world_inventory * factor),
                military_stockpiles=round(y.military_stockpiles * factor),
            )
            if y.year == latest
            else y
            for y in RECORD.years
        ),
    )
    assert score_of(more, as_of) >= score_of(RECORD, as_of) - 1e-12


@settings(max_examples=40, deadline=None)
@given(DATES, st.data())
def test_fewer_treaties_never_lower_the_score(as_of, data):
    entries = [e for e in RECORD.treaty_events if e.event in ("in_force", "signed")]
    dropped = data.draw(st.sampled_from(entries))
    fewer = dataclasses.replace(RECORD, treaty_events=tuple(e for e in RECORD.treaty_events if e != dropped))
    assert score_of(fewer, as_of) >= score_of(RECORD, as_of) - 1e-12


@settings(max_examples=40, deadline=None)
@given(DATES, st.data())
def test_a_broken_treaty_never_lowers_the_score(as_of, data):
    losses = [e for e in RECORD.treaty_events if e.shock > 0]
    kept = data.draw(st.sampled_from(losses))
    unbroken = dataclasses.replace(RECORD, treaty_events=tuple(e for e in RECORD.treaty_events if e != kept))
    assert score_of(RECORD, as_of) >= score_of(unbroken, as_of) - 1e-12


@settings(max_examples=40, deadline=None)
@given(DATES, st.integers(min_value=0, max_value=3000))
def test_a_new_nuclear_state_never_lowers_the_score_or_the_arsenal(as_of, days_before):
    more = dataclasses.replace(RECORD, first_tests=tuple(sorted((*RECORD.first_tests, as_of - timedelta(days=days_before)))))
    assert score_of(more, as_of) >= score_of(RECORD, as_of) - 1e-12
    arsenal = Category.NUCLEAR_ARSENAL
    assert (
        category_values(indicators_as_of(more, as_of))[arsenal]
        >= category_values(indicators_as_of(RECORD, as_of))[arsenal] - 1e-12
    )


@settings(max_examples=40, deadline=None)
@given(
    DATES,
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=1, max_value=4),
    st.sampled_from(["confrontation", "false_alarm", "posture", "nuclear_safety"]),
)
def test_a_more_severe_crisis_never_lowers_the_score(as_of, days_before, length, severity, kind):
    start = as_of - timedelta(days=days_before)
    crisis = Crisis("test crisis", start, start + timedelta(days=length), severity, kind)
    worse = dataclasses.replace(crisis, severity=severity + 1)
    milder_score = score_of(dataclasses.replace(RECORD, crises=(*RECORD.crises, crisis)), as_of)
    worse_score = score_of(dataclasses.replace(RECORD, crises=(*RECORD.crises, worse)), as_of)
    assert worse_score >= milder_score - 1e-12
    assert milder_score >= score_of(RECORD, as_of) - 1e-12


def test_ratings_are_the_six_categories_with_indicator_reasoning():
    analysis = structural_analysis(RECORD, date(1962, 12, 31))
    assert analysis.analyzer == "structural"
    assert {r.category for r in analysis.factors} == set(Category) - {Category.EMERGING_TECHNOLOGY, Category.ECONOMIC}
    assert all(0 <= r.value <= 1 and r.reasoning.startswith("Structural reconstruction") for r in analysis.factors)


def test_the_record_reads_the_history_a_reader_knows():
    cuba = category_values(indicators_as_of(RECORD, date(1962, 12, 31)))
    calm = category_values(indicators_as_of(RECORD, date(1991, 12, 31)))
    assert cuba[Category.REGIONAL_CONFLICT] > 0.9 > 0.1 > calm[Category.REGIONAL_CONFLICT]
    # New START's suspension (2023) and expiry (2026-02-05) weigh on arms control.
    before, after = (
        category_values(indicators_as_of(RECORD, d))[Category.COMMUNICATION_ARMS_CONTROL]
        for d in (date(2022, 12, 31), date(2026, 2, 5))
    )
    assert after > before
    assert base_score(structural_ratings(indicators_as_of(RECORD, date(1962, 12, 31))), WEIGHTS).score == pytest.approx(
        score_of(RECORD, date(1962, 12, 31))
    )
