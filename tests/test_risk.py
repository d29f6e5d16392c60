from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from joshua.risk.assess import assessment_id, build_assessment
from joshua.risk.clock import band_for, linear_seconds, seconds_to_midnight
from joshua.risk.score import base_score, overall_confidence, scored_factors, trend_of
from joshua.settings import RiskSettings
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

RISK = RiskSettings()
WEIGHTS = RISK.weights


def rating(category: Category, value: float, confidence=ConfidenceLevel.HIGH) -> FactorRating:
    return FactorRating(category=category, name="f", value=value, confidence=confidence, reasoning="r")


@pytest.mark.parametrize(("score", "seconds"), [(1.0, 0), (0.0, 1440), (0.5, 720), (0.3, 1008), (0.9999, 0), (1.2, 0), (-0.1, 1440)])
def test_linear_mapping(score, seconds):
    assert linear_seconds(score) == seconds


def test_unknown_mapping():
    with pytest.raises(ValueError, match="unknown clock mapping"):
        seconds_to_midnight(0.5, "sigmoid")


@pytest.mark.parametrize(
    ("seconds", "band"),
    [(0, "critical"), (99, "critical"), (100, "severe"), (199, "severe"), (200, "high"), (400, "moderate"), (600, "low"), (899, "low"), (900, "minimal"), (1440, "minimal")],
)
def test_bands(seconds, band):
    assert band_for(seconds, RISK.bands) == band


def test_base_score_golden():
    ratings = [
        rating(Category.REGIONAL_CONFLICT, 0.8, ConfidenceLevel.HIGH),
        rating(Category.ECONOMIC, 0.2, ConfidenceLevel.LOW),
    ]
    expected = (0.20 * 0.8 * 0.90 + 0.05 * 0.2 * 0.60) / (0.20 * 0.90 + 0.05 * 0.60)
    assert base_score(ratings, WEIGHTS).score == pytest.approx(expected)


def test_factors_in_a_category_average_and_empty_is_zero():
    two = [rating(Category.ECONOMIC, 0.2), rating(Category.ECONOMIC, 0.6)]
    assert base_score(two, WEIGHTS).score == pytest.approx(0.4)
    assert base_score([], WEIGHTS).score == 0.0


def test_contributions_sum_to_score_and_rank_by_size():
    ratings = [rating(c, v) for c, v in zip(Category, [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.6], strict=True)]
    base = base_score(ratings, WEIGHTS)
    factors = scored_factors(ratings, base)
    assert sum(f.contribution for f in factors) == pytest.approx(base.score)
    assert [f.rank for f in factors] == list(range(1, 9))
    assert factors[0].contribution == max(f.contribution for f in factors)


values = st.floats(min_value=0, max_value=1, allow_nan=False)
levels = st.sampled_from(list(ConfidenceLevel))


@given(st.lists(st.tuples(st.sampled_from(list(Category)), values, levels), min_size=1, max_size=16))
def test_score_is_bounded_and_deterministic(entries):
    ratings = [rating(c, v, level) for c, v, level in entries]
    first = base_score(ratings, WEIGHTS).score
    assert 0.0 <= first <= 1.0 + 1e-12
    assert first == base_score(ratings, WEIGHTS).score


@given(st.lists(values, min_size=8, max_size=8), st.sampled_from(list(Category)), values)
def test_score_is_monotone_in_each_factor(vals, category, bump):
    ratings = [rating(c, v) for c, v in zip(Category, vals, strict=True)]
    index = list(Category).index(category)
    raised = list(ratings)
    raised[index] = rating(category, max(vals[index], bump))
    assert base_score(raised, WEIGHTS).score >= base_score(ratings, WEIGHTS).score - 1e-12


def test_overall_confidence_drops_with_failed_sources():
    base = base_score([rating(Category.ECONOMIC, 0.5, ConfidenceLevel.HIGH)], WEIGHTS)
    assert overall_confidence(base, 4, 0) == pytest.approx(0.90)
    assert overall_confidence(base, 3, 1) == pytest.approx(0.90 * 0.75)


@pytest.mark.parametrize(
    ("history", "trend"),
    [
        ([500, 490], "insufficient"),
        ([500, 500, 500], "stable"),
        ([600, 580, 560, 540, 520, 500, 480], "rising"),
        ([400, 420, 440, 460, 480, 500, 520], "falling"),
        ([500, 510, 495, 505, 500, 498], "stable"),
    ],
)
def test_trend(history, trend):
    assert trend_of(history) == trend


def test_build_assessment():
    analysis = Analysis(
        analyzer="heuristic",
        factors=[rating(c, 0.5) for c in Category],
        executive_summary="s",
        articles_considered=10,
    )
    assessment = build_assessment(
        analysis,
        run_id="20261127T060000Z-abcdef",
        assessed_at=datetime(2026, 11, 27, 6, tzinfo=UTC),
        as_of=datetime(2026, 11, 26, 6, tzinfo=UTC),
        weights=WEIGHTS,
        bands=RISK.bands,
        mapping="linear",
        sources_ok=3,
        sources_failed=1,
        previous_seconds=[700, 710],
        data_label="test",
        sample_data=False,
    )
    assert assessment.seconds_to_midnight == 720 and assessment.band == "low"
    assert assessment.delta_seconds == 10
    assert assessment.confidence_score == pytest.approx(0.9 * 0.75)
    assert assessment.confidence == ConfidenceLevel.LOW
    assert assessment.assessment_id == assessment_id("20261127T060000Z-abcdef")
    assert assessment.trend == "stable"
