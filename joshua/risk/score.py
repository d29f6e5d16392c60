"""The base weighted score (spec §1.4), factor contributions, overall confidence and trend."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from schemas.records import Category, FactorRating, ScoredFactor, Trend

MIN_TREND_POINTS = 3
TREND_ALPHA = 0.05


@dataclass(frozen=True)
class BaseScore:
    """The weighted score and how each category entered it."""

    score: float
    category_scores: dict[Category, float]
    category_confidence: dict[Category, float]
    weights: dict[Category, float]


def base_score(ratings: Sequence[FactorRating], weights: Mapping[Category, float]) -> BaseScore:
    """base = Σ_c W_c·S_c·C_c / Σ_c W_c·C_c over categories with ratings (0 with none).

    S_c is the plain mean of a category's factor values (the spec gives no per-factor weights) and
    C_c the mean numeric confidence of its factors. Categories without ratings drop out of both
    sums, which re-normalises the weights over the categories present.
    """
    by_category: dict[Category, list[FactorRating]] = defaultdict(list)
    for rating in ratings:
        by_category[rating.category].append(rating)
    scores = {c: sum(r.value for r in rs) / len(rs) for c, rs in by_category.items()}
    confidence = {c: sum(r.confidence.numeric for r in rs) / len(rs) for c, rs in by_category.items()}
    denominator = sum(weights.get(c, 0.0) * confidence[c] for c in scores)
    numerator = sum(weights.get(c, 0.0) * scores[c] * confidence[c] for c in scores)
    return BaseScore(
        score=numerator / denominator if denominator > 0 else 0.0,
        category_scores=scores,
        category_confidence=confidence,
        weights={c: weights.get(c, 0.0) for c in scores},
    )


def scored_factors(ratings: Sequence[FactorRating], base: BaseScore) -> list[ScoredFactor]:
    """Each rating with its category weight, its share of the score and its rank by that share.

    A factor's contribution is W_c·C_c·v / (n_c · Σ W·C), so the contributions sum to the score.
    """
    denominator = sum(base.weights[c] * base.category_confidence[c] for c in base.category_scores)
    counts: dict[Category, int] = defaultdict(int)
    for rating in ratings:
        counts[rating.category] += 1

    def contribution(rating: FactorRating) -> float:
        if denominator == 0:
            return 0.0
        c = rating.category
        return base.weights[c] * base.category_confidence[c] * rating.value / (counts[c] * denominator)

    ordered = sorted(ratings, key=contribution, reverse=True)
    return [
        ScoredFactor(rating=r, weight=base.weights[r.category], contribution=contribution(r), rank=rank)
        for rank, r in enumerate(ordered, start=1)
    ]


def overall_confidence(base: BaseScore, sources_ok: int, sources_failed: int) -> float:
    """Weight-averaged category confidence, scaled by the share of attempted sources that succeeded."""
    total_weight = sum(base.weights.values())
    if total_weight == 0:
        return 0.0
    mean = sum(base.weights[c] * base.category_confidence[c] for c in base.weights) / total_weight
    attempted = sources_ok + sources_failed
    return mean * (sources_ok / attempted if attempted else 0.0)


def trend_of(seconds_history: Sequence[float]) -> Trend:
    """Direction of a chronological seconds series: Mann–Kendall (Kendall's τ-b, tie-corrected).

    `rising` means toward midnight (seconds falling); fewer than three points are `insufficient`.
    """
    if len(seconds_history) < MIN_TREND_POINTS:
        return "insufficient"
    if len(set(seconds_history)) == 1:
        return "stable"
    tau, p_value = stats.kendalltau(range(len(seconds_history)), seconds_history)
    if p_value >= TREND_ALPHA:
        return "stable"
    return "rising" if tau < 0 else "falling"
