"""The assessment flow on a real (temporary) Prefect server: lake, catalog, artifacts, failures."""

import asyncio
import json

import duckdb
import polars as pl
import pytest

from flows.assessment import assess
from joshua.errors import InsufficientData
from schemas.records import AssessmentParams, RunSummary
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


def query(summary: RunSummary, sql: str) -> list[tuple]:
    with duckdb.connect(summary.catalog_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_sample_assessment_fills_the_lake_catalog_report_and_artifacts(data_dir):
    state = assess(AssessmentParams(data_dir=str(data_dir)), return_state=True)
    summary: RunSummary = state.result()
    assessment = summary.assessment
    assert summary.status == "completed" and assessment is not None
    assert 0 <= assessment.seconds_to_midnight <= 1440
    assert assessment.sample_data and assessment.analyzer == "heuristic"

    counts = dict(
        query(
            summary,
            "SELECT 'raw_items', count(*) FROM raw_items UNION ALL SELECT 'articles', count(*) FROM articles "
            "UNION ALL SELECT 'assessments', count(*) FROM assessments "
            "UNION ALL SELECT 'risk_factors', count(*) FROM risk_factors UNION ALL SELECT 'runs', count(*) FROM runs",
        )
    )
    assert counts["raw_items"] >= 150 and 0 < counts["articles"] < counts["raw_items"]
    assert counts["assessments"] == 1 and counts["risk_factors"] == 8 and counts["runs"] == 1
    assert query(summary, "SELECT count(DISTINCT source_id) FROM raw_items")[0][0] >= 6
    assert query(summary, "SELECT seconds_to_midnight, band FROM assessments") == [
        (assessment.seconds_to_midnight, assessment.band)
    ]
    outlook = query(
        summary,
        "SELECT p_nuclear_use_365d, ci_seconds_low <= seconds_to_midnight AND seconds_to_midnight <= ci_seconds_high, "
        "mc_seed, len(sensitivity) FROM assessments",
    )[0]
    assert 0.0035 <= outlook[0] <= 0.011 and outlook[1] and outlook[2] == assessment.mc_seed and outlook[3] == 8
    assert query(summary, "SELECT count(*) FROM alerts")[0][0] == len(assessment.alerts)
    run = query(summary, "SELECT status, sources_ok, sources_skipped, curate_items_in, collect_seconds FROM runs")[0]
    assert run[0] == "completed" and run[1] == 10 and run[2] == 8 and run[3] == counts["raw_items"] and run[4] > 0
    health = query(summary, "SELECT count(*), count(*) FILTER (status = 'ok'), max(consecutive_failures) FROM sources")
    assert health == [(18, 10, 0)]
    assert query(summary, "SELECT count(DISTINCT series) FROM signals")[0][0] == 2
    # every cited article exists in the lake
    cited = query(summary, "SELECT DISTINCT unnest(evidence) FROM risk_factors")
    known = {row[0] for row in query(summary, "SELECT article_id FROM articles")}
    assert cited and {row[0] for row in cited} <= known
    assert not (data_dir / "staging").exists() or not any((data_dir / "staging").iterdir())

    report = (data_dir / "reports" / f"{summary.run_id}.md").read_text()
    assert report.startswith("# JOSHUA nuclear-risk assessment") and "**Sample data." in report

    for name in (f"{summary.run_id}.html", f"{summary.run_id}.json", f"{summary.run_id}/clock.svg"):
        assert (data_dir / "reports" / name).is_file()
    artifacts = {a.key: a for a in read_artifacts(state.state_details.flow_run_id)}
    assert "seconds to midnight" in artifacts[REPORT_ARTIFACT_KEY].data and "```" in artifacts[REPORT_ARTIFACT_KEY].data
    assert f"[HTML report](file://" in artifacts[REPORT_LINK_KEY].data and f"{summary.run_id}.html" in artifacts[REPORT_LINK_KEY].data
    assert artifacts[STAGES_ARTIFACT_KEY].type == "table"
    assert "collect" in artifacts[STAGES_ARTIFACT_KEY].data

    # a rerun of the same run id replaces its rows; a new run adds one assessment with a delta
    assess(AssessmentParams(data_dir=str(data_dir), run_id=summary.run_id))
    assert query(summary, "SELECT count(*) FROM assessments")[0][0] == 1
    assert query(summary, "SELECT count(*) FROM raw_items")[0][0] == counts["raw_items"]
    second = assess(AssessmentParams(data_dir=str(data_dir)))
    assert second.assessment.delta_seconds == 0  # same snapshot, same answer
    assert query(summary, "SELECT count(*) FROM assessments")[0][0] == 2


def test_failed_sources_are_recorded_and_lower_confidence(data_dir, make_snapshot):
    good = {source: {"body": sample_body(source)} for source in ("reuters-nuclear", "bbc-world", "iaea-news", "tass")}
    healthy = assess(AssessmentParams(data_dir=str(data_dir), snapshot=str(make_snapshot(good, name="good"))))
    broken = make_snapshot(
        {
            **good,
            "aljazeera": {"body": sample_body("aljazeera")[:-200]},  # truncated: malformed XML
            "state-dept": {"body": b"<h1>Internal Server Error</h1>", "status": 500},
            "bulletin": {"error": "timeout"},
        },
        name="broken",
    )
    summary = assess(AssessmentParams(data_dir=str(data_dir), snapshot=str(broken)))
    failed = {s.source_id: s.error for s in summary.sources if s.status == "failed"}
    assert set(failed) == {"aljazeera", "state-dept", "bulletin"}
    assert "malformed XML" in failed["aljazeera"] and "HTTP 500" in failed["state-dept"]
    assert "timed out" in failed["bulletin"]
    assert summary.assessment.confidence_score == pytest.approx(healthy.assessment.confidence_score * 4 / 7)
    row = query(summary, f"SELECT sources_failed, errors FROM runs WHERE run_id = '{summary.run_id}'")[0]
    assert row[0] == 3 and len(row[1]) == 3
    recorded = query(
        summary,
        f"SELECT s.source_id, s.status, s.items, s.error FROM (SELECT unnest(sources) AS s FROM runs "
        f"WHERE run_id = '{summary.run_id}') ORDER BY s.source_id",
    )
    by_source = {source: (status, items, error) for source, status, items, error in recorded}
    assert by_source["state-dept"][0] == "failed" and "HTTP 500" in by_source["state-dept"][2]
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
        assess(AssessmentParams(data_dir=str(data_dir), snapshot=str(snapshot)))
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
        summary = assess(AssessmentParams(data_dir=str(data_dir)))
        assert [json.loads(body)["event"] for _, body in hook.requests] == ["assessment.completed"]
        rows = query(summary, "SELECT event, channel, ok, attempts FROM notifications ORDER BY channel")
        assert rows == [("assessment.completed", "slack", False, 3), ("assessment.completed", "webhook", True, 1)]
        snapshot = make_snapshot({"reuters-nuclear": {"body": sample_body("reuters-nuclear")}})
        with pytest.raises(InsufficientData):
            assess(AssessmentParams(data_dir=str(data_dir), snapshot=str(snapshot)))
        assert json.loads(hook.requests[-1][1])["event"] == "assessment.failed"
    finally:
        hook.close()
        down.close()
