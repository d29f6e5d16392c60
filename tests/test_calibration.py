"""The clock calibrated on the Bulletin's settings: monotone mapping, genuine leave-one-out, file."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joshua.calibration import (
    CLOCK_FILE,
    SPLIT_LAST_FIT_YEAR,
    calibrate,
    calibration_points,
    clock_toml,
    fit_mapping,
    load_clock,
    write_calibration,
)
from joshua.errors import ConfigError
from joshua.risk.clock import AUTO, CALIBRATED, CalibratedClock, ClockMapping
from joshua.structural.history import load_bulletin_settings, load_record
from schemas.records import Category

POINTS = calibration_points(load_record(), load_bulletin_settings())
RESULT = calibrate(POINTS)
SIX = [c for c in Category if c not in (Category.EMERGING_TECHNOLOGY, Category.ECONOMIC)]


def test_each_setting_is_paired_with_the_day_before_its_announcement():
    by_year = {p.year: p for p in POINTS}
    assert by_year[2026].as_of == date(2026, 1, 26)  # announced 2026-01-27
    assert by_year[1963].as_of == date(1963, 9, 30)  # announced in the October 1963 issue
    assert by_year[1960].as_of == date(1959, 12, 31)  # no month known: 1 January
    assert by_year[1998].as_of == date(1998, 5, 31)  # announced 1998-06
    assert all(p.as_of < p.announced for p in POINTS)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.floats(0, 1), min_size=6, max_size=6), min_size=12, max_size=12),
    st.lists(st.floats(30, 1440), min_size=12, max_size=12),
    st.lists(st.floats(0, 1), min_size=2, max_size=2),
)
def test_a_fitted_mapping_is_monotone(values, seconds, scores):
    mapping = fit_mapping(np.array(values), np.array(seconds), SIX)
    assert mapping.slope >= 0 and all(w >= 0 for w in mapping.weights.values())
    assert sum(mapping.weights.values()) == pytest.approx(1.0)
    low, high = sorted(scores)
    assert mapping.seconds(high) <= mapping.seconds(low)
    assert 0 <= mapping.seconds(high) <= 1440


def test_a_held_out_setting_never_informs_its_own_prediction():
    """Move one setting far away: its leave-one-out prediction does not change; every other one may."""
    for index in (0, 14, 32):
        moved = [*POINTS]
        moved[index] = dataclasses.replace(POINTS[index], bulletin_seconds=1400 - POINTS[index].bulletin_seconds)
        assert calibrate(moved).loo_seconds[index] == RESULT.loo_seconds[index]


def test_the_time_split_predicts_later_settings_from_earlier_ones_only():
    later = [i for i, p in enumerate(POINTS) if p.year > SPLIT_LAST_FIT_YEAR]
    assert len(RESULT.split_seconds) == len(later) == RESULT.time_split.n
    moved = [dataclasses.replace(p, bulletin_seconds=60) if p.year > SPLIT_LAST_FIT_YEAR else p for p in POINTS]
    assert calibrate(moved).split_seconds == RESULT.split_seconds


def test_the_figures_on_the_bulletin_series():
    """The figures the README quotes (rounded there); the baselines as issue 16 describes them."""
    assert RESULT.loo.n == 33
    assert RESULT.loo.spearman == pytest.approx(0.918, abs=0.001)
    assert RESULT.loo.mae == pytest.approx(89.2, abs=0.1)
    assert RESULT.loo.meets_targets()  # MAE by 0.8 s: README, calibration section
    assert RESULT.time_split.spearman == pytest.approx(0.889, abs=0.001)
    assert RESULT.time_split.mae == pytest.approx(162.3, abs=0.1)
    assert RESULT.warheads_spearman == pytest.approx(0.72, abs=0.01)  # the wrong sign: more warheads, more seconds
    assert RESULT.ridge_loo.spearman == pytest.approx(0.757, abs=0.001)
    assert RESULT.ridge_loo.mae == pytest.approx(141.7, abs=0.1)
    assert RESULT.loo.mae < RESULT.ridge_loo.mae < RESULT.warheads_loo.mae
    assert RESULT.time_split.mae < RESULT.ridge_time_split.mae < RESULT.warheads_time_split.mae
    assert RESULT.fitted_parameters == 7


def test_the_clock_file_round_trips_and_lands_in_the_lake(tmp_path: Path):
    clock_path, table = write_calibration(RESULT, date(2026, 11, 30), tmp_path / "clock.toml", tmp_path / "lake")
    clock = load_clock(clock_path)
    assert clock is not None and clock.fitted_on == "2026-11-30" and clock.meets_targets == RESULT.loo.meets_targets()
    assert clock.mapping.slope == pytest.approx(RESULT.mapping.slope, rel=1e-5)
    frame = pl.read_parquet(table)
    assert frame.height == 33 and frame["loo_seconds"].to_list() == RESULT.loo_seconds
    assert "[[data]]" in clock_path.read_text(encoding="utf-8")


def test_the_committed_clock_file_is_what_calibrate_writes():
    committed = CLOCK_FILE.read_text(encoding="utf-8")
    fitted_on = date.fromisoformat(committed.split('fitted_on = "')[1][:10])
    assert committed == clock_toml(RESULT, fitted_on)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version = 1\n", "KeyError"),
        ("not toml [", "TOMLDecodeError"),
        (clock_toml(RESULT, date(2026, 1, 1)).replace("slope = ", "slope = -"), "not monotone"),
    ],
)
def test_an_unusable_clock_file_is_a_config_error(tmp_path: Path, text, problem):
    path = tmp_path / "clock.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_clock(path)


def test_no_clock_file_means_no_calibrated_clock(tmp_path: Path):
    assert load_clock(tmp_path / "missing.toml") is None


def test_auto_uses_the_calibrated_clock_only_once_it_meets_the_targets():
    mapping = ClockMapping(8.0, 5.0, {Category.NUCLEAR_ARSENAL: 1.0})
    short = CalibratedClock(mapping, meets_targets=False, loo_spearman=0.7, loo_mae=120, fitted_on="2026-11-30")
    good = dataclasses.replace(short, meets_targets=True)
    assert not short.use_for(AUTO) and short.use_for(CALIBRATED) and not short.use_for("linear")
    assert good.use_for(AUTO)
