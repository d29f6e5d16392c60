"""The deployment path with real components: `prefect server start`, a process work pool, the
deployments of prefect.yaml, a worker, and runs triggered through the Prefect client.

The server and the worker are started here on 127.0.0.1 with a temporary PREFECT_HOME and stopped
by their process ids (their whole process groups), also when a test fails. The server's scheduler is
off, so the live schedules never start a run here, and the worker's proxy is a closed local port,
so a live request could not leave the machine anyway.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import duckdb
import pytest

from tests.conftest import sample_body, write_snapshot
from tests.prefect_cluster import (
    AD_HOC,
    HOURLY,
    PREFECT,
    client_call,
    deploy,
    memory_of_tree,
    prefect_env,
    prefect_server,
    read_logs,
    start_run,
    start_worker,
    stop,
    wait_for,
)

# CI runs four at once; `make bench` sets JOSHUA_CONCURRENT_RUNS=12 for the published figure.
CONCURRENT_RUNS = int(os.environ.get("JOSHUA_CONCURRENT_RUNS", "4"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real Prefect server, the `joshua` pool and queues, the deployments and a worker."""
    home = tmp_path_factory.mktemp("prefect-home")
    logs = tmp_path_factory.mktemp("logs")
    env = prefect_env(home, PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false")
    with prefect_server(env, logs / "server.log") as api:
        env["PREFECT_API_URL"] = api
        deploy(env)
        # Started away from the checkout: the deployments' pull step finds it through JOSHUA_HOME.
        worker = start_worker(env, home, logs / "worker.log", limit=CONCURRENT_RUNS + 2)
        try:
            yield api, worker, logs, env
        finally:
            stop(worker)


def test_scheduled_deployments_collect_live_and_deploy_like_prefect_users_write_them(cluster):
    api = cluster[0]

    async def read(client):
        return {d.name: d for d in await client.read_deployments()}

    deployments = client_call(api, read)
    assert deployments["daily-assessment"].parameters == {"live": True}
    assert deployments["hourly-collection"].parameters == {"live": True}
    assert deployments["ad-hoc-assessment"].parameters == {}
    for deployment in deployments.values():
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $JOSHUA_HOME }}"}}
        ]  # no path of whoever deployed
        assert deployment.job_variables["env"]["PREFECT_LOGGING_LEVEL"] == "INFO"
        assert "joshua" in deployment.tags
    assert deployments["ad-hoc-assessment"].global_concurrency_limit.limit == 4
    assert deployments["daily-assessment"].global_concurrency_limit.limit == 1
    schema = deployments["ad-hoc-assessment"].parameter_openapi_schema["properties"]
    assert schema["analyzer"]["enum"] == ["auto", "claude", "heuristic"] and "live" in schema and "allow_sample" in schema
    assert "Fetch the sources over the network" in schema["live"]["description"]


def test_ad_hoc_assessment_named_tagged_logged_and_reported_in_the_ui(cluster, tmp_path):
    api, _, logs, env = cluster
    responses = {source: {"body": sample_body(source)} for source in ("reuters-nuclear", "bbc-world", "iaea-news", "tass")}
    responses["aljazeera"] = {"body": b"<h1>down</h1>", "status": 500}
    snapshot = write_snapshot(tmp_path / "snapshot", responses, name="four-sources")
    data_dir = tmp_path / "data"
    # A typo'd parameter is refused by `prefect deployment run` and fails a run created through the API.
    typo = subprocess.run(
        [PREFECT, "deployment", "run", AD_HOC, "--param", f"snapshots={snapshot}"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert typo.returncode != 0 and "snapshots" in typo.stdout + typo.stderr
    bad = [
        start_run(api, AD_HOC, {"snapshots": str(snapshot), "data_dir": str(data_dir)}),
        start_run(api, AD_HOC, {"live": True, "snapshot": str(snapshot), "data_dir": str(data_dir)}),
    ]
    # Flat parameters, as a Prefect user types them.
    started = subprocess.run(
        [PREFECT, "deployment", "run", AD_HOC, "--param", f"snapshot={snapshot}", "--param", f"data_dir={data_dir}",
         "--param", "analyzer=heuristic"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    flow_run_id = next(line.split()[-1] for line in started.stdout.splitlines() if "UUID" in line)
    run, typo_run, contradiction = wait_for(api, [flow_run_id, *bad], timeout=300)
    assert run.state.is_completed(), (logs / "worker.log").read_text()[-3000:]
    # Prefect's engine refuses the unknown name before the flow starts (the run ends Crashed) and says why.
    typo_logs = " ".join(log.message for log in read_logs(api, typo_run.id, containing="provided with parameters"))
    assert not typo_run.state.is_completed() and "provided with parameters ['snapshots'" in typo_logs, typo_logs
    assert contradiction.state.is_failed()
    assert "exclude each other" in " ".join(log.message for log in read_logs(api, contradiction.id, containing="exclude each other"))

    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        assert con.execute("SELECT data_label FROM assessments").fetchone()[0].startswith("snapshot 'four-sources'")
        assert con.execute("SELECT count(DISTINCT source_id) FROM raw_items").fetchone() == (4,)
        run_id, seconds = con.execute("SELECT run_id, seconds_to_midnight FROM assessments").fetchone()
    assert run.name == run_id and run.parameters["analyzer"] == "heuristic"
    assert {"snapshot", "analyzer:heuristic", "joshua", "assessment"} <= set(run.tags) and "sample" not in run.tags

    lines = read_logs(api, run.id, containing="Report written: ")
    warnings = [log.message for log in lines if log.level == 30]
    assert any(m.startswith("aljazeera failed (FetchError)") and "HTTP 500" in m for m in warnings), warnings
    assert any(log.message.startswith(f"Headline: {seconds} seconds to midnight") for log in lines)
    assert any(log.message.startswith("Report written: ") for log in lines)
    (logs / "ad-hoc-run.log").write_text("\n".join(f"{log.level} {log.message}" for log in lines))

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    artifacts = client_call(
        api, lambda c: c.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    )
    by_key = {a.key: a for a in artifacts}
    assert {"nuclear-risk-assessment", "nuclear-risk-assessment-stages"} <= set(by_key)
    report = by_key["nuclear-risk-assessment"].data  # what the UI's Artifacts tab renders: the whole report
    assert report.startswith(f"# {seconds} seconds to midnight") and "## Top risk factors" in report
    assert "## Appendix A: data sources" in report and "aljazeera" in report.split("## Appendix A")[1]
    (logs / "ad-hoc-report.md").write_text(report)

    # The sample is refused beside that real assessment, with the reason in the run's logs.
    [sample] = wait_for(api, [start_run(api, AD_HOC, {"data_dir": str(data_dir)})], timeout=300)
    assert sample.state.is_failed()
    assert any("allow-sample" in log.message for log in read_logs(api, sample.id, containing="allow-sample"))


def test_hourly_collection_keeps_the_lake_warm(cluster, tmp_path):
    api, _, logs, _ = cluster
    params = {"data_dir": str(tmp_path), "live": False}  # the sample: the schedule's live=true must not leave here
    [run] = wait_for(api, [start_run(api, HOURLY, params)], 300)
    assert run.state.is_completed(), (logs / "worker.log").read_text()[-3000:]
    assert {"snapshot", "sample", "collection"} <= set(run.tags)
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    artifacts = client_call(
        api, lambda c: c.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    )
    [table] = [a for a in artifacts if a.key == "nuclear-risk-collection"]
    assert "reuters-nuclear" in table.data and "skipped" in table.data
    with duckdb.connect(str(tmp_path / "joshua.duckdb"), read_only=True) as con:
        assert con.execute("SELECT flow, status, run_id FROM runs").fetchall() == [
            ("nuclear-risk-collection", "completed", run.name)
        ]
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] > 100
        assert con.execute("SELECT count(*) FROM assessments").fetchone() == (0,)


def test_historical_backfill_is_unscheduled_and_reconstructs_through_the_worker(cluster, tmp_path):
    api, _, logs, _ = cluster
    deployment = client_call(api, lambda c: c.read_deployment_by_name("nuclear-risk-backfill/historical-backfill"))
    assert not deployment.schedules
    params = {"first_year": 1961, "last_year": 1962, "data_dir": str(tmp_path)}
    [run] = wait_for(api, [start_run(api, "nuclear-risk-backfill/historical-backfill", params)], 300)
    assert run.state.is_completed(), (logs / "worker.log").read_text()[-3000:]
    with duckdb.connect(str(tmp_path / "joshua.duckdb"), read_only=True) as con:
        assert con.execute("SELECT year(as_of), analyzer FROM reconstruction ORDER BY as_of").fetchall() == [
            (1961, "structural"),
            (1962, "structural"),
        ]


def test_concurrent_assessments(cluster, tmp_path):
    api, worker, logs, _ = cluster
    data_dir = tmp_path / "shared"

    async def raise_limit(client):  # `make bench` runs twelve at once (prefect.yaml allows 4)
        from prefect.client.schemas.actions import DeploymentUpdate

        found = await client.read_deployment_by_name(AD_HOC)
        await client.update_deployment(found.id, DeploymentUpdate(concurrency_limit=CONCURRENT_RUNS))

    client_call(api, raise_limit)
    started = time.monotonic()
    run_ids = [
        # WARNING logs only: many runs' INFO lines would load the test's SQLite-backed server
        start_run(api, AD_HOC, {"data_dir": str(data_dir)}, {"env": {"PREFECT_LOGGING_LEVEL": "WARNING"}})
        for _ in range(CONCURRENT_RUNS)
    ]
    peak_rss = peak_pss = 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        rss, pss = memory_of_tree(worker.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        runs = client_call(api, lambda client: asyncio.gather(*(client.read_flow_run(i) for i in run_ids)))
        if all(r.state and r.state.is_final() for r in runs):
            break
        time.sleep(1)
    wall = time.monotonic() - started
    print(
        f"\n{CONCURRENT_RUNS} concurrent assessments: {wall:.0f} s wall; worker and its flow processes at peak: "
        f"RSS {peak_rss / 2**30:.2f} GiB, PSS {peak_pss / 2**30:.2f} GiB"
    )
    assert all(r.state.is_completed() for r in runs), (logs / "worker.log").read_text()[-3000:]
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM assessments").fetchone() == (CONCURRENT_RUNS,) * 2
        per_run = con.execute("SELECT run_id, count(*) FROM raw_items GROUP BY run_id").fetchall()
        assert len(per_run) == CONCURRENT_RUNS and {n for _, n in per_run} == {197}
        duplicates = con.execute(
            "SELECT count(*) FROM (SELECT run_id, article_id FROM articles GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        assert duplicates == (0,)
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone() == (CONCURRENT_RUNS,)
