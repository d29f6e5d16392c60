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
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy.optimize import nnls
from scipy.stats import spearmanr

from joshua.errors import ConfigError
from joshua.lake import Location, write_parquet_atomic
from joshua.storage import join
from joshua.risk.clock import CalibratedClock, ClockMapping
from joshua.structural.analyzer import Indicators, category_values, indicators_as_of
from joshua.structural.history import BulletinSetting, HistoricalRecord
from schemas.records import Category
from schemas.tables import TABLES

TARGET_SPEARMAN = 0.80
TARGET_MAE = 90.0
RIDGE_LAMBDA = 1.0
SPLIT_LAST_FIT_YEAR = 1991
CLOCK_FILE = Path(__file__).resolve().parents[1] / "data" / "calibration" / "clock.toml"
CRISIS_DECAY_YEARS = 1.0


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
    split_seconds: list[int]  # predictions for the settings after SPLIT_LAST_FIT_YEAR, fitted on the rest
    warheads_spearman: float  # in-sample rank correlation of the world count with the settings
    warheads_loo: Metrics
    warheads_time_split: Metrics
    ridge_loo: Metrics
    ridge_time_split: Metrics
    categories: list[Category]

    @property
    def fitted_parameters(self) -> int:
        """What the fit chooses: the category weights (less one: they sum to 1), a and b."""
        return len(self.categories) - 1 + 2


def _raw_indicators(record: HistoricalRecord, as_of: date) -> tuple[float, ...]:
    ind = indicators_as_of(record, as_of)
    severity = sum(
        c.severity * math.exp(-max(0, (as_of - min(c.end or as_of, as_of)).days) / 365.25 / CRISIS_DECAY_YEARS)
        for c in record.crises
        if c.start <= as_of
    )
    return (math.log(ind.inventory), float(ind.armed), ind.tests_3y, ind.treaties, severity)


def calibration_points(
    record: HistoricalRecord,
    settings: Sequence[BulletinSetting],
    rate: Callable[[Indicators], dict[Category, float]] = category_values,
) -> list[CalibrationPoint]:
    """Each setting paired with the record as of the day before its announcement, rated by `rate`
    (the analyzer's formulas; `benchmarks/calibration.py --ablation` passes earlier versions)."""
    points = []
    for setting in settings:
        as_of = setting.announced - timedelta(days=1)
        points.append(
            CalibrationPoint(
                year=setting.year,
                announced=setting.announced,
                as_of=as_of,
                bulletin_seconds=setting.seconds,
                values=rate(indicators_as_of(record, as_of)),
                raw=_raw_indicators(record, as_of),
            )
        )
    return points


def fit_mapping(values: np.ndarray, seconds: np.ndarray, categories: Sequence[Category]) -> ClockMapping:
    """NNLS of log seconds on centred category values (module docstring); rows are settings."""
    target = np.log(np.maximum(seconds, 1.0))
    values = np.round(values, 9)  # differences below 1e-9 are noise, and subnormal ones overflow NNLS
    centre = values.mean(axis=0)
    beta, _ = nnls(values - centre, -(target - target.mean()))
    slope = float(beta.sum())
    if not math.isfinite(slope):
        beta, slope = np.zeros_like(beta), 0.0
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
    warheads_split = _log_linear_predict(inventory[early], y[early], inventory[late])
    mapping = fit_mapping(x, y, categories)
    return Calibration(
        mapping=mapping,
        points=list(points),
        loo_seconds=loo,
        fitted_seconds=[mapping.seconds(mapping.score(p.values)) for p in points],
        loo=metrics(loo, y),
        time_split=metrics(split, y[late]),
        split_seconds=split,
        warheads_spearman=float(spearmanr(inventory, y).statistic),
        warheads_loo=metrics(warheads_loo, y),
        warheads_time_split=metrics(warheads_split, y[late]),
        ridge_loo=metrics(ridge_loo, y),
        ridge_time_split=metrics(ridge_split, y[late]),
        categories=categories,
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6)) if math.isfinite(value) else "nan"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _table(name: str, values: Mapping[str, object]) -> list[str]:
    return [f"[{name}]", *(f"{key} = {_toml_value(v)}" for key, v in values.items()), ""]


def _metrics_table(m: Metrics) -> dict[str, object]:
    return {"n": m.n, "spearman": m.spearman, "mae_seconds": m.mae}


def clock_toml(result: Calibration, fitted_on: date) -> str:
    """The versioned clock file: parameters, the data it was fitted on, the metrics, the date."""
    lines = [
        "# The clock calibrated on the Bulletin of the Atomic Scientists' settings. Written by",
        "# `joshua calibrate` (joshua/calibration.py); regenerate it rather than editing it.",
        "#   clock_score = sum of weights x structural category values (as of the day before each setting)",
        "#   seconds     = exp(intercept - slope x clock_score), within 0..1440",
        "",
        "version = 1",
        f"fitted_on = {_toml_value(fitted_on.isoformat())}",
        f"settings = {len(result.points)}",
        f"fitted_parameters = {result.fitted_parameters}",
        "",
        *_table("mapping", {"intercept": result.mapping.intercept, "slope": result.mapping.slope}),
        *_table("mapping.weights", {c.value: w for c, w in result.mapping.weights.items()}),
        *_table(
            "metrics",
            {
                "target_spearman": TARGET_SPEARMAN,
                "target_mae_seconds": TARGET_MAE,
                "meets_targets": result.loo.meets_targets(),
            },
        ),
        *_table("metrics.leave_one_out", _metrics_table(result.loo)),
        *_table("metrics.time_split", {"fit_through": SPLIT_LAST_FIT_YEAR, **_metrics_table(result.time_split)}),
        *_table(
            "metrics.baselines.warheads_alone",
            {
                "spearman_in_sample": result.warheads_spearman,
                **{f"loo_{k}": v for k, v in _metrics_table(result.warheads_loo).items()},
                **{f"time_split_{k}": v for k, v in _metrics_table(result.warheads_time_split).items()},
            },
        ),
        *_table(
            "metrics.baselines.ridge_five_indicators",
            {
                "ridge_lambda": RIDGE_LAMBDA,
                **{f"loo_{k}": v for k, v in _metrics_table(result.ridge_loo).items()},
                **{f"time_split_{k}": v for k, v in _metrics_table(result.ridge_time_split).items()},
            },
        ),
    ]
    for point, loo, fitted in zip(result.points, result.loo_seconds, result.fitted_seconds, strict=True):
        row: dict[str, object] = {
            "year": point.year,
            "announced": point.announced.isoformat(),
            "as_of": point.as_of.isoformat(),
            "bulletin_seconds": point.bulletin_seconds,
            "clock_score": result.mapping.score(point.values),
            "loo_seconds": loo,
            "fitted_seconds": fitted,
        }
        row |= {c.value: v for c, v in point.values.items()}
        lines += ["[[data]]", *(f"{key} = {_toml_value(v)}" for key, v in row.items()), ""]
    return "\n".join(lines)


def load_clock(path: Path = CLOCK_FILE) -> CalibratedClock | None:
    """The fitted clock from its file; None when none was fitted; ConfigError when unreadable."""
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mapping = ClockMapping(
            intercept=float(data["mapping"]["intercept"]),
            slope=float(data["mapping"]["slope"]),
            weights={Category(c): float(w) for c, w in data["mapping"]["weights"].items()},
        )
        loo = data["metrics"]["leave_one_out"]
        spearman, mae = float(loo["spearman"]), float(loo["mae_seconds"])
        fitted_on = str(data["fitted_on"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot use the clock calibration {path}: {type(exc).__name__}: {exc}") from exc
    if mapping.slope < 0 or any(w < 0 for w in mapping.weights.values()):
        raise ConfigError(f"the clock calibration {path} is not monotone (negative slope or weight)")
    meets = Metrics(n=0, spearman=spearman, mae=mae).meets_targets()
    return CalibratedClock(mapping, meets_targets=meets, loo_spearman=spearman, loo_mae=mae, fitted_on=fitted_on)


def loo_frame(result: Calibration, fitted_on: date) -> pl.DataFrame:
    """The `calibration` lake table: one row per Bulletin setting."""
    return pl.DataFrame(
        [
            {
                "year": p.year,
                "announced": p.announced,
                "as_of": p.as_of,
                "bulletin_seconds": p.bulletin_seconds,
                "loo_seconds": loo,
                "fitted_seconds": fitted,
                "clock_score": result.mapping.score(p.values),
                "fitted_on": fitted_on,
            }
            for p, loo, fitted in zip(result.points, result.loo_seconds, result.fitted_seconds, strict=True)
        ],
        schema=TABLES["calibration"],
    )


def write_calibration(result: Calibration, fitted_on: date, clock_path: Path, lake_dir: Location) -> tuple[Path, Location]:
    """Write the clock file and the lake's `calibration` table, each atomically (renamed into place)."""
    clock_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = clock_path.with_name(f".{clock_path.name}.tmp")
    temporary.write_text(clock_toml(result, fitted_on), encoding="utf-8")
    temporary.replace(clock_path)
    table = write_parquet_atomic(loo_frame(result, fitted_on), join(lake_dir, "calibration", "calibration.parquet"))
    return clock_path, table
