"""The risk engine's pipeline (spec §1.12): from an analysis and the history to an assessment.

1. base weighted score and weight sensitivity;
2. Normal–Normal shrinkage of the score and of each factor toward their histories;
3. anchoring: with a structural level (a daily run), the score is that level moved by the news
   within ± `news_bound` (below); the reconstruction's own runs are the level itself;
4. seconds to midnight and band from the score (the calibrated clock's or the linear mapping,
   `joshua/risk/clock.py`); Monte Carlo interval around it;
5. escalation simulation: P(nuclear use within 365 days);
6. trend over the stored assessments, change points, alerts.

Anchoring (issue 16). The structural analyzer says where the year stands from slow indicators
(arsenals, treaties, crises); the news says whether today is calmer or tenser than usual:

    move  = clip(news − reference, −bound, +bound)
    score = clip(structural + move, 0, 1)        clock score = clip(structural clock score + move, 0, 1)

news is the news analyzer's shrunk score and reference the mean of the earlier news scores (0.5,
the middle of the rating scale, until there are NEWS_REFERENCE_POINTS of them), so average news
leaves the reading at the structural level. The bound (0.05 by default) keeps one day's reporting
from outweighing the record: on the calibrated clock 0.05 moves the seconds by about a quarter
(exp(±0.05·b) with b ≈ 4.8), some ±20 s at today's 85 s, the size of the Bulletin's own largest
moves near midnight (120 → 100, 100 → 90), while a year's structural change can be several times
that. The interval joins both uncertainties: the level's own Monte Carlo interval, moved by the
news interval's bounded ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from joshua.risk.alerts import Reading, alerts_for
from joshua.risk.bayes import factor_correlations, shrink
from joshua.risk.clock import CalibratedClock, band_for, linear_seconds
from joshua.risk.escalation import EscalationInputs, simulate_escalation
from joshua.risk.score import base_score, overall_confidence, scored_factors, sensitivity
from joshua.risk.trend import cusum_change_points, mann_kendall, trend_label
from joshua.risk.uncertainty import score_uncertainty, seed_for
from joshua.settings import RiskSettings
from schemas.records import (
    Analysis,
    Assessment,
    Category,
    ConfidenceLevel,
    FactorRating,
    SensitivitySummary,
)

ASSESSMENT_NAMESPACE = uuid.UUID("6f1c7a52-5b0e-4d3c-9a51-0a1e5d2c7b11")
ACTIVE_THRESHOLD = 0.5  # a factor at or above this counts as an active conflict / degraded channels
NEWS_REFERENCE_POINTS = 5  # earlier news scores needed before their mean is the reference
NEUTRAL_NEWS = 0.5  # the reference before that: the middle of the rating scale


def assessment_id(run_id: str) -> str:
    """The assessment id of a run: stable, so a rerun replaces the same assessment."""
    return str(uuid.uuid5(ASSESSMENT_NAMESPACE, run_id))


@dataclass(frozen=True)
class History:
    """Earlier committed assessments, oldest first (the current run excluded)."""

    base_scores: list[float] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)
    confidence_scores: list[float] = field(default_factory=list)
    trends: list[str] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    factor_values: dict[str, list[float]] = field(default_factory=dict)  # category → value per assessment

    def previous(self) -> Reading | None:
        """The last assessment as the alert rules read it."""
        if not self.seconds:
            return None
        return Reading(self.seconds[-1], self.bands[-1], self.confidence_scores[-1], self.trends[-1])


@dataclass(frozen=True)
class StructuralLevel:
    """The structural reconstruction on a daily run's as-of date: its score under the engine's
    weights and its category values (which the calibrated clock weighs with its own weights)."""

    score: float
    values: dict[Category, float]
    ci_low: float  # the level's own 95 % Monte Carlo interval (its ratings' confidence)
    ci_high: float


def news_reference(news_history: Sequence[float]) -> float:
    """The news score that counts as average: the mean of earlier ones, or the scale's middle."""
    past = [v for v in news_history if not np.isnan(v)]
    return float(np.mean(past)) if len(past) >= NEWS_REFERENCE_POINTS else NEUTRAL_NEWS


def news_move(news: float, reference: float, bound: float) -> float:
    """How far the news moves the score from the structural level: within ±bound."""
    return float(np.clip(news - reference, -bound, bound))


def _unit(x: float) -> float:
    return float(np.clip(x, 0.0, 1.0))


def escalation_inputs(
    score: float, ratings: list[FactorRating], rate_multipliers: Mapping[str, float] | None = None
) -> EscalationInputs:
    """The escalation model's view of an assessment: tension, active conflict, degraded channels."""
    values = {r.category: r.value for r in ratings}
    return EscalationInputs(
        tension=score,
        conflict_active=values.get(Category.REGIONAL_CONFLICT, 0.0) >= ACTIVE_THRESHOLD,
        channels_degraded=values.get(Category.COMMUNICATION_ARMS_CONTROL, 0.0) >= ACTIVE_THRESHOLD,
        rate_multipliers=dict(rate_multipliers or {}),
    )


def build_assessment(
    analysis: Analysis,
    *,
    run_id: str,
    assessed_at: datetime,
    as_of: datetime,
    risk: RiskSettings,
    sources_ok: int,
    sources_failed: int,
    history: History,
    data_label: str,
    sample_data: bool,
    structural: StructuralLevel | None = None,
    clock: CalibratedClock | None = None,
) -> Assessment:
    """Run the risk engine over an analysis (steps in the module docstring).

    `structural` anchors a news run on the structural level as of its date; a structural analysis
    (the reconstruction) is its own level. `clock` is the calibrated clock, if one is fitted.
    """
    ratings = analysis.factors
    base = base_score(ratings, risk.weights)
    adjusted = shrink(base.score, history.base_scores).adjusted
    seed = seed_for(ratings, risk.model_dump_json())
    uncertainty = score_uncertainty(ratings, base, risk.mc_iterations, seed)
    # The interval is drawn around the base score; shrinkage moves the whole interval with it.
    shift = adjusted - base.score
    news_low, news_high = (_unit(v + shift) for v in (uncertainty.ci_low, uncertainty.ci_high))
    if structural is not None:
        reference = news_reference(history.base_scores)
        level, clock_values = structural.score, structural.values
        level_low, level_high = structural.ci_low, structural.ci_high
    else:
        reference, level = adjusted, adjusted  # no anchor: the score is the analysis's own
        level_low = level_high = level
        clock_values = dict(base.category_scores) if analysis.analyzer == "structural" else None
    bound = risk.news_bound if structural is not None else 1.0

    def anchored(news: float, at: float) -> float:
        return _unit(at + news_move(news, reference, bound))

    # Both uncertainties widen the interval: the level's own and the news interval's bounded move.
    score = anchored(adjusted, level)
    ci_low, ci_high = min(score, anchored(news_low, level_low)), max(score, anchored(news_high, level_high))
    clock_score = clock.mapping.score(clock_values) if clock is not None and clock_values is not None else None
    use_clock = clock is not None and clock_score is not None and clock.use_for(risk.mapping)

    def seconds_of(value: float) -> int:
        if use_clock and clock is not None and clock_score is not None:
            return clock.mapping.seconds(_unit(clock_score + value - level))
        return linear_seconds(value)

    seconds = seconds_of(score)
    escalation = simulate_escalation(escalation_inputs(score, ratings), risk.escalation_runs, seed=seed)
    p_low, p_high = escalation.interval(0.95)
    series = [*history.seconds, seconds]
    test = mann_kendall(series)
    trend = trend_label(series)
    confidence = overall_confidence(base, sources_ok, sources_failed)
    band = band_for(seconds, risk.bands)
    sensitivities = sensitivity(ratings, risk.weights)
    factors = scored_factors(ratings, base, history.factor_values)
    current = {category.value: value for category, value in base.category_scores.items()}
    correlations = factor_correlations(
        {c: [*values, current[c]] for c, values in history.factor_values.items() if c in current}
    )
    alerts = alerts_for(
        Reading(seconds, band, confidence, trend, test.p_value if test else None), history.previous()
    )
    return Assessment(
        assessment_id=assessment_id(run_id),
        run_id=run_id,
        assessed_at=assessed_at,
        as_of=as_of,
        seconds_to_midnight=seconds,
        score=score,
        base_score=base.score,
        adjusted_score=adjusted,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_seconds_low=seconds_of(ci_high),
        ci_seconds_high=seconds_of(ci_low),
        mc_seed=seed,
        mc_iterations=risk.mc_iterations,
        band=band,
        confidence=ConfidenceLevel.from_numeric(confidence),
        confidence_score=confidence,
        trend=trend,
        trend_slope=test.slope if test else None,
        trend_p_value=test.p_value if test else None,
        change_points=len(cusum_change_points(series)),
        delta_seconds=seconds - history.seconds[-1] if history.seconds else None,
        analyst_seconds=analysis.analyst_seconds,
        change_explanation=analysis.change_explanation,
        p_nuclear_use_365d=escalation.p_use,
        p_use_ci_low=p_low,
        p_use_ci_high=p_high,
        escalation_runs=escalation.runs,
        escalation_pathway=list(escalation.most_common_pathway) if escalation.most_common_pathway else None,
        most_sensitive_category=sensitivities[0].category if sensitivities else None,
        analyzer=analysis.analyzer,
        model=analysis.model,
        executive_summary=analysis.executive_summary,
        data_label=data_label,
        sample_data=sample_data,
        seconds_linear=linear_seconds(score),
        seconds_calibrated=(
            clock.mapping.seconds(_unit(clock_score + score - level)) if clock is not None and clock_score is not None else None
        ),
        clock_score=_unit(clock_score + score - level) if clock_score is not None else None,
        structural_score=structural.score if structural is not None else (base.score if clock_values is not None else None),
        mapping="calibrated" if use_clock else "linear",
        factors=factors,
        sensitivity=[
            SensitivitySummary(
                category=s.category,
                max_elasticity=s.max_elasticity,
                score_delta_minus_20=s.score_deltas[0],
                score_delta_plus_20=s.score_deltas[-1],
            )
            for s in sensitivities
        ],
        correlations=[f"{c.first} ~ {c.second}: r = {c.r:+.2f} (n = {c.n})" for c in correlations],
        alerts=alerts,
    )

