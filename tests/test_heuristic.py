import polars as pl
import pytest

from joshua.analyze import resolve_analyzer
from joshua.analyze.heuristic import PEACETIME, analyze_heuristic, category_value, confidence_for
from joshua.errors import ConfigError
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
