import pytest

from joshua.risk.backtest import calibration_curve, predict_next, walk_forward


def test_linear_history_is_predicted_exactly_once_a_slope_exists():
    scores = [0.1 + 0.02 * i for i in range(12)]
    result = walk_forward(scores)
    assert result.predictions == 10
    # the first prediction (from two points) is persistence, off by one step; the other nine are exact
    assert result.mae == pytest.approx(0.02 / 10) and result.rmse == pytest.approx((0.02**2 / 10) ** 0.5)
    assert result.correlation > 0.99
    assert result.direction_accuracy == pytest.approx(0.9)


def test_short_and_flat_histories():
    assert walk_forward([0.5, 0.5]) is None
    flat = walk_forward([0.5] * 6)
    assert flat.correlation is None and flat.direction_accuracy is None and flat.mae == 0
    assert predict_next([0.4, 0.6]) == 0.6  # persistence with fewer than three points


def test_errors_of_a_zigzag():
    result = walk_forward([0.4, 0.6, 0.4, 0.6, 0.4])
    assert result.mae > 0 and result.rmse >= result.mae


def test_calibration_curve_bins():
    curve = calibration_curve([0.05, 0.07, 0.55, 1.0, 0.95], [0, 1, 1, 1, 0])
    assert len(curve) == 10
    assert (curve[0].predicted, curve[0].actual, curve[0].count) == (0.05, 0.5, 2)
    assert curve[5].actual == 1.0 and curve[9].count == 2 and curve[9].actual == 0.5
    assert curve[3].actual == pytest.approx(0.35) and curve[3].count == 0  # empty bin reports its centre
