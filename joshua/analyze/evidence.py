"""Evidence for Claude: the strongest articles per category, trimmed to fit a token budget."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from schemas.records import Category

CHARS_PER_TOKEN = 3.5  # a conservative estimate for English news prose (the API counts exactly)
RECENCY_HALF_LIFE_DAYS = 14.0


def estimate_tokens(text: str) -> int:
    """A conservative token estimate from the character count."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class EvidenceItem:
    """One article offered to Claude, under a short id that the reply must cite."""

    ref: str  # "A01", "A02", …: short, so citations cost few tokens
    article_id: str
    source_id: str
    published: str
    title: str
    snippet: str
    categories: tuple[str, ...]


def rank_evidence(articles: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The articles curation marked as evidence, scored relevance × quality × recency.

    recency = 0.5 ^ (age in days / 14); undated articles count as 30 days old.
    """
    age_days = ((pl.lit(as_of) - pl.col("published_at")).dt.total_seconds() / 86_400).fill_null(30.0).clip(0.0)
    return (
        articles.filter(pl.col("evidence"))
        .with_columns(strength=pl.col("relevance") * pl.col("quality") * (0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)))
        .sort(["strength", "article_id"], descending=[True, False])
    )


def select_evidence(
    articles: pl.DataFrame,
    as_of: datetime,
    *,
    per_category: int,
    snippet_chars: int,
    token_budget: int,
) -> list[EvidenceItem]:
    """At most `per_category` articles for each category, strongest first, within `token_budget`.

    Articles are taken round-robin across categories (the strongest of each, then the second of
    each, …) so that when the budget runs out every category still has its best evidence.
    """
    ranked = rank_evidence(articles, as_of)
    queues = {
        category.value: ranked.filter(pl.col("categories").list.contains(category.value)).head(per_category).rows(named=True)
        for category in Category
    }
    chosen: dict[str, dict] = {}
    for position in range(per_category):
        for category in Category:
            queue = queues[category.value]
            if position < len(queue):
                chosen.setdefault(queue[position]["article_id"], queue[position])
    items, spent = [], 0
    for number, row in enumerate(chosen.values(), start=1):
        item = EvidenceItem(
            ref=f"A{number:02d}",
            article_id=row["article_id"],
            source_id=row["source_id"],
            published=f"{row['published_at']:%Y-%m-%d}" if row["published_at"] else "undated",
            title=row["title"],
            snippet=_trim(row["text"], snippet_chars),
            categories=tuple(row["categories"]),
        )
        cost = estimate_tokens(render_item(item))
        if spent + cost > token_budget:
            break
        items.append(item)
        spent += cost
    return items


def _trim(text: str, limit: int) -> str:
    """Text cut at a word boundary near `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} …"


def _neutralise(text: str) -> str:
    """Article text cannot open or close the evidence block it sits in, nor start a line of its own."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text).replace("<", "‹").replace(">", "›")


def render_item(item: EvidenceItem) -> str:
    """One article as it appears inside the evidence block."""
    return (
        f'<article id="{item.ref}" source="{item.source_id}" published="{item.published}" '
        f'categories="{",".join(item.categories)}">\n'
        f"title: {_neutralise(item.title)}\ntext: {_neutralise(item.snippet)}\n</article>"
    )
