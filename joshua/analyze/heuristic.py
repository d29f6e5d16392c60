"""The offline heuristic analyzer: deterministic, explainable factor ratings from curated articles.

For each category c, over its non-duplicate articles a with quality q_a and escalation share e_a:

    value_c = 0.25 + 0.5 · ē_c + 0.25 · n_c / max(n_max, reference_volume)

where ē_c = Σ q_a·e_a / Σ q_a is the quality-weighted escalation share, n_c the number of articles
and n_max that of the most-reported category (the last term is the category's salience). With no
evidence a category sits at the spec's 0.25 "normal peacetime" anchor; alarming, abundant reporting
moves it toward 1.0. Confidence grows with the quality mass Σ q_a and with the number of distinct
sources, and never exceeds High: keyword signals do not justify VeryHigh. Evidence ids are the
category's strongest articles (quality × escalation × relevance).

With reference data (`joshua.reference.ReferenceSignals`: SIPRI warhead estimates and treaty
status), the two categories it speaks to blend in its pressure p_c (formulas in joshua/reference.py):

    value_c = (1 − REFERENCE_WEIGHT) · news_value_c + REFERENCE_WEIGHT · p_c

for c in {nuclear_arsenal (arsenal_pressure), communication_arms_control (arms_control_pressure)},
with REFERENCE_WEIGHT = 0.3: the reference figures change once a year or on a treaty event, so they
set a structural level that the week's reporting moves around rather than replace it. The blend also
applies when no article addresses the category (news value at the peacetime anchor); confidence
still comes from the articles alone. The reasoning names the reference facts and their sources.
"""

from __future__ import annotations

import polars as pl

from joshua.reference import ReferenceSignals
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

PEACETIME = 0.25
ESCALATION_SPAN = 0.5
VOLUME_SPAN = 0.25
FACTOR_NAME = "reporting_signal"
REFERENCE_WEIGHT = 0.3
# How many reference facts a rating's reasoning names (the most general first).
REFERENCE_FACTS_IN_REASONING = {Category.NUCLEAR_ARSENAL: 2, Category.COMMUNICATION_ARMS_CONTROL: 1}

# (level, minimum quality mass, minimum distinct sources), strictest first.
CONFIDENCE_RULES = (
    (ConfidenceLevel.HIGH, 6.0, 3),
    (ConfidenceLevel.MODERATE, 3.0, 2),
    (ConfidenceLevel.LOW, 1.0, 1),
)


def confidence_for(quality_mass: float, sources: int) -> ConfidenceLevel:
    """Confidence of a category rating from its evidence mass and source diversity."""
    for level, min_mass, min_sources in CONFIDENCE_RULES:
        if quality_mass >= min_mass and sources >= min_sources:
            return level
    return ConfidenceLevel.VERY_LOW


def category_value(mean_escalation: float, articles: int, most_articles: int, reference_volume: int) -> float:
    """The heuristic value of a category (formula in the module docstring)."""
    salience = articles / max(most_articles, reference_volume)
    return PEACETIME + ESCALATION_SPAN * mean_escalation + VOLUME_SPAN * salience


def blended(news_value: float, pressure: float, weight: float = REFERENCE_WEIGHT) -> float:
    """A news-based value moved toward the reference data's pressure (formula in the module docstring)."""
    return (1 - weight) * news_value + weight * pressure


def with_reference(rating: FactorRating, reference: ReferenceSignals | None) -> FactorRating:
    """A rating with the reference pressure of its category blended in and its facts named."""
    pressure = reference.pressure_for(rating.category) if reference else None
    if pressure is None:
        return rating
    facts = [f"{fact.text} ({fact.source})" for fact in reference.facts_for(rating.category)[: REFERENCE_FACTS_IN_REASONING.get(rating.category, 1)]]
    note = (
        f" Blended at weight {REFERENCE_WEIGHT:.2f} with the reference-data pressure {pressure:.2f} "
        f"(news value {rating.value:.2f})" + (": " + "; ".join(facts) if facts else "") + "."
    )
    return rating.model_copy(update={"value": round(blended(rating.value, pressure), 4), "reasoning": rating.reasoning + note})


def category_evidence(articles: pl.DataFrame) -> pl.DataFrame:
    """Per category: article count, quality mass, weighted escalation, sources, ranked evidence ids."""
    strength = pl.col("quality") * pl.col("escalation") * pl.col("relevance")
    return (
        articles.filter(pl.col("duplicate_of").is_null())
        .explode("categories")
        .rename({"categories": "category"})
        .sort([strength, pl.col("article_id")], descending=[True, False])
        .group_by("category", maintain_order=True)
        .agg(
            articles=pl.len(),
            quality_mass=pl.col("quality").sum(),
            mean_escalation=(pl.col("quality") * pl.col("escalation")).sum() / pl.col("quality").sum(),
            sources=pl.col("source_id").n_unique(),
            evidence=pl.col("article_id"),
        )
    )


def rate_categories(
    articles: pl.DataFrame, reference_volume: int, evidence_per_factor: int, reference: ReferenceSignals | None = None
) -> list[FactorRating]:
    """One factor rating per category, in the fixed category order, with reference data blended in."""
    rows = {row["category"]: row for row in category_evidence(articles).iter_rows(named=True)}
    most_articles = max((row["articles"] for row in rows.values()), default=0)
    ratings = []
    for category in Category:
        row = rows.get(category.value)
        if row is None:
            ratings.append(
                FactorRating(
                    category=category,
                    name=FACTOR_NAME,
                    value=PEACETIME,
                    confidence=ConfidenceLevel.VERY_LOW,
                    reasoning="No curated article addresses this category; rated at the peacetime anchor.",
                )
            )
            ratings[-1] = with_reference(ratings[-1], reference)
            continue
        ratings.append(
            FactorRating(
                category=category,
                name=FACTOR_NAME,
                value=round(
                    category_value(row["mean_escalation"], row["articles"], most_articles, reference_volume), 4
                ),
                confidence=confidence_for(row["quality_mass"], row["sources"]),
                evidence=row["evidence"][:evidence_per_factor],
                reasoning=(
                    f"{row['articles']} articles from {row['sources']} sources (quality mass "
                    f"{row['quality_mass']:.1f}); quality-weighted escalation share "
                    f"{row['mean_escalation']:.2f} (0.5 is neutral language)."
                ),
            )
        )
        ratings[-1] = with_reference(ratings[-1], reference)
    return ratings


def summarize(ratings: list[FactorRating], articles: int, sources: int, reference: ReferenceSignals | None = None) -> str:
    """A plain account of what the heuristic read and which categories stand out."""
    ordered = sorted(ratings, key=lambda rating: rating.value, reverse=True)
    top = ", ".join(f"{r.category.value.replace('_', ' ')} ({r.value:.2f})" for r in ordered[:3])
    low = ordered[-1]
    summary = (
        f"Offline heuristic reading of {articles} curated articles from {sources} sources. "
        f"Highest-rated categories: {top}. Calmest: {low.category.value.replace('_', ' ')} "
        f"({low.value:.2f}). Ratings come from keyword signals, not from an analyst's judgement."
    )
    blended_in = [c.value.replace("_", " ") for c in Category if reference and reference.pressure_for(c) is not None]
    if blended_in:
        summary += f" The {' and '.join(blended_in)} ratings also weigh curated reference data (SIPRI estimates, treaty status)."
    return summary


def analyze_heuristic(
    articles: pl.DataFrame, reference_volume: int, evidence_per_factor: int, reference: ReferenceSignals | None = None
) -> Analysis:
    """Rate the eight categories from an articles table (and, when given, the reference data)."""
    ratings = rate_categories(articles, reference_volume, evidence_per_factor, reference)
    primary = articles.filter(pl.col("duplicate_of").is_null())
    return Analysis(
        analyzer="heuristic",
        factors=ratings,
        executive_summary=summarize(ratings, primary.height, primary["source_id"].n_unique(), reference),
        articles_considered=primary.height,
    )
