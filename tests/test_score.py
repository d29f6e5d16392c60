import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from joshua.risk.clock import band_for, linear_seconds, seconds_to_midnight
from joshua.risk.score import base_score, overall_confidence, scored_factors, sensitivity
from joshua.settings import RiskSettings
from schemas.records import Category, ConfidenceLevel, FactorRating

RISK = RiskSettings()
WEIGHTS = RISK.weights


def rating(category: Category, value: float, confidence=ConfidenceLevel.HIGH, name: str = "f") -> FactorRating:
    return FactorRating(category=category, name=name, value=value, confidence=confidence, reasoning="r")


values = st.floats(min_value=0, max_value=1, allow_nan=False)
levels = st.sampled_from(list(ConfidenceLevel))
rating_lists = st.lists(st.tuples(st.sampled_from(list(Category)), values, levels), min_size=1, max_size=24).map(
    lambda entries: [rating(c, v, level, name=f"f{i}") for i, (c, v, level) in enumerate(entries)]
)


@pytest.mark.parametrize(
    ("score", "seconds"), [(1.0, 0), (0.0, 1440), (0.5, 720), (0.3, 1008), (0.9999, 0), (1.2, 0), (-0.1, 1440)]
)
def test_linear_mapping(score, seconds):
    assert linear_seconds(score) == seconds


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_mapping_never_leaves_the_dial(score):
    assert 0 <= seconds_to_midnight(score) <= 1440


def test_unknown_mapping():
    with pytest.raises(ValueError, match="unknown clock mapping"):
        seconds_to_midnight(0.5, "sigmoid")


@pytest.mark.parametrize(
    ("seconds", "band"),
    [(0, "critical"), (99, "critical"), (100, "severe"), (199, "severe"), (200, "high"), (400, "moderate"),
     (600, "low"), (899, "low"), (900, "minimal"), (1440, "minimal")],
)
def test_bands(seconds, band):
    assert band_for(seconds, RISK.bands) == band


def test_base_score_golden():
    ratings = [rating(Category.REGIONAL_CONFLICT, 0.8, ConfidenceLevel.HIGH), rating(Category.ECONOMIC, 0.2, ConfidenceLevel.LOW)]
    # (0.20·0.8·0.90 + 0.05·0.2·0.60) / (0.20·0.90 + 0.05·0.60) = 0.150 / 0.210
    assert base_score(ratings, WEIGHTS).score == pytest.approx(0.150 / 0.210)


def test_factors_in_a_category_average_and_empty_is_zero():
    assert base_score([rating(Category.ECONOMIC, 0.2), rating(Category.ECONOMIC, 0.6)], WEIGHTS).score == pytest.approx(0.4)
    assert base_score([], WEIGHTS).score == 0.0


def test_missing_categories_renormalise():
    only_two = [rating(Category.NUCLEAR_ARSENAL, 0.9), rating(Category.DOCTRINE_POSTURE, 0.3)]
    assert base_score(only_two, WEIGHTS).score == pytest.approx(0.6)  # equal weights 0.15 and 0.15


def test_a_category_without_weight_counts_for_nothing():
    weights = {Category.ECONOMIC: 1.0}
    score = base_score([rating(Category.ECONOMIC, 0.2), rating(Category.NUCLEAR_ARSENAL, 0.9)], weights).score
    assert score == pytest.approx(0.2)


def test_contributions_sum_to_score_and_rank_by_size():
    ratings = [rating(c, v) for c, v in zip(Category, [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.4, 0.6], strict=True)]
    base = base_score(ratings, WEIGHTS)
    factors = scored_factors(ratings, base)
    assert sum(f.contribution for f in factors) == pytest.approx(base.score)
    assert [f.rank for f in factors] == list(range(1, 9))
    assert factors[0].contribution == max(f.contribution for f in factors)
    assert all(f.adjusted_value == f.rating.value for f in factors)  # no history: values pass through


@given(rating_lists)
def test_score_is_bounded_deterministic_and_order_invariant(ratings):
    first = base_score(ratings, WEIGHTS).score
    assert 0.0 <= first <= 1.0
    assert first == base_score(ratings, WEIGHTS).score
    shuffled = list(ratings)
    random.Random(0).shuffle(shuffled)
    assert math.isclose(base_score(shuffled, WEIGHTS).score, first, abs_tol=1e-12)


@given(rating_lists, st.data())
def test_score_is_monotone_in_every_factor(ratings, data):
    index = data.draw(st.integers(min_value=0, max_value=len(ratings) - 1))
    raised_value = data.draw(st.floats(min_value=ratings[index].value, max_value=1, allow_nan=False))
    raised = list(ratings)
    raised[index] = ratings[index].model_copy(update={"value": raised_value})
    assert base_score(raised, WEIGHTS).score >= base_score(ratings, WEIGHTS).score - 1e-12


def test_overall_confidence_drops_with_failed_sources():
    base = base_score([rating(Category.ECONOMIC, 0.5, ConfidenceLevel.HIGH)], WEIGHTS)
    assert overall_confidence(base, 4, 0) == pytest.approx(0.90)
    assert overall_confidence(base, 3, 1) == pytest.approx(0.90 * 0.75)
    assert overall_confidence(base, 0, 0) == 0.0


def test_sensitivity_finds_the_category_that_moves_the_score():
    ratings = [rating(c, 0.5) for c in Category]
    ratings[0] = rating(Category.NUCLEAR_ARSENAL, 1.0)
    result = sensitivity(ratings, WEIGHTS)
    assert result[0].category == Category.NUCLEAR_ARSENAL
    assert result[0].deltas == (-0.2, -0.1, 0.1, 0.2)
    minus_20, plus_20 = result[0].score_deltas[0], result[0].score_deltas[-1]
    assert minus_20 < 0 < plus_20
    base = base_score(ratings, WEIGHTS).score
    assert result[0].elasticities[-1] == pytest.approx(plus_20 / (base * 0.2))


def test_sensitivity_is_zero_when_every_category_agrees():
    result = sensitivity([rating(c, 0.4) for c in Category], WEIGHTS)
    assert all(s.max_elasticity == pytest.approx(0, abs=1e-12) for s in result)


def test_sensitivity_with_a_zero_score():
    assert all(s.max_elasticity == 0 for s in sensitivity([rating(c, 0.0) for c in Category], WEIGHTS))


@given(rating_lists, st.floats(min_value=0.1, max_value=10))
def test_missing_categories_renormalise_the_weights(ratings, factor):
    present = {r.category for r in ratings}
    scaled = {c: (w * factor if c in present else w) for c, w in WEIGHTS.items()}
    dropped = {c: w for c, w in WEIGHTS.items() if c in present}
    expected = base_score(ratings, WEIGHTS).score
    assert math.isclose(base_score(ratings, scaled).score, expected, abs_tol=1e-9)  # only ratios matter
    assert math.isclose(base_score(ratings, dropped).score, expected, abs_tol=1e-9)  # absent weights are inert


def test_nan_ratings_are_rejected_before_scoring():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        rating(Category.ECONOMIC, math.nan)
