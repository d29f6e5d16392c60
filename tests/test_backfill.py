"""The reconstruction: one structural assessment per year through the risk engine (issue 16)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from joshua.backfill import backfill_as_of, backfill_run_id, reconstruct
from joshua.calibration import load_clock
from joshua.lake import run_date
from joshua.risk.clock import linear_seconds
from joshua.settings import RiskSettings
from joshua.structural.history import load_record
from tests.test_structural import truncated

TODAY = date(2026, 11, 30)
RECORD = load_record()


@pytest.fixture(scope="module")
def reconstruction():
    """1947–2026 with the engine's default settings, as `joshua backfill` runs it."""
    return list(
        reconstruct(
            RECORD,
            range(1947, 2027),
            today=TODAY,
            assessed_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
            risk=RiskSettings(),
            clock=load_clock(),
        )
    )


def test_the_highest_yearly_probability_of_use_is_1962(reconstruction):
    by_year = {a.as_of.year: a.p_nuclear_use_365d for a in reconstruction}
    assert max(by_year, key=by_year.get) == 1962


def test_expected_uses_over_the_reconstruction_are_at_most_three(reconstruction):
    expected = sum(a.p_nuclear_use_365d for a in reconstruction)
    assert 0 < expected <= 3


def test_each_year_is_a_labelled_structural_assessment(reconstruction):
    assert [a.as_of.year for a in reconstruction] == list(range(1947, 2027))
    assert reconstruction[-1].as_of.date() == TODAY and reconstruction[0].as_of.date() == date(1947, 12, 31)
    for a in reconstruction:
        assert a.analyzer == "structural" and "reconstruction" in a.data_label
        assert a.seconds_linear == linear_seconds(a.score)
        assert a.seconds_calibrated is not None and a.clock_score is not None
        assert a.run_id == backfill_run_id(a.as_of.year)
    assert len({a.assessment_id for a in reconstruction}) == 80


@pytest.mark.parametrize("year", [1953, 1962, 1991, 2019])
def test_a_year_sees_nothing_dated_after_it(reconstruction, year):
    as_of = date(year, 12, 31)
    (alone,) = reconstruct(
        truncated(RECORD, as_of),
        range(year, year + 1),
        today=TODAY,
        assessed_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        risk=RiskSettings(),
        clock=load_clock(),
    )
    full = reconstruction[year - 1947]
    assert (alone.score, alone.p_nuclear_use_365d, alone.clock_score) == (
        full.score,
        full.p_nuclear_use_365d,
        full.clock_score,
    )


def test_run_ids_are_stable_valid_and_dated_at_the_year_end():
    assert backfill_run_id(1962) == backfill_run_id(1962) != backfill_run_id(1963)
    assert run_date(backfill_run_id(1962)) == "1962-12-31"


def test_as_of_is_the_year_end_or_today_and_never_the_future():
    assert backfill_as_of(1962, TODAY) == date(1962, 12, 31)
    assert backfill_as_of(2026, TODAY) == TODAY
    with pytest.raises(ValueError, match="has not begun"):
        backfill_as_of(2027, TODAY)
