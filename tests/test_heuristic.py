from datetime import date

import polars as pl
import pytest

from joshua.analyze import resolve_analyzer
from joshua.analyze.heuristic import (
    PEACETIME,
    REFERENCE_WEIGHT,
    analyze_heuristic,
    blended,
    category_value,
    confidence_for,
)
from joshua.errors import ConfigError
from joshua.reference import ReferenceFact, ReferenceSignals, load_reference
from schemas.records import Category, ConfidenceLevel


def articles(rows: list[tuple[str, str, list[str], float, float]]) -> pl.DataFrame:
    """Rows of (article_id, source_id, categories, quality, escalation)."""
    return pl.DataFrame(
        {
            "article_id": [r[0] for r in rows],
            "source_id": [r[1] for r in rows],
            "categories": [r[2] for r in rows],
            "quality": [r[3] for r in rows],
            "escalation": [r[4] for r in rows],
            "relevance": [1.0] * len(rows),
            "duplicate_of": pl.Series([None] * len(rows), dtype=pl.String),
        }
    )


@pytest.mark.parametrize(
    ("mass", "sources", "level"),
    [
        (0.5, 1, ConfidenceLevel.VERY_LOW),
        (1.0, 1, ConfidenceLevel.LOW),
        (3.0, 1, ConfidenceLevel.LOW),
        (3.0, 2, ConfidenceLevel.MODERATE),
        (6.0, 3, ConfidenceLevel.HIGH),
        (100.0, 20, ConfidenceLevel.HIGH),
    ],
)
def test_confidence_rules(mass, sources, level):
    assert confidence_for(mass, sources) == level


def test_category_value_formula():
    assert category_value(0.0, 0, 0, 12) == PEACETIME
    assert category_value(1.0, 12, 12, 12) == 1.0
    assert category_value(0.5, 6, 24, 12) == pytest.approx(0.25 + 0.25 + 0.25 * 6 / 24)


def test_heuristic_rates_every_category_with_cited_evidence():
    frame = articles(
        [
            ("a1", "s1", ["regional_conflict"], 0.8, 0.9),
            ("a2", "s2", ["regional_conflict", "economic"], 0.6, 0.7),
            ("a3", "s1", ["economic"], 0.9, 0.2),
        ]
    )
    analysis = analyze_heuristic(frame, reference_volume=2, evidence_per_factor=5)
    ratings = {r.category: r for r in analysis.factors}
    assert set(ratings) == set(Category)
    conflict = ratings[Category.REGIONAL_CONFLICT]
    assert conflict.evidence == ["a1", "a2"]  # strongest first
    assert conflict.value == pytest.approx(0.25 + 0.5 * (0.8 * 0.9 + 0.6 * 0.7) / 1.4 + 0.25, abs=1e-4)
    assert ratings[Category.ECONOMIC].value < conflict.value
    silent = ratings[Category.EMERGING_TECHNOLOGY]
    assert silent.value == PEACETIME and silent.confidence == ConfidenceLevel.VERY_LOW and silent.evidence == []
    assert analysis.articles_considered == 3
    assert analysis == analyze_heuristic(frame, reference_volume=2, evidence_per_factor=5)  # deterministic


def test_duplicates_are_not_evidence():
    frame = articles([("a1", "s1", ["economic"], 0.8, 0.9), ("a2", "s2", ["economic"], 0.8, 0.9)])
    frame = frame.with_columns(duplicate_of=pl.Series([None, "a1"], dtype=pl.String))
    rating = next(r for r in analyze_heuristic(frame, 12, 5).factors if r.category == Category.ECONOMIC)
    assert rating.evidence == ["a1"]


def test_resolve_analyzer():
    assert resolve_analyzer("auto", has_api_key=False) == "heuristic"
    assert resolve_analyzer("auto", has_api_key=True) == "claude"
    assert resolve_analyzer("heuristic", has_api_key=True) == "heuristic"
    assert resolve_analyzer("claude", has_api_key=True) == "claude"
    with pytest.raises(ConfigError, match="needs ANTHROPIC_API_KEY"):
        resolve_analyzer("claude", has_api_key=False)


REFERENCE = ReferenceSignals(
    as_of=date(2026, 3, 1),
    arsenal_pressure=0.8,
    arms_control_pressure=0.9,
    facts=[
        ReferenceFact(
            category=Category.NUCLEAR_ARSENAL,
            text="Global inventory 1,200 warheads in January 2025",
            source="Yearbook 2025",
            source_date=date(2025, 6, 16),
        ),
        ReferenceFact(
            category=Category.COMMUNICATION_ARMS_CONTROL,
            text="2 of 3 key arms-control treaties not in force",
            source="Treaty table",
            source_date=date(2026, 2, 6),
        ),
    ],
)


def test_blend_formula():
    assert REFERENCE_WEIGHT == 0.3
    assert blended(0.5, 0.9) == pytest.approx(0.7 * 0.5 + 0.3 * 0.9)
    assert blended(0.4, 0.4) == pytest.approx(0.4)


def test_reference_pressures_blend_into_arsenal_and_arms_control_only():
    frame = articles([("a1", "s1", ["nuclear_arsenal"], 0.8, 0.6), ("a2", "s2", ["economic"], 0.9, 0.2)])
    plain = {r.category: r for r in analyze_heuristic(frame, 2, 5).factors}
    analysis = analyze_heuristic(frame, 2, 5, reference=REFERENCE)
    rated = {r.category: r for r in analysis.factors}
    arsenal = rated[Category.NUCLEAR_ARSENAL]
    assert arsenal.value == pytest.approx(0.7 * plain[Category.NUCLEAR_ARSENAL].value + 0.3 * 0.8, abs=1e-4)
    assert arsenal.confidence == plain[Category.NUCLEAR_ARSENAL].confidence and arsenal.evidence == ["a1"]
    assert "Global inventory 1,200 warheads in January 2025 (Yearbook 2025)" in arsenal.reasoning
    assert "pressure 0.80" in arsenal.reasoning
    # no article on arms control: the news part sits at the peacetime anchor, the pressure still counts
    control = rated[Category.COMMUNICATION_ARMS_CONTROL]
    assert control.value == pytest.approx(0.7 * PEACETIME + 0.3 * 0.9, abs=1e-4)
    assert control.confidence == ConfidenceLevel.VERY_LOW and "(Treaty table)" in control.reasoning
    for category in set(Category) - {Category.NUCLEAR_ARSENAL, Category.COMMUNICATION_ARMS_CONTROL}:
        assert rated[category] == plain[category]
    assert "curated reference data" in analysis.executive_summary
    assert "curated reference data" not in analyze_heuristic(frame, 2, 5).executive_summary


def test_reference_without_a_pressure_changes_nothing():
    frame = articles([("a1", "s1", ["nuclear_arsenal"], 0.8, 0.6)])
    empty = ReferenceSignals(as_of=date(2019, 1, 1))
    assert analyze_heuristic(frame, 2, 5, reference=empty) == analyze_heuristic(frame, 2, 5)


def test_shipped_reference_data_feeds_the_heuristic():
    frame = articles([("a1", "s1", ["nuclear_arsenal"], 0.8, 0.6)])
    rated = {r.category: r for r in analyze_heuristic(frame, 2, 5, reference=load_reference(date(2026, 3, 1))).factors}
    assert "SIPRI Yearbook 2025" in rated[Category.NUCLEAR_ARSENAL].reasoning
    assert "New START" in rated[Category.COMMUNICATION_ARMS_CONTROL].reasoning
    assert rated[Category.COMMUNICATION_ARMS_CONTROL].value > PEACETIME
