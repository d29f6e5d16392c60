"""The store stage: stage assessment rows, publish a run into the lake, commit its `runs` row.

With an object-store data directory the run's reports and caches are published under it as well
(`publish_reports`, and the caches when the run commits), and `pull_caches` brings the caches into
the local working directory when a run opens, so a run on any host reuses what others fetched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from pydantic import BaseModel

from joshua import storage
from joshua.catalog import build_catalog, connect_lake
from joshua.curate.reliability import source_rows
from joshua.curate.stage import SOURCE_STATE_SQL
from joshua.errors import StorageError
from joshua.lake import (
    Location,
    commit_lock,
    conform,
    discard,
    has_files,
    publish,
    run_files,
    table_path,
    unpublish,
    write_parquet_atomic,
)
from joshua.notify import Delivery
from joshua.risk.assess import History
from joshua.run import RunContext
from joshua.search import update_index
from joshua.settings import RunPaths
from schemas.records import Analysis, Assessment, Source, SourceOutcome, StageCounts, StageMetrics
from schemas.tables import STAGES, TABLES

HISTORY_TABLES = frozenset({"assessments", "risk_factors"})
HISTORY_SQL = """
SELECT assessment_id, base_score, seconds_to_midnight, confidence_score, trend, band
FROM assessments
WHERE run_id <> $run_id
ORDER BY assessed_at, run_id  -- run ids sort by start time: ties (same as-of) keep run order
"""
# Factors of exactly the assessments the first query returned: a run committing between the two
# queries must not add factor rows for an assessment the history does not hold.
FACTOR_HISTORY_SQL = """
SELECT assessment_id, category, avg(value) AS value
FROM risk_factors
WHERE list_contains($assessment_ids, assessment_id)
GROUP BY ALL
"""


MONTH_SPEND_SQL = """
SELECT coalesce(sum(cost_usd), 0) FROM runs
WHERE started_at >= date_trunc('month', $now::TIMESTAMPTZ) AND run_id <> $run_id
"""


class StoreResult(BaseModel):
    """The files a run published into the lake."""

    staged: int
    published: list[Path | str]

    def path_of(self, table: str) -> Location:
        """The published file of a table (one per run for every table but raw_items and signals)."""
        return next(path for path in self.published if table in str(path).split("/")[-4:-2])

    def metrics(self) -> StageCounts:
        return StageCounts(items_in=self.staged, items_out=len(self.published))


def month_to_date_spend(run: RunContext) -> float:
    """Dollars spent on Claude this calendar month by earlier runs, failed ones included."""
    with connect_lake(run.paths.lake, only=frozenset()) as con:
        return float(con.execute(MONTH_SPEND_SQL, {"now": run.started_at, "run_id": run.run_id}).fetchone()[0])


def load_history(run: RunContext) -> History:
    """The earlier committed assessments (this run's id excluded), oldest first."""
    with connect_lake(run.paths.lake, only=HISTORY_TABLES) as con:
        rows = con.execute(HISTORY_SQL, {"run_id": run.run_id}).fetchall()
        factor_rows = con.execute(FACTOR_HISTORY_SQL, {"assessment_ids": [row[0] for row in rows]}).fetchall()
    order = {row[0]: position for position, row in enumerate(rows)}
    factor_values: dict[str, list[float]] = {}
    for assessment, category, value in factor_rows:
        series = factor_values.setdefault(category, [math.nan] * len(rows))
        series[order[assessment]] = value
    return History(
        base_scores=[row[1] for row in rows],
        seconds=[row[2] for row in rows],
        confidence_scores=[row[3] for row in rows],
        trends=[row[4] for row in rows],
        bands=[row[5] for row in rows],
        factor_values=factor_values,
    )


def stage_assessment(run: RunContext, assessment: Assessment) -> None:
    """Write the assessment, its factors and its alerts into the run's staging area."""
    stage_assessment_rows(run.paths.staging, assessment)


def stage_assessment_rows(staging_dir: Path, assessment: Assessment) -> None:
    """Write an assessment's rows (assessments, risk_factors, alerts) under a staging directory."""
    run_id = assessment.run_id
    row = assessment.model_dump(mode="json", exclude={"factors", "alerts", "assessed_at", "as_of"})
    row |= {"assessed_at": assessment.assessed_at, "as_of": assessment.as_of}
    write_parquet_atomic(conform(pl.DataFrame([row]), "assessments"), table_path(staging_dir, "assessments", run_id))
    factors = pl.DataFrame(
        [
            {
                "assessment_id": assessment.assessment_id,
                "run_id": run_id,
                "category": factor.rating.category.value,
                "name": factor.rating.name,
                "value": factor.rating.value,
                "adjusted_value": factor.adjusted_value,
                "confidence": factor.rating.confidence.value,
                "weight": factor.weight,
                "contribution": factor.contribution,
                "rank": factor.rank,
                "evidence": factor.rating.evidence,
                "reasoning": factor.rating.reasoning,
            }
            for factor in assessment.factors
        ]
    )
    write_parquet_atomic(conform(factors, "risk_factors"), table_path(staging_dir, "risk_factors", run_id))
    alerts = pl.DataFrame(
        [
            alert.model_dump() | {"assessment_id": assessment.assessment_id, "run_id": run_id, "channels": []}
            for alert in assessment.alerts
        ],
        schema=TABLES["alerts"],
    )
    write_parquet_atomic(conform(alerts, "alerts"), table_path(staging_dir, "alerts", run_id))


def publish_run(run: RunContext) -> StoreResult:
    """Move the run's staged files into the lake; returns where they landed."""
    staged = len(list(run_files(run.paths.staging, run.run_id)))
    return StoreResult(staged=staged, published=publish(run.paths.staging, run.paths.lake, run.run_id))


def run_record(
    run: RunContext,
    *,
    status: str,
    ended_at: datetime,
    analyzer: str,
    data_label: str,
    stages: Sequence[StageMetrics],
    outcomes: Sequence[SourceOutcome],
    errors: Sequence[str],
    analysis: Analysis | None = None,
) -> pl.DataFrame:
    """The run's one `runs` row; `outcomes` include skipped sources; `analysis` carries the Claude
    accounting when there was one."""
    a = analysis or Analysis(analyzer="heuristic", factors=[], executive_summary="", articles_considered=0)
    by_stage = {metrics.stage: metrics for metrics in stages}
    row = {
        "run_id": run.run_id,
        "flow": run.flow,
        "started_at": run.started_at,
        "ended_at": ended_at,
        "status": status,
        "analyzer": a.analyzer if analysis else analyzer,
        "model": a.model,
        "data_label": data_label,
        "sources_ok": sum(o.status == "ok" for o in outcomes),
        "sources_failed": sum(o.status == "failed" for o in outcomes),
        "sources_skipped": sum(o.status == "skipped" for o in outcomes),
        "sources": [o.model_dump(exclude={"path"}) for o in outcomes],
        "requests": sum(o.requests for o in outcomes),
        "not_modified": sum(o.not_modified for o in outcomes),
        "bytes": sum(o.bytes for o in outcomes),
        "claude_calls": a.calls,
        "tokens_in": a.tokens_in,
        "tokens_out": a.tokens_out,
        "cache_read_tokens": a.cache_read_tokens,
        "cache_write_tokens": a.cache_write_tokens,
        "claude_cache_hits": a.cache_hits,
        "cache_hits": sum(o.cache_hits for o in outcomes),
        "cache_hit_rate": sum(o.cache_hits for o in outcomes) / max(1, sum(o.fetches for o in outcomes)),
        "cost_usd": a.cost_usd,
        "fallback_reason": a.fallback_reason,
        "errors": [*errors, *a.flags],
    }
    for stage in STAGES:
        metrics = by_stage.get(stage)
        row[f"{stage}_seconds"] = metrics.seconds if metrics else None
        row[f"{stage}_items_in"] = metrics.items_in if metrics else None
        row[f"{stage}_items_out"] = metrics.items_out if metrics else None
    return pl.DataFrame([row], schema=TABLES["runs"])


def commit_run(run: RunContext, record: pl.DataFrame, declared: Sequence[Source] = ()) -> str | None:
    """Write the run's `sources` rows (one per `declared` source) and its `runs` row (the commit
    point readers wait for), then refresh the catalog (and push an object store's caches).

    What follows the `runs` row cannot undo the commit: should the refresh fail (the object store
    unreachable for a moment), the run stays committed and the problem is returned for the log;
    the next commit or `joshua db rebuild` refreshes the catalog.

    Commits take turns, and each recomputes the sources' running totals from the latest committed
    state: two runs that curated at once each read the same state, and without this the later
    commit would overwrite the other's counts (a lost update in dynamic reliability). A failed run
    writes its rows too, so a full outage counts against its sources.
    """
    with commit_lock(run.paths.lake):
        if declared:
            write_source_rows(run, declared, [SourceOutcome(**outcome) for outcome in record["sources"][0]])
        write_parquet_atomic(record, table_path(run.paths.lake, "runs", run.run_id))
    try:
        build_catalog(run.paths.lake, run.paths.catalog)
        if run.paths.search_index.is_file():  # an index someone built is kept current, a run's articles at a time
            update_index(run.paths.lake, run.paths.search_index, rebuild=False)
        push_caches(run.paths, since=run.started_at.timestamp())
    except (duckdb.Error, OSError, StorageError) as exc:
        return f"run {run.run_id} committed, but refreshing the catalog, search index or caches failed: {type(exc).__name__}: {exc}"
    return None


def pull_caches(paths: RunPaths, claude_ttl_hours: float, now: float) -> int:
    """Download an object-store data directory's caches that are newer than the local copies (HTTP
    entries of any age: their validators still save a body; Claude replies still within their TTL)."""
    if not paths.remote:
        return 0
    http = storage.pull_tree(f"{paths.remote}/cache/http", paths.cache / "http")
    claude = storage.pull_tree(f"{paths.remote}/cache/claude", paths.cache / "claude", newer_than=now - claude_ttl_hours * 3600)
    return http + claude


def push_caches(paths: RunPaths, since: float) -> int:
    """Upload the cache entries written since `since` to an object-store data directory."""
    return storage.push_tree(paths.cache, f"{paths.remote}/cache", since) if paths.remote else 0


def publish_reports(paths: RunPaths, since: float) -> int:
    """Upload the report files written since `since` to an object-store data directory."""
    return storage.push_tree(paths.reports, f"{paths.remote}/reports", since) if paths.remote else 0


def write_source_rows(run: RunContext, declared: Sequence[Source], outcomes: Sequence[SourceOutcome]) -> None:
    """The run's `sources` rows, on top of the latest committed state of each source."""
    with connect_lake(run.paths.lake, only=frozenset({"sources"})) as con:
        state = {row["source_id"]: row for row in pl.from_arrow(con.sql(SOURCE_STATE_SQL).to_arrow_table()).iter_rows(named=True)}
    articles_path = table_path(run.paths.lake, "articles", run.run_id)
    published = storage.exists(articles_path) if isinstance(articles_path, str) else articles_path.is_file()
    articles = (
        pl.read_parquet(articles_path, columns=["source_id", "corroboration"], glob=False)
        if published
        else pl.DataFrame(schema={"source_id": pl.String, "corroboration": pl.Int32})
    )
    # Stamped with the commit time: the latest row of a source (the `sources` view) is the last committed.
    rows = source_rows(list(declared), list(outcomes), state, articles, run_id=run.run_id, now=datetime.now(UTC))
    write_parquet_atomic(rows, table_path(run.paths.lake, "sources", run.run_id))


def abandon_run(run: RunContext, record: pl.DataFrame, declared: Sequence[Source] = ()) -> str | None:
    """Drop a failed run's staged and published files, then commit its `sources` and `runs` rows with
    status `failed`."""
    discard(run.paths.staging)
    unpublish(run.paths.lake, run.run_id)
    return commit_run(run, record, declared)


def record_deliveries(run: RunContext, deliveries: Sequence[Delivery], sent_at: datetime) -> None:
    """Append a run's notification deliveries to the lake's log.

    The catalog's views glob the lake, so the new file shows at once; only the table's first file
    needs a rebuild (its view was an empty relation until then).
    """
    if not deliveries:
        return
    frame = pl.DataFrame(
        [{"run_id": run.run_id, "event_id": d.event_id, "sent_at": sent_at, **d.__dict__} for d in deliveries],
        schema=TABLES["notifications"],
    )
    first = not has_files(run.paths.lake, "notifications")
    with commit_lock(run.paths.lake):  # a compaction removes the day directories it empties
        write_parquet_atomic(frame, table_path(run.paths.lake, "notifications", run.run_id))
    if first:
        build_catalog(run.paths.lake, run.paths.catalog)
