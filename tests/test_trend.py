import math

import pytest

from joshua.risk.trend import cusum_change_points, mann_kendall, trend_label


@pytest.mark.parametrize(
    ("history", "trend"),
    [
        ([], "insufficient"),
        ([500, 490], "insufficient"),
        ([500, 500, 500], "stable"),
        ([600, 580, 560, 540, 520, 500, 480], "rising"),
        ([400, 420, 440, 460, 480, 500, 520], "falling"),
        ([500, 510, 495, 505, 500, 498], "stable"),
        ([600, 600, 580, 580, 560, 560, 540, 540, 520, 520], "rising"),  # ties
    ],
)
def test_trend_labels(history, trend):
    assert trend_label(history) == trend


def test_sens_slope_of_a_line_with_an_outlier():
    series = [100 - 2 * i for i in range(20)]
    series[10] = 500
    result = mann_kendall(series)
    assert result.slope == pytest.approx(-2.0) and result.significant and result.tau < 0


def test_nan_is_ignored():
    assert mann_kendall([math.nan, 1, 2, 3, 4, 5]).slope == pytest.approx(1.0)
    assert mann_kendall([math.nan, math.nan, 1]) is None


def test_cusum_against_the_series_mean_flags_both_sides_of_a_step():
    series = [500.0] * 15 + [420.0] * 15
    points = cusum_change_points(series)
    assert [p.direction for p in points] == ["up", "down"]  # above the mean before the step, below after
    assert points[0].index < 15 <= points[1].index
    assert all(p.magnitude > 4 * 40 for p in points)  # crossed h = 4σ (σ = 40)


def test_cusum_needs_ten_points_and_variation():
    assert cusum_change_points([1, 2, 3]) == []
    assert cusum_change_points([5.0] * 12) == []


@pytest.mark.parametrize("window", [5, 12, 33, 34, 60, 90])
@pytest.mark.parametrize("ties", [False, True])
def test_kendall_tau_and_sens_slope_match_scipy(window, ties):
    import numpy as np
    from scipy import stats

    from joshua.risk.trend import kendall_tau, sens_slope

    rng = np.random.default_rng(window)
    for trial in range(40):
        values = np.cumsum(rng.normal(trial % 5 - 2, 10, window))
        values = np.round(values / 25) * 25 if ties else values
        if np.all(values == values[0]):
            continue
        steps = np.arange(window)
        expected = stats.kendalltau(steps, values)
        tau, p_value = kendall_tau(values)
        assert tau == pytest.approx(expected.statistic, abs=1e-12)
        assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
        assert sens_slope(values) == pytest.approx(stats.theilslopes(values, steps).slope, abs=1e-12)


def test_exact_p_values_of_nearly_monotone_long_series_match_scipy():
    import numpy as np
    from scipy import stats

    from joshua.risk.trend import kendall_tau

    for n in (34, 60, 90, 200):
        for values in (np.arange(n, dtype=float), np.r_[1.0, 0.0, np.arange(2, n, dtype=float)]):
            assert kendall_tau(values)[1] == pytest.approx(stats.kendalltau(np.arange(n), values).pvalue, rel=1e-9, abs=1e-300)
