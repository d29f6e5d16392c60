"""The assessment flow on a real (temporary) Prefect server: lake, catalog, artifacts, failures."""

import asyncio
import json

import duckdb
import polars as pl
import pytest

from flows.assessment import assess
from joshua.errors import InsufficientData
from schemas.records import RunSummary
from tasks.report import REPORT_ARTIFACT_KEY, REPORT_LINK_KEY, STAGES_ARTIFACT_KEY
from tests.conftest import sample_body

pytestmark = pytest.mark.usefixtures("prefect_server")


def read_artifacts(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )

    return asyncio.run(read())


def read_flow_run(flow_run_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def read_task_runs(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


def read_logs(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)  # the run's last batch of logs may still be on its way to the server
    with get_client(sync_client=True) as client:
        return client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))


def query(summary: RunSummary, sql: str) -> list[tuple]:
    with duckdb.connect(summary.catalog_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_sample_gives_the_published_assessment(sample_run):
    assessment = sample_run.summary.assessment
    assert sample_run.summary.status == "completed"
    # The sample's figure: the structural level of its date, moved +0.05 by its news, on the
    # calibrated clock (`auto`'s headline since it meets its targets); the linear reading beside it.
    assert (assessment.seconds_to_midnight, assessment.band, assessment.mapping) == (52, "critical", "calibrated")
    assert assessment.seconds_linear == 630
    assert assessment.sample_data and assessment.analyzer == "heuristic"


def test_every_table_of_the_run_reaches_the_lake(sample_run):
    counts = dict(
        query(
            sample_run.summary,
            "SELECT 'raw_items', count(*) FROM raw_items UNION ALL SELECT 'articles', count(*) FROM articles "
            "UNION ALL SELECT 'assessments', count(*) FROM assessments "
            "UNION ALL SELECT 'risk_factors', count(*) FROM risk_factors UNION ALL SELECT 'runs', count(*) FROM runs",
        )
    )
    assert counts == {"raw_items": 197, "articles": 196, "assessments": 1, "risk_factors": 8, "runs": 1}
    assert query(sample_run.summary, "SELECT count(DISTINCT source_id) FROM raw_items")[0][0] == 9  # and one timeline
    assert query(sample_run.summary, "SELECT count(DISTINCT series) FROM signals")[0][0] == 2
    staging = sample_run.data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_the_assessment_row_matches_the_summary(sample_run):
    assessment = sample_run.summary.assessment
    row = query(
        sample_run.summary,
        "SELECT seconds_to_midnight, band, p_nuclear_use_365d, mc_seed, len(sensitivity) FROM assessments",
    )
    expected = (assessment.seconds_to_midnight, assessment.band, assessment.p_nuclear_use_365d, assessment.mc_seed, 8)
    assert row == [expected]
    assert query(sample_run.summary, "SELECT count(*) FROM alerts")[0][0] == len(assessment.alerts)


def test_the_runs_row_and_source_health(sample_run):
    run = query(sample_run.summary, "SELECT status, sources_ok, sources_skipped, curate_items_in, collect_seconds FROM runs")[0]
    assert run[:4] == ("completed", 10, 8, 197) and run[4] > 0
    health = query(
        sample_run.summary, "SELECT count(*), count(*) FILTER (status = 'ok'), max(consecutive_failures) FROM sources"
    )
    assert health == [(18, 10, 0)]


def test_stage_metrics_count_what_each_stage_did(sample_run):
    stages = {s.stage: (s.items_in, s.items_out) for s in sample_run.summary.stages}
    assert stages == {
        "collect": (10, 197),
        "curate": (197, 196),
        "analyze": (120, 8),
        "score": (8, 1),
        "store": (15, 15),  # 9 raw_items files, 1 signals, articles, sources and the three assessment tables
        "report": (len(sample_run.summary.evidence), 3),
    }


def test_every_cited_article_is_in_the_lake(sample_run):
    cited = {row[0] for row in query(sample_run.summary, "SELECT DISTINCT unnest(evidence) FROM risk_factors")}
    known = {row[0] for row in query(sample_run.summary, "SELECT article_id FROM articles")}
    assert cited and cited <= known and set(sample_run.summary.evidence) <= cited


def test_reports_and_artifacts(sample_run):
    reports, run_id = sample_run.data_dir / "reports", sample_run.summary.run_id
    report = (reports / f"{run_id}.md").read_text()
    assert report.startswith("# JOSHUA nuclear-risk assessment") and "**Sample data." in report
    for name in (f"{run_id}.html", f"{run_id}.json", f"{run_id}/clock.svg"):
        assert (reports / name).is_file()
    artifacts = {a.key: a for a in read_artifacts(sample_run.flow_run_id)}
    shown = artifacts[REPORT_ARTIFACT_KEY].data  # the whole report, readable in the UI
    assert shown.startswith("# 52 seconds to midnight") and "```" in shown
    assert "## Top risk factors" in shown and "## Appendix D: statistics" in shown and ".svg)" not in shown
    assert REPORT_LINK_KEY not in artifacts  # no reports_url: no link a browser could not open
    assert artifacts[STAGES_ARTIFACT_KEY].type == "table" and "collect" in artifacts[STAGES_ARTIFACT_KEY].data


def test_the_flow_run_is_named_after_the_run_id_and_tagged(sample_run):
    run_id = sample_run.summary.run_id
    flow_run = read_flow_run(sample_run.flow_run_id)
    assert flow_run.name == run_id
    assert {"snapshot", "sample", "analyzer:heuristic"} <= set(flow_run.tags)
    names = {task.name for task in read_task_runs(sample_run.flow_run_id)}
    assert {"collect-reuters-nuclear", f"curate-{run_id}", f"analyze-{run_id}-heuristic", f"report-{run_id}"} <= names


def test_a_rerun_replaces_its_rows_and_a_new_run_adds_one(data_dir):
    first = assess(data_dir=str(data_dir))
    assess(data_dir=str(data_dir), run_id=first.run_id)
    assert query(first, "SELECT count(*) FROM assessments")[0][0] == 1
    assert query(first, "SELECT count(*) FROM raw_items")[0][0] == 197
    second = assess(data_dir=str(data_dir))
    assert second.assessment.delta_seconds == 0  # same snapshot, same answer
    assert query(first, "SELECT count(*) FROM assessments")[0][0] == 2


def test_failed_sources_are_recorded_and_lower_confidence(data_dir, make_snapshot, monkeypatch):
    monkeypatch.setenv("JOSHUA_REPORTS_URL", "http://127.0.0.1:8080/reports/")  # where data/reports is served
    good = {source: {"body": sample_body(source)} for source in ("reuters-nuclear", "bbc-world", "iaea-news", "tass")}
    healthy = assess(data_dir=str(data_dir), snapshot=str(make_snapshot(good, name="good")))
    broken = make_snapshot(
        {
            **good,
            "aljazeera": {"body": sample_body("aljazeera")[:-200]},  # truncated: malformed XML
            "state-dept": {"body": b"<h1>Internal Server Error</h1>", "status": 500},
            "bulletin": {"error": "timeout"},
        },
        name="broken",
    )
    state = assess(data_dir=str(data_dir), snapshot=str(broken), return_state=True)
    summary = state.result()
    assert state.is_completed()
    tasks = {task.name: task for task in read_task_runs(state.state_details.flow_run_id)}
    assert {name for name, task in tasks.items() if task.state.is_failed()} == {
        "collect-aljazeera",
        "collect-state-dept",
        "collect-bulletin",
    }  # the UI shows which sources failed; the run completed
    assert tasks["collect-state-dept"].state.message.startswith("state-dept failed (FetchError): ")
    artifacts = {a.key: a.data for a in read_artifacts(state.state_details.flow_run_id)}
    assert f"(http://127.0.0.1:8080/reports/{summary.run_id}.html)" in artifacts[REPORT_LINK_KEY]
    assert f"(http://127.0.0.1:8080/reports/{summary.run_id}/clock.svg)" in artifacts[REPORT_ARTIFACT_KEY]
    failed = {s.source_id: s.error_type for s in summary.sources if s.status == "failed"}
    assert failed == {"aljazeera": "ParseError", "state-dept": "FetchError", "bulletin": "FetchError"}
    assert summary.assessment.confidence_score == pytest.approx(healthy.assessment.confidence_score * 4 / 7)
    row = query(summary, f"SELECT sources_failed, errors FROM runs WHERE run_id = '{summary.run_id}'")[0]
    assert row[0] == 3 and len(row[1]) == 3
    recorded = query(
        summary,
        f"SELECT s.source_id, s.status, s.items, s.error_type FROM (SELECT unnest(sources) AS s FROM runs "
        f"WHERE run_id = '{summary.run_id}') ORDER BY s.source_id",
    )
    by_source = {source: (status, items, error_type) for source, status, items, error_type in recorded}
    assert by_source["state-dept"] == ("failed", 0, "FetchError")
    assert by_source["tass"][:2] == ("ok", 19) and by_source["xinhua"][0] == "skipped"


def test_too_few_sources_fail_the_run_and_leave_nothing_partial(data_dir, make_snapshot):
    snapshot = make_snapshot(
        {
            "reuters-nuclear": {"body": sample_body("reuters-nuclear")},
            "bbc-world": {"body": b"<rss", "status": 200},
            "tass": {"body": b"", "status": 503},
        }
    )
    with pytest.raises(InsufficientData, match="only 1 of 3 sources succeeded, 3 needed"):
        assess(data_dir=str(data_dir), snapshot=str(snapshot))
    lake = data_dir / "lake"
    # The failed run's `runs` row, and its `sources` rows (a whole-run failure counts against its sources).
    assert sorted(p.parts[len(lake.parts)] for p in lake.rglob("*.parquet")) == ["runs", "sources"]
    runs = pl.read_parquet(next((lake / "runs").rglob("*.parquet")))
    assert runs["status"].to_list() == ["failed"] and "InsufficientData" in runs["errors"][0][-1]
    assert not (data_dir / "staging").exists() or not any((data_dir / "staging").iterdir())


def test_notifications_are_sent_and_logged_and_never_fail_the_run(data_dir, make_snapshot, monkeypatch):
    from tests.test_notify import Receiver

    hook, down = Receiver(), Receiver([500] * 9)
    try:
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__WEBHOOK_URL", hook.url)
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__WEBHOOK_SECRET", "s3cret")
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__SLACK_WEBHOOK_URL", down.url)
        summary = assess(data_dir=str(data_dir))
        # The sample reads 52 s: critical and apocalyptic alerts come with the completed run.
        events = ["assessment.completed", "risk.critical_change"]
        assert [json.loads(body)["event"] for _, body in hook.requests] == events
        rows = query(summary, "SELECT event, channel, ok, attempts FROM notifications ORDER BY channel, event")
        assert rows == [*((e, "slack", False, 3) for e in events), *((e, "webhook", True, 1) for e in events)]
        snapshot = make_snapshot({"reuters-nuclear": {"body": sample_body("reuters-nuclear")}})
        with pytest.raises(InsufficientData):
            assess(data_dir=str(data_dir), snapshot=str(snapshot))
        assert json.loads(hook.requests[-1][1])["event"] == "assessment.failed"
    finally:
        hook.close()
        down.close()


def test_secrets_come_from_prefect_secret_blocks(data_dir, monkeypatch):
    from prefect.blocks.system import Secret

    from tests.test_notify import Receiver

    slack = Receiver()
    try:
        Secret(value=slack.url).save("joshua-test-slack-webhook", overwrite=True)
        monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__SLACK_WEBHOOK_URL", "joshua-test-slack-webhook")
        monkeypatch.setenv("JOSHUA_SECRET_BLOCKS__SMTP_PASSWORD", "joshua-no-such-block")
        state = assess(data_dir=str(data_dir), return_state=True)
        assert state.is_completed() and len(slack.requests) == 2  # the URL came from the block (completed, critical)
        lines = read_logs(state.state_details.flow_run_id)
        warnings = [log.message for log in lines if log.level == 30]
        assert "Prefect Secret block 'joshua-no-such-block' not found: smtp_password stays unset" in warnings
        assert not any(slack.url in log.message for log in lines)
    finally:
        slack.close()


def test_maintenance_sweeps_runs_that_died_compacts_and_rebuilds_the_catalog(data_dir):
    import os

    from flows.maintenance import maintain_lake
    from joshua.lake import STALE_AFTER, table_path, write_parquet_atomic
    from tests.lake_factory import full

    summary = assess(data_dir=str(data_dir))
    dead = "20261127T080000Z-222222"
    orphan = write_parquet_atomic(full("articles", [{"run_id": dead}]), table_path(data_dir / "lake", "articles", dead))
    staged = write_parquet_atomic(full("articles", [{"run_id": dead}]), table_path(data_dir / "staging" / dead, "articles", dead))
    stale = orphan.stat().st_mtime - STALE_AFTER.total_seconds() - 60
    for path in (orphan, staged, *staged.parents[:4]):
        os.utime(path, (stale, stale))
    old_runs = ["20261101T060000Z-aaaaaa", "20261102T060000Z-bbbbbb"]  # committed days ago: compacted
    for run_id in old_runs:
        write_parquet_atomic(full("articles", [{"run_id": run_id, "article_id": run_id}]), table_path(data_dir / "lake", "articles", run_id))
        write_parquet_atomic(full("runs", [{"run_id": run_id, "status": "completed"}]), table_path(data_dir / "lake", "runs", run_id))
    (data_dir / "joshua.duckdb").unlink()
    assert maintain_lake(str(data_dir)) == 2
    assert not orphan.exists() and not (data_dir / "staging" / dead).exists()
    assert [path.name[:8] for path in (data_dir / "lake" / "articles" / "date=2026-11").iterdir()] == ["compact-"]
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        assert con.execute("SELECT run_id FROM assessments").fetchall() == [(summary.run_id,)]
        assert con.execute("SELECT article_id FROM articles WHERE run_id IN ? ORDER BY 1", [old_runs]).fetchall() == [
            (run_id,) for run_id in old_runs
        ]
    with duckdb.connect(str(data_dir / "search.duckdb"), read_only=True) as index:  # the search index is built too
        assert {run for (run,) in index.sql("SELECT run_id FROM indexed_runs").fetchall()} == {summary.run_id, *old_runs}
