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
