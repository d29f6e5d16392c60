"""What-if simulation: a scenario applied to the latest ratings, through the risk engine.

Scenarios are TOML files (`data/scenarios/<name>.toml`): `[factors]` shifts category values
(clamped to [0, 1]) and `[rates]` multiplies the escalation model's daily event rates.
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
from joshua.risk.assess import escalation_inputs
from joshua.risk.clock import band_for, seconds_to_midnight
from joshua.risk.escalation import EVENTS, Z_SCORES, EscalationResult, simulate_escalation, wilson_interval
from joshua.risk.score import base_score
from joshua.risk.uncertainty import score_uncertainty
from joshua.settings import PROJECT_ROOT, Settings
from joshua.sources import load_sources
from schemas.records import Category, ConfidenceLevel, FactorRating

SCENARIO_DIR = PROJECT_ROOT / "data" / "scenarios"
LATEST_FACTORS_SQL = """
SELECT f.category, f.name, f.value, f.confidence, a.run_id, a.assessed_at
FROM risk_factors f
JOIN (SELECT assessment_id, run_id, assessed_at FROM assessments ORDER BY assessed_at DESC LIMIT 1) a
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


def latest_ratings(settings: Settings) -> tuple[list[FactorRating], str] | None:
    """The factor ratings of the latest committed assessment and a label, or None with no assessment."""
    with connect_lake(settings.paths.lake) as con:
        rows = con.execute(LATEST_FACTORS_SQL).fetchall()
    if not rows:
        return None
    ratings = [
        FactorRating(category=c, name=n, value=v, confidence=ConfidenceLevel(conf), reasoning="stored")
        for c, n, v, conf, _, _ in rows
    ]
    return ratings, f"latest assessment (run {rows[0][4]}, {rows[0][5]:%Y-%m-%d %H:%M} UTC)"


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


def sample_ratings(settings: Settings) -> tuple[list[FactorRating], str]:
    """Heuristic ratings of the bundled sample snapshot (nothing is written)."""
    articles, recorded_at = sample_articles(settings)
    analysis = analyze_heuristic(
        articles.filter(pl.col("evidence")),
        settings.analyze.reference_volume,
        settings.analyze.evidence_per_factor,
        load_reference(recorded_at.date()),
    )
    return analysis.factors, "bundled sample snapshot (no assessment in the lake yet)"


@dataclass(frozen=True)
class SimulationSummary:
    """The distribution a scenario gives."""

    scenario: Scenario
    starting_point: str
    confidence: float
    score: float
    seconds: int
    band: str
    score_mean: float
    score_sd: float
    score_interval: tuple[float, float]
    seconds_interval: tuple[int, int]
    escalation: EscalationResult
    p_use_interval: tuple[float, float]


def run_simulation(
    ratings: list[FactorRating],
    starting_point: str,
    scenario: Scenario,
    settings: Settings,
    iterations: int,
    confidence: float,
    seed: int = 0,
    on_day: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Apply a scenario and run the uncertainty and escalation simulations with `iterations` draws."""
    risk = settings.risk
    shifted = apply_scenario(ratings, scenario)
    base = base_score(shifted, risk.weights)
    uncertainty = score_uncertainty(shifted, base, iterations, seed)
    tail = (1 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(uncertainty.draws, [tail, 100 - tail]))
    low, high = min(low, base.score), max(high, base.score)
    inputs = escalation_inputs(base.score, shifted, scenario.rates)
    escalation = simulate_escalation(inputs, runs=iterations, seed=seed, on_day=on_day)
    seconds = seconds_to_midnight(base.score, risk.mapping)
    return SimulationSummary(
        scenario=scenario,
        starting_point=starting_point,
        confidence=confidence,
        score=base.score,
        seconds=seconds,
        band=band_for(seconds, risk.bands),
        score_mean=uncertainty.mean,
        score_sd=uncertainty.sd,
        score_interval=(low, high),
        seconds_interval=(seconds_to_midnight(high, risk.mapping), seconds_to_midnight(low, risk.mapping)),
        escalation=escalation,
        p_use_interval=wilson_interval(escalation.uses, escalation.runs, Z_SCORES[confidence]),
    )
