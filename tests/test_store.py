"""The store stage: staging, publishing, the `runs` row, history and spend read back from the lake."""

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from joshua.lake import table_path, write_parquet_atomic
from joshua.notify import Delivery
from joshua.run import RunContext
from joshua.settings import RunPaths
from joshua.store import (
    abandon_run,
    commit_run,
    load_history,
    month_to_date_spend,
    publish_run,
    record_deliveries,
    run_record,
    stage_assessment,
)
from schemas.records import Analysis, Category, SourceOutcome, StageMetrics
from schemas.tables import TABLES
from tests.test_assess import assess as build

FIRST, SECOND, THIRD = "20261125T060000Z-aaaaaa", "20261126T060000Z-bbbbbb", "20261127T060000Z-cccccc"


def context(data_dir, run_id: str, started_at: datetime | None = None) -> RunContext:
    started_at = started_at or datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    paths = RunPaths.under(data_dir).for_run(run_id)
    return RunContext(run_id=run_id, started_at=started_at, as_of=started_at, paths=paths)


def completed(run: RunContext, *, value: float = 0.6, cost: float = 0.0, status: str = "completed", outcomes=()) -> None:
    """Stage, publish and commit one run's assessment (every factor rated `value`)."""
    from joshua.risk.assess import History

    stage_assessment(run, build(History(), value=value, run_id=run.run_id))
    publish_run(run)
    analysis = Analysis(analyzer="claude", factors=[], executive_summary="", articles_considered=0, cost_usd=cost)
    record = run_record(
        run,
        status=status,
        ended_at=run.started_at,
        analyzer="claude",
        data_label="test",
        stages=[],
        outcomes=list(outcomes),
        errors=[],
        analysis=analysis,
    )
    commit_run(run, record)


def test_publish_returns_every_file_it_moved_into_the_lake(data_dir):
    from joshua.risk.assess import History

    run = context(data_dir, FIRST)
    stage_assessment(run, build(History(), run_id=FIRST))
    stored = publish_run(run)
    assert stored.metrics().items_in == stored.metrics().items_out == 3
    assert {path.parts[-3] for path in stored.published} == {"assessments", "risk_factors", "alerts"}
    assert all(path.is_file() and run.paths.lake in path.parents for path in stored.published)
    assert stored.path_of("risk_factors") == table_path(run.paths.lake, "risk_factors", FIRST)
    assert pl.read_parquet(stored.path_of("risk_factors")).height == 8
    assert not run.paths.staging.exists()


def test_history_excludes_the_run_itself_and_keeps_the_order(data_dir):
    for run_id, value in ((FIRST, 0.6), (SECOND, 0.7), (THIRD, 0.8)):
        completed(context(data_dir, run_id), value=value)
    history = load_history(context(data_dir, SECOND))  # a rerun of the second sees the other two
    assert history.seconds == [576, 288] and len(history.bands) == 2
    assert set(history.factor_values) == {category.value for category in Category}
    assert all(values == [pytest.approx(0.6), pytest.approx(0.8)] for values in history.factor_values.values())


def test_history_is_consistent_when_a_run_commits_between_its_two_queries(data_dir, monkeypatch):
    import joshua.store

    completed(context(data_dir, FIRST), value=0.6)
    real_connect = joshua.store.connect_lake

    class CommitsAfterFirstQuery:
        """A lake connection during whose reads another run commits (twelve concurrent runs did this)."""

        def __init__(self, con):
            self.con, self.queries = con, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.con.close()

        def execute(self, sql, parameters):
            self.queries += 1
            if self.queries == 2:
                completed(context(data_dir, THIRD), value=0.8)
            return self.con.execute(sql, parameters)

    monkeypatch.setattr(joshua.store, "connect_lake", lambda lake, only: CommitsAfterFirstQuery(real_connect(lake, only)))
    history = load_history(context(data_dir, SECOND))
    assert history.seconds == [576]
    assert all(values == [pytest.approx(0.6)] for values in history.factor_values.values())


def test_history_of_an_empty_lake_is_empty(data_dir):
    history = load_history(context(data_dir, FIRST))
    assert history.seconds == [] and history.factor_values == {}


def test_month_to_date_spend_counts_this_month_and_failed_runs_but_not_the_run_itself(data_dir):
    completed(context(data_dir, "20261031T060000Z-000000"), cost=5.0)  # last month
    completed(context(data_dir, FIRST), cost=0.25)
    completed(context(data_dir, SECOND), cost=0.5, status="failed")
    completed(context(data_dir, THIRD), cost=2.0)
    assert month_to_date_spend(context(data_dir, THIRD)) == pytest.approx(0.75)


def test_run_record_counts_outcomes_and_fills_every_stage_column(data_dir):
    run = context(data_dir, FIRST)
    outcomes = [
        SourceOutcome(source_id="a", status="ok", items=3, requests=2, fetches=2, cache_hits=1),
        SourceOutcome(source_id="b", status="failed", error="b: HTTP 500", error_type="FetchError", requests=3, fetches=1),
        SourceOutcome(source_id="c", status="skipped", error="needs credential"),
    ]
    record = run_record(
        run,
        status="completed",
        ended_at=run.started_at,
        analyzer="heuristic",
        data_label="test",
        stages=[StageMetrics(stage="collect", seconds=1.5, items_in=2, items_out=3)],
        outcomes=outcomes,
        errors=["b: HTTP 500"],
    )
    assert record.schema == TABLES["runs"]
    row = record.row(0, named=True)
    assert (row["sources_ok"], row["sources_failed"], row["sources_skipped"]) == (1, 1, 1)
    assert row["requests"] == 5 and row["cache_hit_rate"] == pytest.approx(1 / 3)
    assert row["collect_seconds"] == 1.5 and row["collect_items_out"] == 3 and row["score_seconds"] is None
    assert [s["error_type"] for s in row["sources"]] == [None, "FetchError", None]
    assert row["analyzer"] == "heuristic" and row["errors"] == ["b: HTTP 500"]


def test_abandoning_a_run_drops_its_staging_and_commits_a_failed_row(data_dir):
    run = context(data_dir, FIRST)
    write_parquet_atomic(pl.DataFrame({"v": [1]}), table_path(run.paths.staging, "articles", FIRST))
    record = run_record(
        run, status="failed", ended_at=run.started_at, analyzer="heuristic", data_label="t", stages=[], outcomes=[], errors=["x"]
    )
    abandon_run(run, record)
    assert not run.paths.staging.exists()
    assert sorted(p.parts[len(run.paths.lake.parts)] for p in run.paths.lake.rglob("*.parquet")) == ["runs"]
    with duckdb.connect(str(run.paths.catalog), read_only=True) as con:
        assert con.execute("SELECT status, errors FROM runs").fetchall() == [("failed", ["x"])]


def test_deliveries_are_logged_and_only_the_first_rebuilds_the_catalog(data_dir):
    run = context(data_dir, FIRST)
    completed(run)
    built = run.paths.catalog.stat().st_ino
    delivery = Delivery(event="assessment.completed", event_id="e1", channel="webhook", ok=True, attempts=1, error=None)
    record_deliveries(run, [delivery], run.started_at)
    rebuilt = run.paths.catalog.stat().st_ino
    assert rebuilt != built  # the notifications view was an empty relation until now
    second = context(data_dir, SECOND)
    record_deliveries(second, [delivery], second.started_at)
    assert run.paths.catalog.stat().st_ino == rebuilt
    with duckdb.connect(str(run.paths.catalog), read_only=True) as con:
        assert con.execute("SELECT run_id FROM notifications ORDER BY run_id").fetchall() == [(FIRST,), (SECOND,)]
