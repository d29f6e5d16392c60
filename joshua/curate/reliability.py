"""Source reliability and health: the spec's dynamic reliability (§2.1) and the `sources` table.

current = base × (0.4·track_record + 0.3·verification_accuracy + 0.2·editorial_independence
                  + 0.1·methodology_transparency)

- track_record: the share of the source's earlier collections that succeeded (it delivered);
- verification_accuracy: the share of its earlier articles that another source corroborated
  (the spec's correct/total, with "correct" meaning independently carried);
- both are 0.5 with no history; editorial independence and methodology transparency are declared
  per source in `data/sources.toml`.

Each run appends one row per source to `sources` with running totals, so the next run reads its
history from one row per source instead of rescanning earlier articles.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from schemas.records import Source, SourceOutcome
from schemas.tables import SOURCES

NO_HISTORY = 0.5
RELIABILITY_WEIGHTS = (0.4, 0.3, 0.2, 0.1)


def share(part: int, whole: int) -> float:
    """part / whole, or 0.5 when there is nothing to judge by."""
    return part / whole if whole > 0 else NO_HISTORY


def current_reliability(source: Source, previous: dict | None) -> float:
    """A source's reliability for this run, from its declared qualities and its earlier runs."""
    previous = previous or {}
    track, verified, independence, transparency = RELIABILITY_WEIGHTS
    return source.reliability * (
        track * share(previous.get("successes") or 0, previous.get("attempts") or 0)
        + verified * share(previous.get("articles_corroborated") or 0, previous.get("articles_seen") or 0)
        + independence * source.editorial_independence
        + transparency * source.methodology_transparency
    )


def reliability_frame(sources: list[Source], previous: dict[str, dict]) -> pl.LazyFrame:
    """Each source's current reliability, as curation joins it."""
    return pl.LazyFrame(
        {
            "source_id": [source.id for source in sources],
            "reliability": [current_reliability(source, previous.get(source.id)) for source in sources],
        },
        schema={"source_id": pl.String, "reliability": pl.Float64},
    )


def source_rows(
    sources: list[Source],
    outcomes: list[SourceOutcome],
    previous: dict[str, dict],
    articles: pl.DataFrame,
    *,
    run_id: str,
    now: datetime,
) -> pl.DataFrame:
    """The `sources` rows a run leaves: health after this run and the running totals."""
    by_outcome = {outcome.source_id: outcome for outcome in outcomes}
    counts = {
        row["source_id"]: row
        for row in articles.group_by("source_id")
        .agg(seen=pl.len(), corroborated=(pl.col("corroboration") >= 2).sum())
        .iter_rows(named=True)
    }
    rows = []
    for source in sources:
        before = previous.get(source.id) or {}
        outcome = by_outcome.get(source.id)
        status = outcome.status if outcome else "skipped"
        attempted, ok = status != "skipped", status == "ok"
        failures = before.get("consecutive_failures") or 0
        rows.append(
            {
                "run_id": run_id,
                "source_id": source.id,
                "kind": source.kind,
                "url": str(source.url),
                "categories": [category.value for category in source.categories],
                "base_reliability": source.reliability,
                "current_reliability": current_reliability(source, before),
                "rate_limit_s": source.rate_limit_s,
                "cache_ttl_s": source.cache_ttl_s,
                "needs_credential": source.credential,
                "status": status,
                "error": outcome.error if outcome else None,
                "error_type": outcome.error_type if outcome else None,
                "consecutive_failures": 0 if ok else failures + 1 if attempted else failures,
                "last_success_at": now if ok else before.get("last_success_at"),
                "last_failure_at": now if status == "failed" else before.get("last_failure_at"),
                "attempts": (before.get("attempts") or 0) + attempted,
                "successes": (before.get("successes") or 0) + ok,
                "articles_seen": (before.get("articles_seen") or 0) + counts.get(source.id, {}).get("seen", 0),
                "articles_corroborated": (before.get("articles_corroborated") or 0)
                + counts.get(source.id, {}).get("corroborated", 0),
                "updated_at": now,
            }
        )
    return pl.DataFrame(rows, schema=SOURCES)
