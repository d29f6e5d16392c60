"""The clock calibrated on the Bulletin of the Atomic Scientists' settings (issue 16).

Each of the Bulletin's settings is paired with the structural category values as of the day
before it was announced (1 January of its year where the day is unknown), so no setting is
explained by later events. The fitted model, all of it refitted inside every leave-one-out fold:

    clock score     c = Σ_k w_k · v_k           (v: the six structurally rated categories; w ≥ 0, Σ w = 1)
    seconds         s = exp(a − b·c)             (b ≥ 0: monotone, more risk never more seconds)

fitted by non-negative least squares of log seconds on the centred values (β = b·w), so a and b
and the weights come out of one fit with the sign constraint that makes the mapping monotone.
Log seconds because the Bulletin moves the clock in proportion to its distance from midnight
(minutes in 1960, seconds in 2023); the exponential is the simplest smooth curve that can only
fall. The choice was made before any fit was seen; isotonic and linear-in-seconds variants were
compared afterwards and did worse out of sample (README, calibration section).

Evaluation: leave-one-out over the settings (Spearman of the held-out predictions with the
settings and their mean absolute error in seconds), and a time split fitting the settings up to
1991 and predicting 1992 onwards. Baselines, evaluated the same way: the world warhead count
alone (in-sample rank correlation, and a leave-one-out log-linear fit), and a ridge regression
(λ = 1 on standardised inputs, fixed, not tuned) of seconds on five raw indicators: log world
inventory, armed states, tests in the last three years, treaties in force, and crisis severity
with yearly decay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.optimize import nnls
from scipy.stats import spearmanr

from joshua.errors import ConfigError
from joshua.risk.clock import MIDNIGHT_SPAN
from joshua.structural.analyzer import category_values, indicators_as_of
from joshua.structural.history import BulletinSetting, HistoricalRecord
from schemas.records import Category

TARGET_SPEARMAN = 0.80
TARGET_MAE = 90.0
RIDGE_LAMBDA = 1.0
SPLIT_LAST_FIT_YEAR = 1991
CLOCK_FILE = Path(__file__).resolve().parents[1] / "data" / "calibration" / "clock.toml"
CRISIS_DECAY_YEARS = 1.0


@dataclass(frozen=True)
class ClockMapping:
    """Category values → clock score → seconds (formulas in the module docstring)."""

    intercept: float
    slope: float
    weights: dict[Category, float]

    def score(self, values: Mapping[Category, float]) -> float:
        """The clock score of category values: their weighted mean under the fitted weights."""
        return float(sum(w * values.get(c, 0.0) for c, w in self.weights.items()))

    def seconds(self, score: float) -> int:
        """Seconds to midnight of a clock score: exp(a − b·score), rounded, within 0..1440."""
        return int(min(MIDNIGHT_SPAN, max(0, round(math.exp(min(50.0, self.intercept - self.slope * score))))))


@dataclass(frozen=True)
class CalibrationPoint:
    """One Bulletin setting and what the record said the day before it."""

    year: int
    announced: date
    as_of: date
    bulletin_seconds: int
    values: dict[Category, float]
    raw: tuple[float, ...]  # the ridge baseline's five raw indicators


@dataclass(frozen=True)
class Metrics:
    """How held-out predictions track the settings."""

    n: int
    spearman: float
    mae: float

    def meets_targets(self) -> bool:
        return self.spearman >= TARGET_SPEARMAN and self.mae <= TARGET_MAE


@dataclass(frozen=True)
class Calibration:
    """The fitted mapping, the per-setting predictions and every metric."""

    mapping: ClockMapping
    points: list[CalibrationPoint]
    loo_seconds: list[int]
    fitted_seconds: list[int]
    loo: Metrics
    time_split: Metrics
    warheads_spearman: float  # in-sample rank correlation of the world count with the settings
    warheads_loo: Metrics
    ridge_loo: Metrics
    ridge_time_split: Metrics
    categories: list[Category] = field(default_factory=list)


def _raw_indicators(record: HistoricalRecord, as_of: date) -> tuple[float, ...]:
    ind = indicators_as_of(record, as_of)
    severity = sum(
        c.severity * math.exp(-max(0, (as_of - min(c.end or as_of, as_of)).days) / 365.25 / CRISIS_DECAY_YEARS)
        for c in record.crises
        if c.start <= as_of
    )
    return (math.log(ind.inventory), float(ind.armed), ind.tests_3y, ind.treaties, severity)


def calibration_points(record: HistoricalRecord, settings: Sequence[BulletinSetting]) -> list[CalibrationPoint]:
    """Each setting paired with the record as of the day before its announcement."""
    points = []
    for setting in settings:
        as_of = setting.announced - timedelta(days=1)
        points.append(
            CalibrationPoint(
                year=setting.year,
                announced=setting.announced,
                as_of=as_of,
                bulletin_seconds=setting.seconds,
                values=category_values(indicators_as_of(record, as_of)),
                raw=_raw_indicators(record, as_of),
            )
        )
    return points


def fit_mapping(values: np.ndarray, seconds: np.ndarray, categories: Sequence[Category]) -> ClockMapping:
    """NNLS of log seconds on centred category values (module docstring); rows are settings."""
    target = np.log(np.maximum(seconds, 1.0))
    centre = values.mean(axis=0)
    beta, _ = nnls(values - centre, -(target - target.mean()))
    slope = float(beta.sum())
    weights = beta / slope if slope > 0 else np.full(len(categories), 1.0 / len(categories))
    intercept = float(target.mean() + centre @ beta)
    return ClockMapping(intercept, slope, {c: float(w) for c, w in zip(categories, weights, strict=True)})


def _ridge_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    mean, sd = train_x.mean(axis=0), train_x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (train_x - mean) / sd
    coef = np.linalg.solve(z.T @ z + RIDGE_LAMBDA * np.eye(z.shape[1]), z.T @ (train_y - train_y.mean()))
    return train_y.mean() + ((test_x - mean) / sd) @ coef


def _log_linear_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones_like(train_x), train_x])
    coef, *_ = np.linalg.lstsq(design, np.log(train_y), rcond=None)
    return np.exp(coef[0] + coef[1] * test_x)


def metrics(predicted: Sequence[float], actual: Sequence[float]) -> Metrics:
    """Spearman (0 when either side is constant) and mean absolute error."""
    p, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    rho = float(spearmanr(p, a).statistic) if np.ptp(p) > 0 and np.ptp(a) > 0 else 0.0
    return Metrics(n=len(a), spearman=rho, mae=float(np.abs(p - a).mean()) if len(a) else float("nan"))


def calibrate(points: Sequence[CalibrationPoint]) -> Calibration:
    """Fit on every setting, and evaluate by leave-one-out and the time split (module docstring)."""
    if len(points) < 4:
        raise ConfigError(f"calibration needs at least 4 Bulletin settings, got {len(points)}")
    categories = sorted({c for p in points for c in p.values}, key=list(Category).index)
    x = np.array([[p.values.get(c, 0.0) for c in categories] for p in points])
    y = np.array([p.bulletin_seconds for p in points], dtype=float)
    raw = np.array([p.raw for p in points])
    years = np.array([p.year for p in points])

    def predict(train: np.ndarray, test: np.ndarray) -> list[int]:
        mapping = fit_mapping(x[train], y[train], categories)
        return [mapping.seconds(mapping.score(dict(zip(categories, row, strict=True)))) for row in x[test]]

    n = len(points)
    loo = [predict(np.arange(n) != i, np.array([i]))[0] for i in range(n)]
    ridge_loo = [float(_ridge_predict(raw[np.arange(n) != i], y[np.arange(n) != i], raw[[i]])[0]) for i in range(n)]
    inventory = raw[:, 0]
    warheads_loo = [float(_log_linear_predict(inventory[np.arange(n) != i], y[np.arange(n) != i], inventory[[i]])[0]) for i in range(n)]
    early, late = years <= SPLIT_LAST_FIT_YEAR, years > SPLIT_LAST_FIT_YEAR
    split = predict(early, late)
    ridge_split = _ridge_predict(raw[early], y[early], raw[late])
    mapping = fit_mapping(x, y, categories)
    return Calibration(
        mapping=mapping,
        points=list(points),
        loo_seconds=loo,
        fitted_seconds=[mapping.seconds(mapping.score(p.values)) for p in points],
        loo=metrics(loo, y),
        time_split=metrics(split, y[late]),
        warheads_spearman=float(spearmanr(inventory, y).statistic),
        warheads_loo=metrics(warheads_loo, y),
        ridge_loo=metrics(ridge_loo, y),
        ridge_time_split=metrics(ridge_split, y[late]),
        categories=categories,
    )
