"""The curate stage's I/O edge: staged raw items in, validated staged articles out."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from pydantic import BaseModel

from joshua.curate.lexicon import load_lexicon
from joshua.curate.pipeline import curate
from joshua.curate.validate import validate_articles_isolated
from joshua.lake import table_path, write_parquet_atomic
from joshua.run import RunContext
from schemas.records import SourceOutcome


class CurateResult(BaseModel):
    """Where a run's articles are and how many went in and out."""

    path: str
    raw_items: int
    articles: int
    duplicates: int

    @property
    def items_in(self) -> int:
        return self.raw_items

    @property
    def items_out(self) -> int:
        return self.articles


def curate_run(run: RunContext, outcomes: Sequence[SourceOutcome]) -> CurateResult:
    """Curate the raw items that a run's successful sources staged."""
    paths = [outcome.path for outcome in outcomes if outcome.status == "ok" and outcome.path]
    raw = pl.scan_parquet(paths)
    reliability = pl.LazyFrame(
        {"source_id": [s.id for s in run.sources], "reliability": [s.reliability for s in run.sources]}
    )
    articles = curate(
        raw,
        reliability,
        load_lexicon(run.settings.lexicon_file),
        run_id=run.run_id,
        as_of=run.as_of,
        min_relevance=run.settings.curate.min_relevance,
    ).collect()
    path = write_parquet_atomic(articles, table_path(run.staging_dir, "articles", run.run_id))
    validate_articles_isolated(path, run.as_of)
    return CurateResult(
        path=str(path),
        raw_items=sum(outcome.items for outcome in outcomes),
        articles=articles.height,
        duplicates=articles["duplicate_of"].is_not_null().sum(),
    )
