"""The curate stage's I/O edge: staged raw items and the lake's history in, validated articles out."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from pydantic import BaseModel

from joshua.catalog import connect_lake
from joshua.collect.collector import Collection
from joshua.curate.lexicon import Lexicon
from joshua.curate.pipeline import PRIOR_SCHEMA, curate
from joshua.curate.reliability import reliability_frame, source_rows
from joshua.curate.validate import validate_run
from joshua.lake import table_path, write_parquet_atomic
from joshua.run import RunContext
from joshua.settings import CurateSettings
from schemas.records import Source, StageCounts
from schemas.tables import RAW_ITEMS

SOURCE_STATE_SQL = "SELECT * FROM sources"
PRIOR_RUNS_SQL = "SELECT run_id FROM runs WHERE status = 'completed' AND started_at >= $since AND run_id <> $run_id"
# `run_id >= $first` is implied by the list, but as a constant DuckDB checks it against each file's and
# row group's statistics: a compacted year's articles (sorted by run id) are skipped but the look-back's.
PRIOR_SQL = """
SELECT DISTINCT ON (article_id) article_id, simhash FROM articles
WHERE duplicate_of IS NULL AND simhash IS NOT NULL AND run_id >= $first AND list_contains($runs, run_id)
"""


class CurateResult(BaseModel):
    """Where a run's staged articles are, how many went in and out, and what validation found."""

    path: str
    raw_items: int
    articles: int
    duplicates: int
    evidence: int
    validation: list[str]

    def metrics(self) -> StageCounts:
        return StageCounts(items_in=self.raw_items, items_out=self.articles)


def lake_history(run: RunContext, lookback_days: float) -> tuple[dict[str, dict], pl.DataFrame]:
    """Each source's latest state and the fingerprints earlier runs kept within the look-back."""
    with connect_lake(run.paths.lake, only=frozenset({"sources", "articles"})) as con:
        # Fetched as Python rows and NumPy arrays: DuckDB's Arrow path would load pyarrow (30 MB) for this.
        sources = con.sql(SOURCE_STATE_SQL)
        names = [column[0] for column in sources.description]
        rows = [dict(zip(names, row, strict=True)) for row in sources.fetchall()]
        state = {row["source_id"]: row for row in rows}
        since = run.started_at - timedelta(days=lookback_days)
        runs = [row[0] for row in con.execute(PRIOR_RUNS_SQL, {"since": since, "run_id": run.run_id}).fetchall()]
        prior = con.sql(PRIOR_SQL, params={"first": min(runs, default=""), "runs": runs}).fetchnumpy()
    return state, pl.DataFrame({name: prior[name] for name in PRIOR_SCHEMA}).cast(PRIOR_SCHEMA)


def curate_run(
    run: RunContext,
    collection: Collection,
    declared: list[Source],
    lexicon: Lexicon,
    settings: CurateSettings,
    max_text_chars: int,
) -> CurateResult:
    """Curate the raw items that a run's successful sources staged, and update the sources' state."""
    outcomes = collection.outcomes
    paths = [outcome.path for outcome in outcomes if outcome.status == "ok" and outcome.path]
    raw = pl.scan_parquet(paths, glob=False) if paths else pl.LazyFrame(schema=RAW_ITEMS)
    state, prior = lake_history(run, settings.lookback_days)
    articles = curate(
        raw,
        reliability_frame(declared, state),
        lexicon,
        run_id=run.run_id,
        as_of=run.as_of,
        min_relevance=settings.min_relevance,
        simhash_threshold=settings.simhash_threshold,
        prior=prior,
    ).collect()
    path = write_parquet_atomic(articles, table_path(run.paths.staging, "articles", run.run_id))
    sources = source_rows(declared, collection.everything, state, articles, run_id=run.run_id, now=run.started_at)
    write_parquet_atomic(sources, table_path(run.paths.staging, "sources", run.run_id))
    validation = validate_run(raw, articles, run.as_of, max_text_chars)
    return CurateResult(
        path=str(path),
        raw_items=sum(outcome.items for outcome in outcomes),
        articles=articles.height,
        duplicates=articles["duplicate_of"].is_not_null().sum(),
        evidence=articles["evidence"].sum(),
        validation=validation,
    )
