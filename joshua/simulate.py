"""What-if simulation: a scenario applied to the latest ratings, through the risk engine.

Scenarios are TOML files (`data/scenarios/<name>.toml`): `[factors]` shifts category values
(clamped to [0, 1]) and `[rates]` multiplies the escalation model's daily event rates.

A scenario moves the starting point's headline reading by the change it makes to the engine's base
score, and the result is read through the same mapping as the headline (`risk.mapping`: the
calibrated clock once it is the default, linear otherwise), with the linear seconds beside it:

    score  = clip(start score + base(shifted ratings) − base(ratings))
    clock  = clip(start clock score + score − start score)       (as a daily run moves its clock score)

The starting point is the latest assessment (its stored score and clock score), or with none the
bundled sample anchored on the structural level of its date exactly as a first daily run would be.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel, Field, ValidationError

from joshua.analyze.heuristic import analyze_heuristic
from joshua.catalog import connect_lake
from joshua.collect.collector import collect_sample_items
from joshua.collect.snapshot import load_snapshot
from joshua.curate.lexicon import load_lexicon
from joshua.curate.pipeline import curate
from joshua.curate.reliability import reliability_frame
from joshua.errors import ConfigError
from joshua.reference import load_reference
from joshua.risk.assess import NEUTRAL_NEWS, escalation_inputs, news_move
from joshua.risk.clock import CalibratedClock, band_for, linear_seconds
from joshua.risk.escalation import EVENTS, Z_SCORES, EscalationResult, simulate_escalation, wilson_interval
from joshua.risk.score import base_score
from joshua.risk.uncertainty import score_uncertainty
from joshua.settings import PROJECT_ROOT, Settings
from joshua.sources import load_sources
from joshua.structural.analyzer import structural_level
from joshua.structural.history import load_record
from schemas.records import Category, ConfidenceLevel, FactorRating

SCENARIO_DIR = PROJECT_ROOT / "data" / "scenarios"
LATEST_FACTORS_SQL = """
SELECT f.category, f.name, f.value, f.confidence, a.run_id, a.assessed_at, a.score, a.clock_score
FROM risk_factors f
JOIN (SELECT assessment_id, run_id, assessed_at, score, clock_score FROM assessments ORDER BY assessed_at DESC, run_id DESC LIMIT 1) a
USING (assessment_id)
"""


class Scenario(BaseModel):
    """A what-if: shifts to category values and multipliers on event rates."""

    name: str
    description: str = ""
    factors: dict[Category, float] = Field(default_factory=dict)
    rates: dict[str, float] = Field(default_factory=dict)


def load_scenario(name_or_path: str) -> Scenario:
    """A bundled scenario by name, or a scenario TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        scenario = Scenario(
            **document.get("scenario", {}), factors=document.get("factors", {}), rates=document.get("rates", {})
        )
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise ConfigError(f"no scenario {name_or_path!r}; bundled scenarios: {known}, or give a .toml file") from None
    except (OSError, tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
        raise ConfigError(f"cannot use scenario {path}: {exc}") from exc
    unknown = sorted(set(scenario.rates) - set(EVENTS))
    if unknown or any(m < 0 for m in scenario.rates.values()):
        raise ConfigError(f"scenario {path}: rates must be non-negative multipliers of {', '.join(EVENTS)}")
    return scenario


def apply_scenario(ratings: list[FactorRating], scenario: Scenario) -> list[FactorRating]:
    """The ratings with the scenario's shifts added to each category, clamped to [0, 1]."""
    return [
        r.model_copy(update={"value": min(1.0, max(0.0, r.value + scenario.factors.get(r.category, 0.0)))})
        for r in ratings
    ]


@dataclass(frozen=True)
class StartingPoint:
    """What a scenario is applied to: factor ratings and the headline reading they gave."""

    ratings: list[FactorRating]
    label: str
    score: float  # the headline score (a daily run's: anchored on the structural level)
    clock_score: float | None  # the calibrated clock's score, None where no clock was fitted


def latest_start(settings: Settings) -> StartingPoint | None:
    """The latest committed assessment's ratings and reading, or None with no assessment."""
    with connect_lake(settings.paths.lake) as con:
        rows = con.execute(LATEST_FACTORS_SQL).fetchall()
    if not rows:
        return None
    ratings = [
        FactorRating(category=c, name=n, value=v, confidence=ConfidenceLevel(conf), reasoning="stored")
        for c, n, v, conf, *_ in rows
    ]
    run_id, assessed_at, score, clock_score = rows[0][4:]
    return StartingPoint(ratings, f"latest assessment (run {run_id}, {assessed_at:%Y-%m-%d %H:%M} UTC)", score, clock_score)


def sample_articles(settings: Settings) -> tuple[pl.DataFrame, datetime]:
    """The bundled sample's curated articles and its recording time, computed in-process."""
    snapshot = load_snapshot(settings.sample_snapshot)
    sources = load_sources(settings.sources_file)
    lexicon = load_lexicon(settings.lexicon_file)
    raw = collect_sample_items(snapshot, sources, lexicon.keywords, settings.collect)
    articles = curate(
        raw.lazy(),
        reliability_frame(sources, {}),
        lexicon,
        run_id="sample",
        as_of=snapshot.info.recorded_at,
        min_relevance=settings.curate.min_relevance,
        simhash_threshold=settings.curate.simhash_threshold,
    ).collect()
    return articles, snapshot.info.recorded_at


def sample_start(settings: Settings, clock: CalibratedClock | None) -> StartingPoint:
    """Heuristic ratings of the bundled sample snapshot, anchored on the structural level of its
    date as a first daily run is (no earlier news: the reference is the scale's middle). Nothing is written."""
    articles, recorded_at = sample_articles(settings)
    analysis = analyze_heuristic(
        articles.filter(pl.col("evidence")),
        settings.analyze.reference_volume,
        settings.analyze.evidence_per_factor,
        load_reference(recorded_at.date()),
    )
    risk = settings.risk
    level = structural_level(load_record(), recorded_at.date(), risk.weights, risk.mc_iterations)
    move = news_move(base_score(analysis.factors, risk.weights).score, NEUTRAL_NEWS, risk.news_bound)
    score = _unit(level.score + move)
    clock_score = None if clock is None else _unit(clock.mapping.score(level.values) + score - level.score)
    return StartingPoint(analysis.factors, "bundled sample snapshot (no assessment in the lake yet)", score, clock_score)


def _unit(x: float) -> float:
    return min(1.0, max(0.0, x))


@dataclass(frozen=True)
class SimulationSummary:
    """The distribution a scenario gives."""

    scenario: Scenario
    starting_point: str
    confidence: float
    score: float
    seconds: int  # under the headline's mapping (`mapping`)
    seconds_linear: int
    seconds_calibrated: int | None
    mapping: str  # "calibrated" or "linear": which one gave `seconds`
    band: str
    score_mean: float
    score_sd: float
    score_interval: tuple[float, float]
    seconds_interval: tuple[int, int]
    escalation: EscalationResult
    p_use_interval: tuple[float, float]


def run_simulation(
    start: StartingPoint,
    scenario: Scenario,
    settings: Settings,
    iterations: int,
    confidence: float,
    seed: int = 0,
    on_day: Callable[[int], None] | None = None,
    clock: CalibratedClock | None = None,
) -> SimulationSummary:
    """Apply a scenario and run the uncertainty and escalation simulations with `iterations` draws;
    the seconds come from the headline's mapping (module docstring)."""
    risk = settings.risk
    shifted = apply_scenario(start.ratings, scenario)
    base = base_score(shifted, risk.weights)
    offset = start.score - base_score(start.ratings, risk.weights).score
    uncertainty = score_uncertainty(shifted, base, iterations, seed)
    tail = (1 - confidence) / 2 * 100
    score = _unit(base.score + offset)
    low, high = (_unit(float(v) + offset) for v in np.percentile(uncertainty.draws, [tail, 100 - tail]))
    low, high = min(low, score), max(high, score)
    inputs = escalation_inputs(score, shifted, scenario.rates)
    escalation = simulate_escalation(inputs, runs=iterations, seed=seed, on_day=on_day)
    use_clock = clock is not None and start.clock_score is not None and clock.use_for(risk.mapping)

    def calibrated(value: float) -> int | None:
        if clock is None or start.clock_score is None:
            return None
        return clock.mapping.seconds(_unit(start.clock_score + value - start.score))

    def headline(value: float) -> int:
        seconds = calibrated(value) if use_clock else None
        return linear_seconds(value) if seconds is None else seconds

    seconds = headline(score)
    return SimulationSummary(
        scenario=scenario,
        starting_point=start.label,
        confidence=confidence,
        score=score,
        seconds=seconds,
        seconds_linear=linear_seconds(score),
        seconds_calibrated=calibrated(score),
        mapping="calibrated" if use_clock else "linear",
        band=band_for(seconds, risk.bands),
        score_mean=uncertainty.mean + offset,
        score_sd=uncertainty.sd,
        score_interval=(low, high),
        seconds_interval=(headline(high), headline(low)),
        escalation=escalation,
        p_use_interval=wilson_interval(escalation.uses, escalation.runs, Z_SCORES[confidence]),
    )
