"""Risk-engine speed, in the performance guide's benchmark groups (`make bench`).

Anchors from the guide (compiled Rust): weighted_score/10 in 12.5 µs, 10k Monte Carlo iterations in
45.7 ms. Targets here: weighted score of 500 factors under 1 ms, 10k uncertainty iterations under
5 ms and 50k under 25 ms, escalation 10k runs × 365 days under 200 ms.
"""

import numpy as np
import pytest

from joshua.risk.bayes import factor_correlations, shrink
from joshua.risk.escalation import EscalationInputs, simulate_escalation
from joshua.risk.score import base_score
from joshua.risk.uncertainty import score_uncertainty
from joshua.settings import RiskSettings
from schemas.records import Category, ConfidenceLevel, FactorRating

WEIGHTS = RiskSettings().weights
CATEGORIES = list(Category)
LEVELS = list(ConfidenceLevel)


def factors(n: int) -> list[FactorRating]:
    rng = np.random.default_rng(n)
    return [
        FactorRating(
            category=CATEGORIES[i % 8],
            name=f"factor_{i}",
            value=float(rng.uniform()),
            confidence=LEVELS[i % 5],
            reasoning="benchmark",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [10, 50, 100, 500])
def test_weighted_score(benchmark, n):
    benchmark.group = "weighted_score"
    ratings = factors(n)
    result = benchmark(base_score, ratings, WEIGHTS)
    assert 0 <= result.score <= 1


def test_bayesian_adjustment(benchmark):
    """Shrink the score and 50 factors toward five years of daily history; correlate the factors."""
    benchmark.group = "bayesian_adjustment"
    rng = np.random.default_rng(1)
    days = 5 * 365
    history = {f"factor_{i}": rng.uniform(size=days).tolist() for i in range(50)}
    score_history = rng.uniform(size=days).tolist()

    def adjust():
        shrink(0.6, score_history)
        for name, values in history.items():
            shrink(0.5, values)
        return factor_correlations(history)

    benchmark(adjust)


@pytest.mark.parametrize("iterations", [1_000, 10_000, 50_000])
def test_monte_carlo(benchmark, iterations):
    benchmark.group = "monte_carlo"
    ratings = factors(50)
    base = base_score(ratings, WEIGHTS)
    result = benchmark(score_uncertainty, ratings, base, iterations, 7)
    assert result.ci_low <= base.score <= result.ci_high


def test_escalation(benchmark):
    benchmark.group = "escalation"
    inputs = EscalationInputs(tension=0.66, conflict_active=True, channels_degraded=True)
    result = benchmark(simulate_escalation, inputs, 10_000, 365, 3)
    assert result.runs == 10_000
