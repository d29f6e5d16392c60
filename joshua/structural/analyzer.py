"""The structural analyzer: the risk categories rated from yearly indicators as of a date.

Nothing here reads the calendar year itself or any Bulletin setting: every input is a quantity of
the historical record (`joshua/structural/history.py`) that was known on the as-of date.

Indicators as of a date D (Y = the latest year whose row is known, i.e. 31 December Y ≤ D):

    inventory   world total inventory of Y (FAS; retired warheads included)
    growth      annual growth of the states' military stockpiles over the three years to Y
                ((m_Y / max(m_{Y−3}, 1))^(1/3) − 1; fewer years where the series starts)
    armed       states with warheads in Y
    tests_3y    nuclear tests in Y−2..Y (ACA; no yearly count exists after 2019: counted as 0)
    treaties    treaties in force on D, a signed treaty not (yet) in force counting ½; suspended or
                ended ones count 0 (TPNW, which binds no nuclear-armed state, is not in the file)
    losses      Σ shock · decay(age, TREATY_MEMORY) over withdrawals, suspensions, lapses
    gains       Σ decay(age, TREATY_MEMORY) over entries into force, ½ per signature
    <kind>      Σ 3^(severity − 5) · decay(age, CRISIS_MEMORY) over the crises of each kind
                (confrontation, false_alarm, posture, nuclear_safety); age counts from the end,
                0 while ongoing. Geometric: the rubric is ordinal and each level is read as about
                three times the danger of the one below (5, superpowers at DEFCON 2, is the one
                time nuclear war was openly at hand; 1 is a civil-defence error)
    new_states  Σ decay(age, PROLIFERATION_MEMORY) over first nuclear tests

decay(age, τ) = exp(−age / τ), age in years. Each category (pressure(x, k) = 1 − exp(−k·x)):

    nuclear_arsenal             0.25·size + 0.25·clip(0.5 + 5·growth) + 0.5·clip((armed − 1 + new_states) / 8)
                                size = ln(1 + inventory) / ln(1 + 100 000)
    doctrine_posture            0.2·pressure(tests_3y, 1/50) + 0.4·pressure(posture, 3)
                                + 0.4·pressure(new_states, 1)
    regional_conflict           pressure(confrontation, 3)
    leadership_rhetoric         pressure(confrontation + posture, 2)
    technical_incident          0.3·size + 0.7·pressure(false_alarm + nuclear_safety, 3)
    communication_arms_control  0.3·exp(−treaties / 4) + 0.7·(0.5 + 0.5·tanh(0.5·(losses − gains)))

emerging_technology and economic have no yearly indicator in the record: they are not rated, and
the risk engine re-normalises the weights over the six rated categories.

Every constant is set by hand from the reasoning beside it, never fitted to the Bulletin's series:
growth of ±10 % a year saturates the growth term (as in `joshua/reference.py`); 100 000 warheads
is above the historical peak (70 374), so size stays below 1; a fresh severity-5 crisis gives
regional_conflict 1 − e⁻³ = 0.95, a severity-4 one 0.63 and a severity-3 one 0.28; crises fade with a one-year
time constant (the baseline issue 16 names: "crisis severity with yearly decay"), broken treaties
with five years (institutions rebuild slowly), a new nuclear state with five years; 50 tests in
three years (about the Cold War's yearly average) gives 0.63; each four treaties in force divide
the missing-treaty term by e. The number of armed states outweighs size within nuclear_arsenal
(half against a quarter): how many states could start a nuclear war matters more to its
likelihood than how many warheads each holds, which mostly sets the consequences. Arms control is
read mostly as momentum, recent gains against recent losses, because a regime is judged by where
it is going (a signed treaty is news for years; a count of fifteen old ones is not); a net of two
recent losses nearly saturates it (tanh(1) = 0.76 of the way; the slope at zero, 0.25 a unit, is
the first version's, whose hard clip at a net of two made every further recent gain or loss count
for nothing: 1972, 1990, 1991, 1995 and 1998 all sat at the clip and read alike). A fresh first test
counts as one more armed state within nuclear_arsenal, fading like new_states: the yearly count of
armed states is known only from the year's end, a test the day it happens, and a new nuclear state
raises the chance of use most while its forces and doctrine are new. The two weightings and the
momentum form were chosen after a first version (size-led arsenal, treaty-count-led arms control,
severity squared) was compared with the Bulletin's settings, the geometric severity after checking
that a squared one let the ongoing Russia–Ukraine war outweigh the Cuban crisis in P(use), and the
smooth momentum and first tests within the arsenal after a second comparison (README, calibration
section: what each change did, held out). All ratings are monotone: more warheads, fewer treaties,
more or fresher crises, a new nuclear state never lower a rating.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from joshua.risk.assess import StructuralLevel
from joshua.risk.score import base_score
from joshua.risk.uncertainty import score_uncertainty, seed_for
from joshua.structural.history import HistoricalRecord
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

CRISIS_MEMORY = 1.0
SEVERITY_STEP = 3.0
TREATY_MEMORY = 5.0
PROLIFERATION_MEMORY = 5.0
GROWTH_YEARS = 3
TEST_YEARS = 3
SIZE_CEILING = 100_000
GROWTH_SCALE = 5.0
TEST_SCALE = 50.0
TREATY_SCALE = 4.0
MOMENTUM_SCALE = 0.25
TREATY_GAIN = {"in_force": 1.0, "signed": 0.5}  # a signed treaty not yet in force counts half
DAYS_PER_YEAR = 365.25
# One confidence for every structural rating, so the engine weighs categories by their weights only.
CONFIDENCE = ConfidenceLevel.MODERATE


@dataclass(frozen=True)
class Indicators:
    """The record's indicators as of a date (definitions in the module docstring)."""

    inventory: float
    growth: float
    armed: int
    tests_3y: float
    treaties: float
    losses: float
    gains: float
    confrontation: float
    false_alarm: float
    posture: float
    nuclear_safety: float
    new_states: float


def _decay(event: date, as_of: date, memory: float) -> float:
    return math.exp(-max(0, (as_of - event).days) / DAYS_PER_YEAR / memory)


def indicators_as_of(record: HistoricalRecord, as_of: date) -> Indicators:
    """The indicators from what was known on `as_of` (rules in the history module's docstring)."""
    known = [y for y in record.years if date(y.year, 12, 31) <= as_of]
    if not known:
        raise ValueError(f"the record has no yearly indicators known on {as_of}")
    latest = known[-1]
    earlier = known[-1 - min(GROWTH_YEARS, len(known) - 1)]
    span = latest.year - earlier.year
    growth = (latest.military_stockpiles / max(earlier.military_stockpiles, 1)) ** (1 / span) - 1 if span else 0.0
    tests = sum(y.tests or 0 for y in known if y.year > latest.year - TEST_YEARS)

    status: dict[str, str] = {}
    losses = gains = 0.0
    for event in sorted(record.treaty_events, key=lambda e: e.on):
        if event.on > as_of:
            continue
        decay = _decay(event.on, as_of, TREATY_MEMORY)
        losses += event.shock * decay
        gains += TREATY_GAIN.get(event.event, 0.0) * decay
        if event.event != "withdrawal_notice":  # a notice hurts; the treaty binds until it takes effect
            status[event.treaty] = event.event
    treaties = sum(TREATY_GAIN.get(s, 0.0) for s in status.values())

    pressure = {"confrontation": 0.0, "false_alarm": 0.0, "posture": 0.0, "nuclear_safety": 0.0}
    for crisis in record.crises:
        if crisis.start > as_of:
            continue
        ended = crisis.end if crisis.end is not None and crisis.end <= as_of else as_of
        pressure[crisis.kind] += SEVERITY_STEP ** (crisis.severity - 5) * _decay(ended, as_of, CRISIS_MEMORY)
    new_states = sum(_decay(d, as_of, PROLIFERATION_MEMORY) for d in record.first_tests if d <= as_of)
    return Indicators(
        inventory=latest.world_inventory,
        growth=growth,
        armed=latest.armed_states,
        tests_3y=tests,
        treaties=treaties,
        losses=losses,
        gains=gains,
        new_states=new_states,
        **pressure,
    )


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def _pressure(x: float, k: float) -> float:
    return 1.0 - math.exp(-k * max(0.0, x))


def category_values(ind: Indicators) -> dict[Category, float]:
    """The six rated categories' values in [0, 1] (formulas in the module docstring)."""
    size = _clip(math.log1p(max(0.0, ind.inventory)) / math.log1p(SIZE_CEILING))
    return {
        Category.NUCLEAR_ARSENAL: _clip(
            0.25 * size
            + 0.25 * _clip(0.5 + GROWTH_SCALE * ind.growth)
            + 0.5 * _clip((ind.armed - 1 + ind.new_states) / 8)
        ),
        Category.DOCTRINE_POSTURE: _clip(
            0.2 * _pressure(ind.tests_3y, 1 / TEST_SCALE)
            + 0.4 * _pressure(ind.posture, 3)
            + 0.4 * _pressure(ind.new_states, 1)
        ),
        Category.REGIONAL_CONFLICT: _pressure(ind.confrontation, 3),
        Category.LEADERSHIP_RHETORIC: _pressure(ind.confrontation + ind.posture, 2),
        Category.TECHNICAL_INCIDENT: _clip(0.3 * size + 0.7 * _pressure(ind.false_alarm + ind.nuclear_safety, 3)),
        Category.COMMUNICATION_ARMS_CONTROL: _clip(
            0.3 * math.exp(-max(0.0, ind.treaties) / TREATY_SCALE)
            + 0.7 * (0.5 + 0.5 * math.tanh(2 * MOMENTUM_SCALE * (ind.losses - ind.gains)))
        ),
    }


def _reasoning(category: Category, ind: Indicators) -> str:
    parts = {
        Category.NUCLEAR_ARSENAL: (
            f"{ind.inventory:,.0f} warheads, stockpiles {ind.growth:+.1%} a year, {ind.armed} armed states, "
            f"new nuclear states {ind.new_states:.2f}"
        ),
        Category.DOCTRINE_POSTURE: f"{ind.tests_3y:.0f} tests in three years, posture events {ind.posture:.2f}, new nuclear states {ind.new_states:.2f}",
        Category.REGIONAL_CONFLICT: f"decayed confrontation severity {ind.confrontation:.2f}",
        Category.LEADERSHIP_RHETORIC: f"decayed confrontation and posture severity {ind.confrontation + ind.posture:.2f}",
        Category.TECHNICAL_INCIDENT: f"decayed false alarms and nuclear-safety events {ind.false_alarm + ind.nuclear_safety:.2f}",
        Category.COMMUNICATION_ARMS_CONTROL: f"{ind.treaties:.1f} treaties in force, decayed losses {ind.losses:.2f} against gains {ind.gains:.2f}",
    }
    return "Structural reconstruction: " + parts[category] + "."


def structural_ratings(ind: Indicators) -> list[FactorRating]:
    """The six categories as factor ratings the risk engine takes."""
    return [
        FactorRating(
            category=category,
            name=f"structural {category.value.replace('_', ' ')}",
            value=value,
            confidence=CONFIDENCE,
            reasoning=_reasoning(category, ind),
        )
        for category, value in category_values(ind).items()
    ]


def structural_analysis(record: HistoricalRecord, as_of: date) -> Analysis:
    """An analysis of the record as of a date, for the risk engine."""
    ind = indicators_as_of(record, as_of)
    return Analysis(
        analyzer="structural",
        factors=structural_ratings(ind),
        executive_summary=(
            f"Structural reconstruction as of {as_of.isoformat()} from yearly indicators: "
            f"{ind.inventory:,.0f} warheads, {ind.armed} armed states, {ind.treaties:.1f} treaties in force."
        ),
        articles_considered=0,
    )


def structural_level(
    record: HistoricalRecord, as_of: date, weights: Mapping[Category, float], iterations: int = 10_000
) -> StructuralLevel:
    """The level a daily run is anchored on: the structural ratings as of its date, scored, with
    their Monte Carlo interval (seeded by the ratings and the date, so a day's level is reproducible)."""
    ratings = structural_ratings(indicators_as_of(record, as_of))
    base = base_score(ratings, weights)
    spread = score_uncertainty(ratings, base, iterations, seed_for(ratings, as_of.isoformat()))
    return StructuralLevel(base.score, dict(base.category_scores), spread.ci_low, spread.ci_high)
