import pytest

from joshua.calibration import load_clock
from joshua.risk.clock import AUTO, CALIBRATED, linear_seconds
from joshua.settings import load_settings
from joshua.simulate import SCENARIO_DIR, StartingPoint, apply_scenario, load_scenario, run_simulation, sample_start
from schemas.records import Category, ConfidenceLevel, FactorRating

CLOCK = load_clock()


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
    start = sample_start(settings, CLOCK)
    assert len(start.ratings) == 8 and "sample" in start.label
    outcome = {
        name: run_simulation(start, load_scenario(name), settings, 20_000, 0.95, seed=4, clock=CLOCK)
        for name in ("deescalation", "baseline", "escalation")
    }
    seconds = [o.seconds for o in outcome.values()]
    p_use = [o.escalation.p_use for o in outcome.values()]
    assert seconds == sorted(seconds, reverse=True) and p_use == sorted(p_use)
    baseline = outcome["baseline"]
    assert baseline.seconds_interval[0] <= baseline.seconds <= baseline.seconds_interval[1]
    assert baseline.p_use_interval[0] <= baseline.escalation.p_use <= baseline.p_use_interval[1]


def test_the_baseline_reproduces_the_starting_reading_through_the_headline_mapping(tmp_path):
    """No shift: the score is the starting point's; the seconds are its headline mapping's, linear beside."""
    settings = load_settings(data_dir=tmp_path)
    start = StartingPoint(
        [FactorRating(category=c, name="f", value=0.4, confidence=ConfidenceLevel.HIGH, reasoning="r") for c in Category],
        "test",
        score=0.55,
        clock_score=0.8,
    )
    assert CLOCK is not None
    baseline = load_scenario("baseline")
    for mapping in (CALIBRATED, AUTO, "linear"):
        risk = settings.risk.model_copy(update={"mapping": mapping})
        result = run_simulation(start, baseline, settings.model_copy(update={"risk": risk}), 500, 0.95, clock=CLOCK)
        assert result.score == pytest.approx(0.55)
        assert result.seconds_linear == linear_seconds(0.55)
        assert result.seconds_calibrated == CLOCK.mapping.seconds(0.8)
        uses_clock = CLOCK.use_for(mapping)
        assert result.mapping == ("calibrated" if uses_clock else "linear")
        assert result.seconds == (result.seconds_calibrated if uses_clock else result.seconds_linear)
    escalated = run_simulation(start, load_scenario("escalation"), settings, 500, 0.95, clock=CLOCK)
    assert escalated.score > 0.55 and escalated.seconds_calibrated is not None
    assert escalated.seconds_calibrated < CLOCK.mapping.seconds(0.8)  # the clock moves with the score
