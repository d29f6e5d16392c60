"""What a report shows, gathered once: from a run in progress or, later, from the lake."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from pydantic import BaseModel, Field, PrivateAttr

from joshua.errors import ConfigError
from joshua.risk.score import base_score
from joshua.risk.trend import mann_kendall, trend_label
from joshua.risk.uncertainty import score_uncertainty
from joshua.settings import RiskSettings
from joshua.structural.history import load_bulletin_settings
from schemas.records import (
    Alert,
    Assessment,
    Category,
    ConfidenceLevel,
    EvidenceRef,
    FactorRating,
    ScoredFactor,
    SensitivitySummary,
    SourceOutcome,
    StageCounts,
    StageMetrics,
)
from schemas.tables import STAGES

AVERAGE_WINDOWS = (30, 90, 365)


class ReportResult(BaseModel):
    """The report files a run wrote (by format) and the evidence its summary cites."""

    files: dict[str, Path]
    evidence: dict[str, EvidenceRef]

    @property
    def path(self) -> Path:
        """The Markdown report (the others sit beside it)."""
        return self.files["md"]

    def metrics(self) -> StageCounts:
        return StageCounts(items_in=len(self.evidence), items_out=len(self.files))


class HistoryPoint(BaseModel):
    """One assessment on the report's timeline."""

    assessed_at: datetime
    seconds: int
    ci_seconds_low: int | None = None
    ci_seconds_high: int | None = None
    alerts: int = 0
    categories: dict[str, float] = Field(default_factory=dict)


class YearReading(BaseModel):
    """One year of the structural reconstruction."""

    year: int
    seconds_calibrated: int | None
    seconds_linear: int | None
    p_nuclear_use_365d: float


class CalibrationRow(BaseModel):
    """One Bulletin setting with the calibrated clock's held-out and in-sample predictions."""

    year: int
    bulletin_seconds: int
    loo_seconds: int
    fitted_seconds: int


class BulletinLatest(BaseModel):
    """The Bulletin of the Atomic Scientists' latest Doomsday Clock setting."""

    year: int
    seconds: int
    announced: date


class ReportData(BaseModel):
    """Everything the Markdown, HTML and JSON reports show."""

    assessment: Assessment
    evidence: dict[str, EvidenceRef]
    sources: list[SourceOutcome]
    stages: list[StageMetrics]
    history: list[HistoryPoint]  # chronological, ending with this assessment
    considered: dict[str, int] = Field(default_factory=dict)  # evidence articles of the run per category
    reconstruction: list[YearReading] = Field(default_factory=list)  # `joshua backfill`, oldest first
    calibration: list[CalibrationRow] = Field(default_factory=list)  # `joshua calibrate`
    bulletin: BulletinLatest | None = None
    _trends: dict[str, str] = PrivateAttr(default_factory=dict)

    def average(self, days: int) -> float | None:
        """Mean seconds to midnight over the `days` days up to this assessment (by date)."""
        end = self.assessment.assessed_at
        window = [p.seconds for p in self.history if end - timedelta(days=days) <= p.assessed_at <= end]
        return sum(window) / len(window) if window else None

    def category_trend(self, category: str) -> str:
        """The Mann–Kendall trend of a category's value (`rising` means toward danger)."""
        if category not in self._trends:
            values = [p.categories[category] for p in self.history if category in p.categories]
            test = mann_kendall(values)
            label = "insufficient" if test is None else "stable" if not test.significant else (
                "rising" if test.tau > 0 else "falling"
            )
            self._trends[category] = label
        return self._trends[category]

    def seconds_trend_slope(self) -> float | None:
        """Sen's slope of seconds to midnight per assessment."""
        test = mann_kendall([p.seconds for p in self.history])
        return test.slope if test else None

    def score_draws(self, risk: RiskSettings) -> np.ndarray:
        """The Monte Carlo draws of this assessment's score, reproduced from its stored seed."""
        ratings = [f.rating for f in self.assessment.factors]
        base = base_score(ratings, risk.weights)
        return score_uncertainty(ratings, base, self.assessment.mc_iterations, self.assessment.mc_seed).draws

    def overall_trend(self) -> str:
        return trend_label([p.seconds for p in self.history])


def point_of(assessment: Assessment) -> HistoryPoint:
    """The timeline point of an assessment."""
    return HistoryPoint(
        assessed_at=assessment.assessed_at,
        seconds=assessment.seconds_to_midnight,
        ci_seconds_low=assessment.ci_seconds_low,
        ci_seconds_high=assessment.ci_seconds_high,
        alerts=len(assessment.alerts),
        categories=_category_means(assessment.factors),
    )


def _category_means(factors: list[ScoredFactor]) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for factor in factors:
        sums.setdefault(factor.rating.category.value, []).append(factor.rating.value)
    return {category: sum(v) / len(v) for category, v in sums.items()}


TIMELINE_SQL = """
SELECT a.assessment_id, a.assessed_at, a.seconds_to_midnight, a.ci_seconds_low, a.ci_seconds_high,
       (SELECT count(*) FROM alerts AS x WHERE x.assessment_id = a.assessment_id) AS alerts
FROM assessments AS a
WHERE a.assessed_at <= $until AND a.run_id IS DISTINCT FROM $exclude
ORDER BY a.assessed_at, a.run_id
"""
TIMELINE_FACTORS_SQL = """
SELECT f.assessment_id, f.category, avg(f.value)
FROM risk_factors AS f JOIN assessments AS a USING (assessment_id)
WHERE a.assessed_at <= $until
GROUP BY ALL
"""


def timeline(con: duckdb.DuckDBPyConnection, until: datetime, exclude_run: str | None = None) -> list[HistoryPoint]:
    """Committed assessments up to `until`, oldest first (optionally without one run's)."""
    rows = con.execute(TIMELINE_SQL, {"until": until, "exclude": exclude_run}).fetchall()
    categories: dict[str, dict[str, float]] = {}
    for assessment_id, category, value in con.execute(TIMELINE_FACTORS_SQL, {"until": until}).fetchall():
        categories.setdefault(assessment_id, {})[category] = value
    return [
        HistoryPoint(
            assessed_at=when,
            seconds=seconds,
            ci_seconds_low=low,
            ci_seconds_high=high,
            alerts=alerts,
            categories=categories.get(aid, {}),
        )
        for aid, when, seconds, low, high, alerts in rows
    ]


RECONSTRUCTION_SQL = """
SELECT year(as_of) AS year, seconds_calibrated, seconds_linear, p_nuclear_use_365d
FROM reconstruction ORDER BY as_of
"""
CALIBRATION_SQL = "SELECT year, bulletin_seconds, loo_seconds, fitted_seconds FROM calibration_loo ORDER BY year"


def clock_context(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The reconstruction, the calibration and the Bulletin's latest setting, for ReportData."""
    latest = max(load_bulletin_settings(), key=lambda s: s.announced)
    return {
        "reconstruction": [YearReading(**r) for r in _records(con, RECONSTRUCTION_SQL, {})],
        "calibration": [CalibrationRow(**r) for r in _records(con, CALIBRATION_SQL, {})],
        "bulletin": BulletinLatest(year=latest.year, seconds=latest.seconds, announced=latest.announced),
    }


def run_report_data(
    con: duckdb.DuckDBPyConnection,
    assessment: Assessment,
    evidence: dict[str, EvidenceRef],
    sources: list[SourceOutcome],
    stages: list[StageMetrics],
    considered: dict[str, int] | None = None,
) -> ReportData:
    """Report data of a run in progress: its assessment on top of the committed history."""
    history = timeline(con, assessment.assessed_at, exclude_run=assessment.run_id)
    return ReportData(
        assessment=assessment,
        evidence=evidence,
        sources=sources,
        stages=stages,
        history=[*history, point_of(assessment)],
        considered=considered or {},
        **clock_context(con),
    )


ASSESSMENT_SQL = "SELECT * FROM assessments WHERE assessment_id = $id OR run_id = $id"  # either id the CLI shows
LATEST_SQL = "SELECT * FROM assessments ORDER BY assessed_at DESC, run_id DESC LIMIT 1"
FACTORS_SQL = "SELECT * FROM risk_factors WHERE assessment_id = $id ORDER BY rank"
ALERTS_SQL = "SELECT level, kind, message, threshold, value FROM alerts WHERE assessment_id = $id"
RUN_SQL = "SELECT * FROM runs WHERE run_id = $run_id"
EVIDENCE_SQL = """
SELECT DISTINCT ON (article_id) article_id, source_id, title, canonical_url AS url
FROM articles WHERE run_id = $run_id AND list_contains($ids, article_id)
"""
CONSIDERED_SQL = """
SELECT category, count(DISTINCT article_id) AS articles
FROM (SELECT article_id, unnest(categories) AS category FROM articles WHERE run_id = $run_id AND evidence)
GROUP BY category
"""


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_report_data(con: duckdb.DuckDBPyConnection, assessment_id: str | None = None) -> ReportData:
    """Report data of a stored assessment (the latest when no id is given); ConfigError if none."""
    rows = _records(con, ASSESSMENT_SQL, {"id": assessment_id}) if assessment_id else _records(con, LATEST_SQL, {})
    if not rows:
        raise ConfigError(
            f"no assessment or run {assessment_id!r}" if assessment_id else "no assessment yet: run `joshua assess`"
        )
    row = rows[0]
    aid, run_id = row["assessment_id"], row["run_id"]
    factors = [_factor(f) for f in _records(con, FACTORS_SQL, {"id": aid})]
    alerts = [Alert(**a) for a in _records(con, ALERTS_SQL, {"id": aid})]
    fields = {name: row.get(name) for name in Assessment.model_fields if name not in {"factors", "alerts"}}
    fields["sensitivity"] = [SensitivitySummary(**s) for s in row.get("sensitivity") or []]
    fields["correlations"] = row.get("correlations") or []
    assessment = Assessment(**fields, factors=factors, alerts=alerts)
    run = (_records(con, RUN_SQL, {"run_id": run_id}) or [{}])[0]
    cited = sorted({e for f in factors for e in f.rating.evidence})
    evidence = {r["article_id"]: EvidenceRef(**r) for r in _records(con, EVIDENCE_SQL, {"run_id": run_id, "ids": cited})}
    considered = {r["category"]: r["articles"] for r in _records(con, CONSIDERED_SQL, {"run_id": run_id})}
    return ReportData(
        considered=considered,
        assessment=assessment,
        evidence=evidence,
        sources=[SourceOutcome(**outcome) for outcome in run.get("sources") or []],
        stages=[_stage(run, stage) for stage in STAGES if run.get(f"{stage}_seconds") is not None],
        history=timeline(con, assessment.assessed_at),
        **clock_context(con),
    )


def _factor(row: dict) -> ScoredFactor:
    value = row["value"]
    adjusted = row.get("adjusted_value")
    return ScoredFactor(
        rating=FactorRating(
            category=Category(row["category"]),
            name=row["name"],
            value=value,
            confidence=ConfidenceLevel(row["confidence"]),
            evidence=row.get("evidence") or [],
            reasoning=row.get("reasoning") or "",
        ),
        weight=row["weight"],
        contribution=row["contribution"],
        rank=row["rank"],
        adjusted_value=value if adjusted is None or math.isnan(adjusted) else adjusted,
    )


def _stage(run: dict, stage: str) -> StageMetrics:
    extra = (
        {"tokens": (run.get("tokens_in") or 0) + (run.get("tokens_out") or 0), "cost_usd": run.get("cost_usd") or 0.0}
        if stage == "analyze"
        else {}
    )
    return StageMetrics(
        stage=stage,
        seconds=run[f"{stage}_seconds"],
        items_in=run.get(f"{stage}_items_in") or 0,
        items_out=run.get(f"{stage}_items_out") or 0,
        **extra,
    )


def load_evidence(articles_path: Path | str, assessment: Assessment) -> dict[str, EvidenceRef]:
    """Title, source and link of every article the assessment's factors cite (from a run's file)."""
    cited = {article_id for factor in assessment.factors for article_id in factor.rating.evidence}
    rows = (
        pl.scan_parquet(articles_path, glob=False)
        .filter(pl.col("article_id").is_in(list(cited)))
        .select("article_id", "source_id", "title", pl.col("canonical_url").alias("url"))
        .unique("article_id")
        .collect()
    )
    return {row["article_id"]: EvidenceRef(**row) for row in rows.iter_rows(named=True)}


def load_considered(articles_path: Path | str) -> dict[str, int]:
    """How many evidence articles of a run's file each category has (what the analyzer could weigh)."""
    counts = (
        pl.scan_parquet(articles_path, glob=False)
        .filter(pl.col("evidence"))
        .select("article_id", "categories")
        .explode("categories")
        .group_by("categories")
        .agg(pl.col("article_id").n_unique())
        .collect()
    )
    return {row["categories"]: row["article_id"] for row in counts.iter_rows(named=True) if row["categories"]}
