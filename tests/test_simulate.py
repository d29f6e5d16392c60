import pytest

from joshua.settings import load_settings
from joshua.simulate import SCENARIO_DIR, apply_scenario, load_scenario, run_simulation, sample_ratings
from schemas.records import Category, ConfidenceLevel, FactorRating


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_scenarios_load(path):
    assert load_scenario(path.stem).name == path.stem


def test_apply_scenario_shifts_and_clamps():
    ratings = [
        FactorRating(category=c, name="f", value=0.9, confidence=ConfidenceLevel.HIGH, reasoning="r")
        for c in (Category.REGIONAL_CONFLICT, Category.ECONOMIC)
    ]
    shifted = apply_scenario(ratings, load_scenario("escalation"))
    assert [r.value for r in shifted] == [1.0, 0.9]


def test_scenarios_order_the_outlook(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    ratings, label = sample_ratings(settings)
    assert len(ratings) == 8 and "sample" in label
    outcome = {
        name: run_simulation(ratings, label, load_scenario(name), settings, 20_000, 0.95, seed=4)
        for name in ("deescalation", "baseline", "escalation")
    }
    seconds = [o.seconds for o in outcome.values()]
    p_use = [o.escalation.p_use for o in outcome.values()]
    assert seconds == sorted(seconds, reverse=True) and p_use == sorted(p_use)
    baseline = outcome["baseline"]
    assert baseline.seconds_interval[0] <= baseline.seconds <= baseline.seconds_interval[1]
    assert baseline.p_use_interval[0] <= baseline.escalation.p_use <= baseline.p_use_interval[1]
