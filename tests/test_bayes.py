import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from joshua.risk.bayes import VARIANCE_FLOOR, factor_correlations, shrink


def test_no_history_passes_through():
    result = shrink(0.7, [])
    assert result.adjusted == 0.7 and result.prior_mean is None and result.history_points == 0


def test_golden_shrinkage():
    # μ = 0.5, σ² = 0.01, below the floor 0.05 → τ₀ = 20: (20·0.5 + 10·0.8) / 30
    assert shrink(0.8, [0.4, 0.6]).adjusted == pytest.approx(18 / 30)
    # μ = 0.5, σ² = 0.09 → τ₀ = 1/0.09: (0.5/0.09 + 10·0.8) / (1/0.09 + 10)
    assert shrink(0.8, [0.2, 0.8]).adjusted == pytest.approx((0.5 / 0.09 + 8) / (1 / 0.09 + 10))
    # μ = 0.5, σ² = 0.05 → τ₀ = 20: (20·0.5 + 10·0.9) / 30
    assert shrink(0.9, [0.2, 0.4, 0.6, 0.8]).adjusted == pytest.approx(19 / 30)


@pytest.mark.parametrize("history", [[0.5], [0.5, 0.5, 0.5]])
def test_one_point_or_identical_history_uses_the_variance_floor(history):
    prior_precision = 1 / VARIANCE_FLOOR
    expected = (prior_precision * 0.5 + 10 * 0.9) / (prior_precision + 10)
    assert shrink(0.9, history).adjusted == pytest.approx(expected)


def test_nan_inputs_are_defined():
    assert shrink(0.6, [math.nan, 0.4, 0.6]).history_points == 2
    assert shrink(0.6, [math.nan]).adjusted == 0.6
    assert math.isnan(shrink(math.nan, [0.5]).adjusted)


@given(st.floats(0, 1), st.lists(st.floats(0, 1), max_size=50))
def test_shrinkage_stays_between_observation_and_history(observed, history):
    adjusted = shrink(observed, history).adjusted
    anchors = [observed, sum(history) / len(history)] if history else [observed]
    assert min(anchors) - 1e-12 <= adjusted <= max(anchors) + 1e-12


def test_correlations_need_thirty_points_and_strength():
    n = 40
    a = [i / n for i in range(n)]
    history = {"a": a, "b": [2 * x for x in a], "c": [((i * 7) % 5) / 5 for i in range(n)], "sparse": [math.nan] * 20 + a[20:]}
    found = factor_correlations(history)
    assert [(c.first, c.second) for c in found] == [("a", "b")]
    assert found[0].r == pytest.approx(1.0) and found[0].n == n


def test_vectorised_correlations_match_numpy_pairwise():
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.normal(size=60)
    history = {
        "a": base,
        "b": base * 0.8 + rng.normal(scale=0.5, size=60),
        "c": rng.normal(size=60),
        "d": np.where(np.arange(60) % 4 == 0, np.nan, -base + rng.normal(scale=0.3, size=60)),
    }
    found = {(c.first, c.second): c for c in factor_correlations(history)}
    for (first, second), c in found.items():
        a, b = np.asarray(history[first]), np.asarray(history[second])
        both = ~(np.isnan(a) | np.isnan(b))
        assert c.r == pytest.approx(np.corrcoef(a[both], b[both])[0, 1], abs=1e-9)
        assert c.n == both.sum()
    assert ("a", "b") in found and ("a", "d") in found and ("a", "c") not in found
