import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joshua.risk.score import base_score
from joshua.risk.uncertainty import score_uncertainty, seed_for
from joshua.settings import RiskSettings
from schemas.records import Category, ConfidenceLevel, FactorRating

WEIGHTS = RiskSettings().weights


def ratings(values, confidence=ConfidenceLevel.MODERATE):
    return [
        FactorRating(category=c, name="f", value=v, confidence=confidence, reasoning="r")
        for c, v in zip(Category, values, strict=False)
    ]


def test_same_seed_same_draws_and_other_seed_other_draws():
    rs = ratings([0.3, 0.5, 0.7, 0.6, 0.2, 0.9, 0.4, 0.5])
    base = base_score(rs, WEIGHTS)
    first, again = score_uncertainty(rs, base, 2000, seed=7), score_uncertainty(rs, base, 2000, seed=7)
    assert np.array_equal(first.draws, again.draws)
    assert not np.array_equal(first.draws, score_uncertainty(rs, base, 2000, seed=8).draws)
    assert seed_for(rs, "{}") == seed_for(list(rs), "{}") != seed_for(rs, '{"mc_iterations": 100}')
    assert seed_for(rs, "{}") != seed_for(ratings([0.3, 0.5, 0.7, 0.6, 0.2, 0.9, 0.4, 0.6]), "{}")


def test_distribution_is_centred_and_narrows_with_confidence():
    rs = ratings([0.3, 0.5, 0.7, 0.6, 0.2, 0.9, 0.4, 0.5], ConfidenceLevel.LOW)
    base = base_score(rs, WEIGHTS)
    loose = score_uncertainty(rs, base, 20_000, seed=1)
    assert loose.mean == pytest.approx(base.score, abs=0.005)
    assert loose.ci_low < loose.median < loose.ci_high
    tight_ratings = ratings([0.3, 0.5, 0.7, 0.6, 0.2, 0.9, 0.4, 0.5], ConfidenceLevel.VERY_HIGH)
    tight = score_uncertainty(tight_ratings, base_score(tight_ratings, WEIGHTS), 20_000, seed=1)
    assert tight.sd < loose.sd
    low_s, high_s = loose.seconds_interval("linear")
    assert low_s <= int((1 - base.score) * 1440) <= high_s


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=8),
    st.sampled_from(list(ConfidenceLevel)),
    st.integers(0, 2**31),
)
def test_interval_contains_the_point_estimate(values, confidence, seed):
    rs = ratings(values, confidence)
    base = base_score(rs, WEIGHTS)
    result = score_uncertainty(rs, base, 500, seed)
    assert 0 <= result.ci_low <= base.score <= result.ci_high <= 1


def test_no_ratings():
    result = score_uncertainty([], base_score([], WEIGHTS), 100, 0)
    assert result.ci_low == result.ci_high == 0.0
