"""A daily score anchored on the structural level, moved by the news within a bound (issue 16)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joshua.calibration import load_clock
from joshua.risk.assess import NEUTRAL_NEWS, History, StructuralLevel, build_assessment, news_move, news_reference
from joshua.risk.clock import linear_seconds
from joshua.settings import RiskSettings
from joshua.structural.analyzer import structural_level
from joshua.structural.history import load_record
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

RISK = RiskSettings(mc_iterations=2_000, escalation_runs=2_000)
LEVEL = structural_level(load_record(), date(2026, 11, 30), RISK.weights)
CLOCK = load_clock()


def news(value: float) -> Analysis:
    factors = [
        FactorRating(category=c, name="reporting_signal", value=value, confidence=ConfidenceLevel.HIGH, reasoning="r")
        for c in Category
    ]
    return Analysis(analyzer="heuristic", factors=factors, executive_summary="s", articles_considered=8)


def assess(value: float, history: History = History(), risk: RiskSettings = RISK, level: StructuralLevel = LEVEL):
    return build_assessment(
        news(value),
        run_id="20261130T060000Z-abcdef",
        assessed_at=datetime(2026, 11, 30, 6, tzinfo=UTC),
        as_of=datetime(2026, 11, 30, 6, tzinfo=UTC),
        risk=risk,
        sources_ok=4,
        sources_failed=0,
        history=history,
        data_label="test",
        sample_data=False,
        structural=level,
        clock=CLOCK,
    )


def test_average_news_leaves_the_reading_at_the_structural_level():
    assert LEVEL.ci_low < LEVEL.score < LEVEL.ci_high
    a = assess(NEUTRAL_NEWS)
    assert a.score == pytest.approx(LEVEL.score)
    assert a.structural_score == pytest.approx(LEVEL.score)
    assert CLOCK is not None and a.seconds_calibrated == CLOCK.mapping.seconds(CLOCK.mapping.score(LEVEL.values))
    assert a.seconds_linear == linear_seconds(a.score)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1))
def test_news_moves_the_score_within_the_bound(value):
    a = assess(value)
    assert abs(a.score - LEVEL.score) <= RISK.news_bound + 1e-12
    assert a.ci_low <= a.score <= a.ci_high
    assert LEVEL.ci_low - RISK.news_bound - 1e-12 <= a.ci_low <= a.ci_high <= LEVEL.ci_high + RISK.news_bound + 1e-12
    assert a.ci_seconds_low <= a.seconds_to_midnight <= a.ci_seconds_high


def test_tenser_news_moves_toward_midnight_on_both_clocks():
    calm, tense = assess(0.2), assess(0.9)
    assert tense.score > calm.score
    assert tense.seconds_linear < calm.seconds_linear
    assert tense.seconds_calibrated < calm.seconds_calibrated


def test_the_reference_is_the_news_history_once_there_is_enough():
    assert news_reference([0.7, 0.7]) == NEUTRAL_NEWS
    assert news_reference([0.6, 0.7, 0.8, 0.7, 0.7]) == pytest.approx(0.7)
    assert news_move(0.9, 0.5, 0.05) == 0.05 and news_move(0.1, 0.5, 0.05) == -0.05 and news_move(0.52, 0.5, 0.05) == pytest.approx(0.02)


def test_the_headline_follows_the_configured_mapping():
    linear = assess(0.6, risk=RiskSettings(mc_iterations=2_000, escalation_runs=2_000, mapping="linear"))
    calibrated = assess(0.6, risk=RiskSettings(mc_iterations=2_000, escalation_runs=2_000, mapping="calibrated"))
    assert linear.mapping == "linear" and linear.seconds_to_midnight == linear.seconds_linear
    assert calibrated.mapping == "calibrated" and calibrated.seconds_to_midnight == calibrated.seconds_calibrated
    assert calibrated.ci_seconds_low <= calibrated.seconds_to_midnight <= calibrated.ci_seconds_high
    # auto: the calibrated clock only once its leave-one-out fit meets the targets (it does not yet).
    assert CLOCK is not None and assess(0.6).mapping == ("calibrated" if CLOCK.meets_targets else "linear")
