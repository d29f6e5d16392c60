from datetime import UTC, datetime

import pytest

from joshua.risk.assess import History, build_assessment
from joshua.risk.uncertainty import seed_for
from joshua.settings import RiskSettings
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

RISK = RiskSettings(mc_iterations=2_000, escalation_runs=5_000)
RUN = "20261127T060000Z-abcdef"


def analysis(value: float = 0.6) -> Analysis:
    factors = [
        FactorRating(category=c, name="reporting_signal", value=value, confidence=ConfidenceLevel.HIGH, reasoning="r")
        for c in Category
    ]
    return Analysis(analyzer="heuristic", factors=factors, executive_summary="s", articles_considered=8)


def assess(history: History, value: float = 0.6, run_id: str = RUN, sources_failed: int = 0):
    return build_assessment(
        analysis(value),
        run_id=run_id,
        assessed_at=datetime(2026, 11, 27, 6, tzinfo=UTC),
        as_of=datetime(2026, 11, 26, 6, tzinfo=UTC),
        risk=RISK,
        sources_ok=4,
        sources_failed=sources_failed,
        history=history,
        data_label="test",
        sample_data=False,
    )


def test_first_assessment_passes_through_with_interval_and_outlook():
    a = assess(History())
    assert a.score == a.base_score == a.adjusted_score == pytest.approx(0.6)
    assert a.seconds_to_midnight == 576 and a.band == "moderate"
    assert a.ci_seconds_low <= a.seconds_to_midnight <= a.ci_seconds_high
    assert a.ci_low <= a.score <= a.ci_high
    assert a.mc_seed == seed_for(analysis(0.6).factors, RISK.model_dump_json()) and a.mc_iterations == 2_000
    assert a.p_use_ci_low <= a.p_nuclear_use_365d <= a.p_use_ci_high
    assert a.trend == "insufficient" and a.delta_seconds is None and a.alerts == []
    assert len(a.sensitivity) == 8 and a.most_sensitive_category is not None


def test_rerunning_a_run_id_reproduces_the_assessment_exactly():
    assert assess(History()) == assess(History())


def test_history_shrinks_the_score_and_raises_trend_and_move_alerts():
    history = History(
        base_scores=[0.40, 0.42, 0.44, 0.46, 0.48],
        seconds=[864, 835, 806, 777, 748],
        confidence_scores=[0.9] * 5,
        trends=["insufficient", "insufficient", "stable", "stable", "stable"],
        bands=["low", "low", "low", "low", "low"],
        factor_values={c.value: [0.4, 0.42, 0.44, 0.46, 0.48] for c in Category},
    )
    a = assess(history, value=0.7, sources_failed=2)
    assert 0.44 < a.adjusted_score < a.base_score == pytest.approx(0.7)
    assert a.seconds_to_midnight < 748 and a.trend == "rising"
    kinds = {(alert.level, alert.kind) for alert in a.alerts}
    assert {("Severe", "move"), ("Warning", "confidence"), ("Info", "trend")} <= kinds
    assert all(0.44 < f.adjusted_value < 0.7 for f in a.factors)


def test_the_seed_comes_from_the_inputs_so_a_replay_under_another_run_id_is_identical():
    first, replay = assess(History(), run_id=RUN), assess(History(), run_id="20261128T070000Z-0a1b2c")
    assert first.run_id != replay.run_id and first.mc_seed == replay.mc_seed
    assert (first.ci_low, first.ci_high, first.p_nuclear_use_365d, first.p_use_ci_low, first.p_use_ci_high) == (
        replay.ci_low, replay.ci_high, replay.p_nuclear_use_365d, replay.p_use_ci_low, replay.p_use_ci_high
    )
    assert assess(History(), value=0.61).mc_seed != first.mc_seed  # other ratings, other draws
