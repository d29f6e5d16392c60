"""Escalation simulation (DESIGN decision 7b): a 365-day daily-hazard model of crises.

Each simulated year starts at rung 0 of an escalation ladder. Every day, each of the spec's five
event types occurs with the daily hazard

    p_k = 1 − exp(−rate_k · (1 + 5·tension) · m_k)

(spec §1.8 base rates and multipliers: m = 3 for military incidents while a regional conflict is
active, m = 2 for technical failures while communication channels are degraded, else 1), and an
occurring event climbs the ladder one rung with its escalation propensity e_k. The spec's
normalisation of the rates to sum to one is not reproduced: it would cancel the tension multiplier.

The escalation state feeds back: on rung L the tension is min(1, tension + 0.1·L), so crises make
further crises likelier. On any day without a climb the ladder steps down one rung with probability
1/30 (crises cool off within weeks). **Nuclear use is the rule "the ladder reaches rung 4"**: four
net escalations before de-escalation catches up. With daily hazards under 1 %, at most one
transition per day is simulated (two events on one day have probability below 10⁻⁴).

Tension is the assessment's score, a conflict is active when the regional-conflict factor is at
least 0.5 and channels are degraded when the communication/arms-control factor is. The
propensities and the decay were set so that at the sample snapshot's risk level the yearly
probability of use lands inside published expert estimates (0.35 %–1.1 %; see tests).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

EVENTS = ("military_incident", "nuclear_threat", "airspace_violation", "technical_failure", "diplomatic_crisis")
BASE_RATES = np.array([0.001, 0.0005, 0.0002, 0.0001, 0.0003])  # per day, spec §1.8
PROPENSITY = np.array([0.25, 0.5, 0.25, 0.4, 0.3])  # chance an event climbs one rung
TENSION_GAIN = 5.0
LEVEL_TENSION = 0.1  # tension added per rung climbed
CONFLICT_MULTIPLIER = 3.0
DEGRADED_MULTIPLIER = 2.0
DAILY_DECAY = 1 / 30
USE_RUNG = 4
HORIZON_DAYS = 365
Z_SCORES = {0.80: 1.2816, 0.90: 1.6449, 0.95: 1.9600, 0.99: 2.5758}


def wilson_interval(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion, clamped to [0, 1]; (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    # At 0 or n successes the bound is exactly 0 or 1; computing it would leave float dust.
    low = 0.0 if successes == 0 else max(0.0, centre - margin)
    high = 1.0 if successes == trials else min(1.0, centre + margin)
    return low, high


@dataclass(frozen=True)
class EscalationInputs:
    """What the simulation takes from an assessment (and a scenario)."""

    tension: float
    conflict_active: bool
    channels_degraded: bool
    rate_multipliers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EscalationResult:
    """P(nuclear use within the horizon) and how the simulated years unfolded."""

    runs: int
    days: int
    seed: int
    uses: int
    mean_days_to_use: float | None
    highest_rung: dict[int, float]  # share of runs whose highest rung was each value
    most_common_pathway: tuple[str, ...] | None  # the events that climbed rungs 1..4, for runs ending in use

    @property
    def p_use(self) -> float:
        return self.uses / self.runs if self.runs else 0.0

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson interval of P(use) at 0.80, 0.90, 0.95 or 0.99."""
        return wilson_interval(self.uses, self.runs, Z_SCORES[confidence])


def _climb_thresholds(inputs: EscalationInputs) -> np.ndarray:
    """Cumulative daily climb probabilities per rung and event type, shape (USE_RUNG, events)."""
    multipliers = np.array([inputs.rate_multipliers.get(name, 1.0) for name in EVENTS])
    if inputs.conflict_active:
        multipliers[EVENTS.index("military_incident")] *= CONFLICT_MULTIPLIER
    if inputs.channels_degraded:
        multipliers[EVENTS.index("technical_failure")] *= DEGRADED_MULTIPLIER
    rows = []
    for rung in range(USE_RUNG):
        tension = min(1.0, max(0.0, inputs.tension) + LEVEL_TENSION * rung)
        hazard = 1 - np.exp(-BASE_RATES * (1 + TENSION_GAIN * tension) * multipliers)
        rows.append(np.cumsum(hazard * PROPENSITY))
    return np.array(rows)


def simulate_escalation(
    inputs: EscalationInputs,
    runs: int = 10_000,
    days: int = HORIZON_DAYS,
    seed: int = 0,
    on_day: Callable[[int], None] | None = None,
) -> EscalationResult:
    """Simulate `runs` independent years, vectorized over runs (model in the module docstring).

    `on_day`, if given, is called with each simulated day's number (for a progress display).
    """
    rng = np.random.default_rng(seed)
    thresholds = _climb_thresholds(inputs)
    climb_total = thresholds[:, -1]
    rung = np.zeros(runs, dtype=np.int64)
    highest = np.zeros(runs, dtype=np.int64)
    used_on = np.full(runs, -1, dtype=np.int64)
    pathway = np.full((runs, USE_RUNG), -1, dtype=np.int64)
    live = np.ones(runs, dtype=bool)
    for day in range(days):
        draws = rng.random(runs)
        limit = climb_total[np.minimum(rung, USE_RUNG - 1)]
        climbs = live & (draws < limit)
        if climbs.any():
            idx = np.flatnonzero(climbs)
            event = (draws[idx, None] >= thresholds[rung[idx]]).sum(axis=1)
            pathway[idx, rung[idx]] = event
            rung[idx] += 1
            highest[idx] = np.maximum(highest[idx], rung[idx])
            reached = idx[rung[idx] >= USE_RUNG]
            used_on[reached] = day + 1
            live[reached] = False
        cools = live & ~climbs & (rung > 0) & (draws >= limit) & (draws < limit + DAILY_DECAY)
        rung[cools] -= 1
        if on_day is not None:
            on_day(day + 1)
    used = used_on > 0
    paths = Counter(tuple(EVENTS[e] for e in row) for row in pathway[used])
    return EscalationResult(
        runs=runs,
        days=days,
        seed=seed,
        uses=int(used.sum()),
        mean_days_to_use=float(used_on[used].mean()) if used.any() else None,
        highest_rung={r: float((highest == r).mean()) for r in range(USE_RUNG + 1)},
        most_common_pathway=paths.most_common(1)[0][0] if paths else None,
    )
