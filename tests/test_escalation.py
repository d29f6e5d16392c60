import pytest
from hypothesis import given
from hypothesis import strategies as st

from joshua.risk.escalation import EVENTS, USE_RUNG, EscalationInputs, simulate_escalation, wilson_interval

SAMPLE_LEVEL = EscalationInputs(tension=0.663, conflict_active=True, channels_degraded=True)


def test_wilson_golden():
    low, high = wilson_interval(5, 100, 1.96)
    assert low == pytest.approx(0.021544, abs=1e-6) and high == pytest.approx(0.111752, abs=1e-6)
    assert wilson_interval(0, 10, 1.96)[0] == 0.0
    assert wilson_interval(0, 0, 1.96) == (0.0, 1.0)


@given(st.integers(0, 10_000), st.integers(1, 10_000), st.sampled_from([1.2816, 1.6449, 1.96, 2.5758]))
def test_wilson_bounds_stay_in_unit_interval(successes, trials, z):
    successes = min(successes, trials)
    low, high = wilson_interval(successes, trials, z)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_narrows_as_iterations_grow():
    widths = [high - low for low, high in (wilson_interval(n // 100, n, 1.96) for n in (1_000, 10_000, 100_000))]
    assert widths[0] > widths[1] > widths[2]


def test_yearly_probability_at_the_sample_level_is_within_expert_estimates():
    result = simulate_escalation(SAMPLE_LEVEL, runs=100_000, seed=11)
    low, high = result.interval(0.95)
    assert 0.0035 <= result.p_use <= 0.011, result.p_use
    assert 0.003 <= low < high <= 0.012
    assert result.mean_days_to_use is not None and 0 < result.mean_days_to_use <= 365
    assert result.most_common_pathway is not None and len(result.most_common_pathway) == USE_RUNG
    assert set(result.most_common_pathway) <= set(EVENTS)
    assert sum(result.highest_rung.values()) == pytest.approx(1.0)


def test_probability_rises_with_the_score():
    """How P(use within a year) moves with the risk score (same seed, 50k simulated years each)."""
    p = {
        score: simulate_escalation(EscalationInputs(score, True, True), runs=50_000, seed=3).p_use
        for score in (0.2, 0.5, 0.663, 0.8, 0.95)
    }
    assert list(p.values()) == sorted(p.values())
    assert p[0.2] < 0.0035 < p[0.663] < 0.011 < p[0.95]


def test_active_conflict_and_degraded_channels_raise_the_risk():
    calm = simulate_escalation(EscalationInputs(0.663, False, False), runs=50_000, seed=5).p_use
    assert calm < simulate_escalation(SAMPLE_LEVEL, runs=50_000, seed=5).p_use


def test_scenario_rate_multipliers_apply():
    doubled = EscalationInputs(0.663, True, True, {"military_incident": 2.0, "nuclear_threat": 2.0})
    assert simulate_escalation(doubled, 20_000, seed=2).p_use > simulate_escalation(SAMPLE_LEVEL, 20_000, seed=2).p_use


def test_same_seed_same_result_and_no_use_is_defined():
    assert simulate_escalation(SAMPLE_LEVEL, 5_000, seed=9) == simulate_escalation(SAMPLE_LEVEL, 5_000, seed=9)
    quiet = simulate_escalation(EscalationInputs(0.0, False, False), runs=200, days=30, seed=1)
    assert quiet.uses == 0 and quiet.mean_days_to_use is None and quiet.most_common_pathway is None
    assert quiet.interval(0.99)[0] == 0.0
