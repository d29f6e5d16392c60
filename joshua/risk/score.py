"""The base weighted score (spec §1.4), factor contributions, weight sensitivity (§1.5) and the
run's overall confidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from joshua.risk.bayes import shrink
from schemas.records import Category, FactorRating, ScoredFactor

SENSITIVITY_DELTAS = (-0.2, -0.1, 0.1, 0.2)


@dataclass(frozen=True)
class BaseScore:
    """The weighted score and how each category and factor entered it."""

    score: float
    category_scores: dict[Category, float]
    category_confidence: dict[Category, float]
    weights: dict[Category, float]
    coefficients: np.ndarray  # per rating, in input order: score = coefficients · values


def base_score(ratings: Sequence[FactorRating], weights: Mapping[Category, float]) -> BaseScore:
    """base = Σ_c W_c·S_c·C_c / Σ_c W_c·C_c over categories with ratings (0 with none).

    S_c is the plain mean of a category's factor values (the spec gives no per-factor weights) and
    C_c the mean numeric confidence of its factors. Categories without ratings drop out of both
    sums, which re-normalises the weights over the categories present; a category missing from the
    weights weighs 0. The score is linear in the values: score = Σ_f a_f·v_f with
    a_f = W_c·C_c / (n_c·Σ W·C), which is what the Monte Carlo reuses.
    """
    by_category: dict[Category, list[FactorRating]] = defaultdict(list)
    for rating in ratings:
        by_category[rating.category].append(rating)
    scores = {c: sum(r.value for r in rs) / len(rs) for c, rs in by_category.items()}
    confidence = {c: sum(r.confidence.numeric for r in rs) / len(rs) for c, rs in by_category.items()}
    used = {c: weights.get(c, 0.0) for c in scores}
    denominator = sum(used[c] * confidence[c] for c in scores)
    coefficients = np.array(
        [
            used[r.category] * confidence[r.category] / (len(by_category[r.category]) * denominator)
            if denominator > 0
            else 0.0
            for r in ratings
        ]
    )
    score = float(coefficients @ np.array([r.value for r in ratings])) if ratings else 0.0
    return BaseScore(
        score=min(1.0, max(0.0, score)),
        category_scores=scores,
        category_confidence=confidence,
        weights=used,
        coefficients=coefficients,
    )


def scored_factors(
    ratings: Sequence[FactorRating], base: BaseScore, history: Mapping[str, Sequence[float]] | None = None
) -> list[ScoredFactor]:
    """Each rating with its category weight, its share of the score (a_f·v_f), its rank by that
    share, and its value shrunk toward its category's history (`history`: category → past values)."""
    history = history or {}
    contributions = [float(a * r.value) for a, r in zip(base.coefficients, ratings, strict=True)]
    order = sorted(range(len(ratings)), key=lambda i: contributions[i], reverse=True)
    return [
        ScoredFactor(
            rating=ratings[i],
            weight=base.weights[ratings[i].category],
            contribution=contributions[i],
            rank=rank,
            adjusted_value=shrink(ratings[i].value, history.get(ratings[i].category.value, [])).adjusted,
        )
        for rank, i in enumerate(order, start=1)
    ]


def overall_confidence(base: BaseScore, sources_ok: int, sources_failed: int) -> float:
    """Weight-averaged category confidence, scaled by the share of attempted sources that succeeded."""
    total_weight = sum(base.weights.values())
    if total_weight == 0:
        return 0.0
    mean = sum(base.weights[c] * base.category_confidence[c] for c in base.weights) / total_weight
    attempted = sources_ok + sources_failed
    return mean * (sources_ok / attempted if attempted else 0.0)


@dataclass(frozen=True)
class Sensitivity:
    """How the score answers one category's weight being moved by ±10 % and ±20 %."""

    category: Category
    deltas: tuple[float, ...]
    score_deltas: tuple[float, ...]
    elasticities: tuple[float, ...]

    @property
    def max_elasticity(self) -> float:
        return max(abs(e) for e in self.elasticities)


def sensitivity(ratings: Sequence[FactorRating], weights: Mapping[Category, float]) -> list[Sensitivity]:
    """Spec §1.5: w' = clamp(w·(1+δ), 0, 1), all weights re-normalised, score recomputed.

    elasticity = (perturbed − base) / (base·δ); 0 when the base score is 0. Sorted most sensitive first.
    """
    base = base_score(ratings, weights).score
    results = []
    for category in sorted({r.category for r in ratings}, key=list(Category).index):
        score_deltas, elasticities = [], []
        for delta in SENSITIVITY_DELTAS:
            moved = dict(weights)
            moved[category] = min(1.0, max(0.0, weights.get(category, 0.0) * (1 + delta)))
            total = sum(moved.values())
            normalised = {c: w / total for c, w in moved.items()} if total > 0 else moved
            change = base_score(ratings, normalised).score - base
            score_deltas.append(change)
            elasticities.append(change / (base * delta) if base > 0 else 0.0)
        results.append(Sensitivity(category, SENSITIVITY_DELTAS, tuple(score_deltas), tuple(elasticities)))
    return sorted(results, key=lambda s: s.max_elasticity, reverse=True)
