"""JOSHUA beyond one machine: Prefect's server on PostgreSQL and two workers that share nothing but
the lake, as two hosts would (issue 17).

Everything is real and local: Debian's PostgreSQL on 127.0.0.1 (tests/postgres.py), `prefect server
start` on it, the lake in a bucket of the S3 server on 127.0.0.1 (tests/s3server.py), the deployments of prefect.yaml and deploy/automations.yaml, and two `prefect worker
start --pool joshua` processes, each with its own working directory, HOME and PREFECT_HOME. The
runs are the bundled sample (no request leaves the machine; the workers' proxy is a closed local
port). The whole tree (the test, PostgreSQL, the server, the workers and their flow processes) is
sampled for memory while the module runs; each test prints its wall time and the peak.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from statistics import median

import asyncpg
import duckdb
import pytest
from prefect.events.schemas.automations import AutomationCore

from joshua import storage
from joshua.catalog import connect_lake
from joshua.lake import table_glob
from tests.postgres import Postgres
from tests.s3server import S3Server, create_bucket, forget_s3_clients
from tests.prefect_cluster import (
    AD_HOC,
    HOURLY,
    client_call,
    deploy,
    memory_of_tree,
    prefect_env,
    prefect_server,
    process_tree,
    read_runs,
    start_run,
    start_worker,
    stop,
    wait_for,
    wait_for_workers,
)

CRASH_SILENT_RUNS = "joshua-crash-silent-flow-runs"  # deploy/automations.yaml
WORKERS = ("host-a", "host-b")
AD_HOC_RUNS, HOURLY_RUNS = 24, 6
KILL_TEST_RUNS = 6
AD_HOC_LIMIT = 4  # prefect.yaml: concurrency_limit of ad-hoc-assessment
SILENCE_S = 60  # the test's crash-on-silence window (deploy/automations.yaml: 90 s; heartbeats every 30 s)
# Tables every committed run of the sample writes, with its rows per run.
ASSESSMENT_ROWS = {
    "runs": 1, "raw_items": 197, "sources": 18, "articles": 196, "signals": 112, "assessments": 1, "risk_factors": 8
}
COLLECTION_TABLES = ("runs", "raw_items", "sources", "articles")
# The view of each table's rows per run (`sources` is the latest row of each source).
VIEWS = {table: table for table in ASSESSMENT_ROWS} | {"sources": "source_history"}


@dataclass(frozen=True)
class SharedLake:
    """Where every worker's runs write and the test reads: the only thing the two "hosts" share."""

    data_dir: str  # JOSHUA_DATA_DIR in each worker's environment (never a flow parameter)
    env: dict[str, str] = field(default_factory=dict)  # what else a worker needs to reach it
    hosts: Path | None = None  # each host's own directories (its HOME holds its runs' staging)

    def views(self) -> duckdb.DuckDBPyConnection:
        """The lake's views (committed runs only), as a reader elsewhere sees them."""
        return connect_lake(storage.join(self.data_dir, "lake"))

    def staged_runs(self) -> set[str]:
        """The runs with files in staging (written, not yet published): an object-store run stages
        under its own host's working directory (~/.cache/joshua/…/staging/<run_id>/…/<run_id>.parquet)."""
        assert self.hosts is not None
        return {path.stem for path in self.hosts.glob("*/home/**/staging/*/**/*.parquet")}

    def bare(self) -> duckdb.DuckDBPyConnection:
        """A connection without views that reads the bucket (for `files`)."""
        con = duckdb.connect()
        storage.register(con, self.data_dir)
        return con

    def files(self, table: str) -> str:
        """A relation over every Parquet file of a table, committed or not (on a connection that reads
        the bucket: `bare()` or `views()`)."""
        pattern = table_glob(storage.join(self.data_dir, "lake"), table).replace("'", "''")
        return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"


# The standard settings of an S3-compatible store (tests/s3server.py's `env` holds them, and more).
OBJECT_STORE_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION")


def worker_settings(api: str, lake: SharedLake) -> dict[str, str]:
    """What a worker host sets besides its own HOME and PREFECT_HOME (deploy/docker-compose.yml: the same names)."""
    return {"PREFECT_API_URL": api, "JOSHUA_DATA_DIR": lake.data_dir, **lake.env}


@pytest.fixture(scope="module")
def shared_lake(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLake]:
    """The lake of the two workers: a bucket on the S3 server on 127.0.0.1 (tests/s3server.py), reached
    with the standard AWS settings only. This process reads it too, with the same settings."""
    bucket = f"joshua-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_server, bucket)
    reach = {name: s3_server.env[name] for name in OBJECT_STORE_SETTINGS}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in s3_server.env.items():
            patch.setenv(name, value)
        forget_s3_clients()
        yield SharedLake(f"s3://{bucket}/joshua", reach, tmp_path_factory.mktemp("hosts"))
        forget_s3_clients()


class TreeSampler:
    """The peak of the summed memory of this process and all its descendants, sampled every 0.5 s."""

    def __init__(self) -> None:
        self.peak_rss = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss, pss = memory_of_tree(os.getpid())
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

    def reset(self) -> None:
        self.peak_rss = self.peak_pss = 0

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> str:
        return f"whole tree at peak: RSS {self.peak_rss / 2**30:.2f} GiB, PSS {self.peak_pss / 2**30:.2f} GiB"


@dataclass
class Cluster:
    api: str
    workers: dict[str, subprocess.Popen]
    logs: Path
    sampler: TreeSampler

    def worker_logs(self) -> str:
        return "\n".join(f"--- {name}\n{(self.logs / f'{name}.log').read_text()[-2000:]}" for name in self.workers)


@pytest.fixture(scope="module")
def cluster(postgres: Postgres, shared_lake: SharedLake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The server on PostgreSQL, the deployments and automations, and one worker per "host"."""
    logs = tmp_path_factory.mktemp("logs")
    with TreeSampler() as sampler:
        server_env = prefect_env(
            tmp_path_factory.mktemp("server-home"),
            PREFECT_API_DATABASE_CONNECTION_URL=postgres.url(),
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",  # the live schedules never start a run here
            # A run refused a deployment slot is retried after this long (Prefect's default: 30 s).
            PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
        )
        with prefect_server(server_env, logs / "server.log") as api:
            # Deployed from a third machine (the operator's), with its own PREFECT_HOME.
            operator = prefect_env(tmp_path_factory.mktemp("operator-home"), PREFECT_API_URL=api)
            deploy(operator)
            client_call(api, shorten_silence)
            workers = {}
            try:
                for name in WORKERS:
                    host = shared_lake.hosts / name
                    for directory in ("home", "prefect-home", "work"):
                        (host / directory).mkdir(parents=True)
                    env = {
                        **prefect_env(host / "prefect-home", PREFECT_WORKER_QUERY_SECONDS="2"),  # polls every 2 s
                        "HOME": str(host / "home"),
                        **worker_settings(api, shared_lake),
                    }
                    workers[name] = start_worker(env, host / "work", logs / f"{name}.log", name=name)
                wait_for_workers(api, workers)
                yield Cluster(api, workers, logs, sampler)
            finally:
                for worker in workers.values():
                    stop(worker)


async def shorten_silence(client) -> None:
    """The crash-on-silence automation bootstrap.sh created, with the test's shorter window."""
    for automation in await client.read_automations_by_name(CRASH_SILENT_RUNS):
        automation.trigger.within = timedelta(seconds=SILENCE_S)
        fields = automation.model_dump(exclude={"id", "created", "updated", "owner_resource"})
        await client.update_automation(automation.id, AutomationCore(**fields))


def quiet(params: dict) -> tuple[dict, dict]:
    """Parameters and job variables of a run: WARNING logs only (thirty runs' INFO lines are noise here)."""
    return params, {"env": {"PREFECT_LOGGING_LEVEL": "WARNING"}}


def most_at_once(runs: list) -> int:
    """The largest number of runs that were running at the same moment."""
    edges = sorted([(r.start_time, 1) for r in runs] + [(r.end_time, -1) for r in runs], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def flow_runs_in_postgres(server: Postgres) -> int:
    """How many flow runs Prefect's tables in PostgreSQL hold (the server really runs on it)."""

    async def count() -> int:
        connection = await asyncpg.connect(server.url("postgresql"))
        try:
            return await connection.fetchval("SELECT count(*) FROM flow_run")
        finally:
            await connection.close()

    return asyncio.run(count())


def test_two_workers_share_the_runs_and_the_lake_holds_each_run_once(
    cluster: Cluster, shared_lake: SharedLake, postgres: Postgres
):
    cluster.sampler.reset()
    started = time.monotonic()
    ad_hoc = [start_run(cluster.api, AD_HOC, *quiet({})) for _ in range(AD_HOC_RUNS)]
    hourly = [start_run(cluster.api, HOURLY, *quiet({"live": False})) for _ in range(HOURLY_RUNS)]
    runs = wait_for(cluster.api, ad_hoc + hourly, timeout=900)
    wall = time.monotonic() - started
    print(
        f"\n{AD_HOC_RUNS} ad-hoc assessments and {HOURLY_RUNS} hourly collections on two workers, server on "
        f"PostgreSQL: {wall:.0f} s wall; {cluster.sampler.figures()}"
    )
    assert all(r.state.is_completed() for r in runs), [(r.name, r.state.name) for r in runs] + [cluster.worker_logs()]
    by_worker = {name: [r.name for r in runs if r.labels.get("prefect.worker.name") == name] for name in WORKERS}
    assert all(by_worker.values()) and sum(map(len, by_worker.values())) == len(runs), by_worker
    print(
        "runs per worker: " + ", ".join(f"{name} {len(names)}" for name, names in by_worker.items())
        + f"; an assessment's median time Running {median(r.total_run_time.total_seconds() for r in runs[:AD_HOC_RUNS]):.0f} s"
    )
    assert most_at_once(runs[:AD_HOC_RUNS]) <= AD_HOC_LIMIT  # the deployment's limit holds across workers
    assert flow_runs_in_postgres(postgres) == AD_HOC_RUNS + HOURLY_RUNS

    assessments, collections = {r.name for r in runs[:AD_HOC_RUNS]}, {r.name for r in runs[AD_HOC_RUNS:]}
    with shared_lake.views() as con:
        assert con.execute("SELECT flow, status, count(*) FROM runs GROUP BY ALL ORDER BY 1").fetchall() == [
            ("nuclear-risk-assessment", "completed", AD_HOC_RUNS),
            ("nuclear-risk-collection", "completed", HOURLY_RUNS),
        ]
        for table, rows in ASSESSMENT_ROWS.items():
            per_run = dict(con.execute(f"SELECT run_id, count(*) FROM {VIEWS[table]} GROUP BY run_id").fetchall())
            assert {run: per_run.get(run) for run in assessments} == dict.fromkeys(assessments, rows), table
            if table in COLLECTION_TABLES:
                assert per_run.keys() == assessments | collections, table
        assert con.execute("SELECT count(*) FROM assessments").fetchone() == (AD_HOC_RUNS,)
        for table, key in (("articles", "article_id"), ("risk_factors", "category")):
            repeated = f"SELECT count(*) FROM (SELECT run_id, {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            assert con.execute(repeated).fetchone() == (0,), table
    with shared_lake.bare() as con:  # the files themselves: each run published once, nothing left over
        for table in ASSESSMENT_ROWS:
            per_run = con.execute(f"SELECT run_id, count(*) FROM {shared_lake.files(table)} GROUP BY run_id").fetchall()
            expected = ASSESSMENT_ROWS[table]
            assert {run: n for run, n in per_run if run in assessments} == dict.fromkeys(assessments, expected), table
            assert {run for run, _ in per_run} <= assessments | collections, table


def test_a_killed_worker_leaves_crashed_runs_and_nothing_half_written(cluster: Cluster, shared_lake: SharedLake):
    cluster.sampler.reset()
    victim, survivor = WORKERS[1], WORKERS[0]
    with shared_lake.views() as con:
        committed_before = {run for (run,) in con.execute("SELECT run_id FROM runs").fetchall()}
    started = time.monotonic()
    # The survivor is paused while the runs start, so that the victim surely takes some; it resumes
    # once the victim is dead and finishes the rest.
    os.killpg(cluster.workers[survivor].pid, signal.SIGSTOP)
    try:
        run_ids = [start_run(cluster.api, AD_HOC, *quiet({})) for _ in range(KILL_TEST_RUNS)]
        # Kill once a run of the victim has written files (or, if the victim finished one before
        # that could be seen, once it has any run going); what it holds then must end Crashed.
        deadline = time.monotonic() + 300
        while True:
            runs = read_runs(cluster.api, run_ids)
            mine = [r for r in runs if r.labels.get("prefect.worker.name") == victim and r.state]
            held = [r for r in mine if r.state.is_pending() or r.state.is_running()]
            staged = {r.name for r in held if r.state.is_running()} & shared_lake.staged_runs()
            if staged or (any(r.state.is_completed() for r in mine) and any(r.state.is_running() for r in held)):
                break
            assert time.monotonic() < deadline, [(r.name, r.state and r.state.name) for r in runs]
            time.sleep(0.2)
        worker = cluster.workers[victim]
        tree = process_tree(worker.pid)
        for pid in tree:  # the worker and its flow processes (each in a session of its own)
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        os.killpg(cluster.workers[survivor].pid, signal.SIGCONT)
    killed_at = time.time()

    runs = wait_for(cluster.api, run_ids, timeout=300)
    wall = time.monotonic() - started
    states = {r.name: r.state.name for r in runs}
    print(
        f"\nkill test: {KILL_TEST_RUNS} ad-hoc assessments, {victim} (and its {len(tree) - 1} child processes) "
        f"SIGKILLed holding {len(held)} submitted or running: {wall:.0f} s wall, the last marked Crashed "
        f"{max(r.state.timestamp.timestamp() for r in runs if r.state.is_crashed()) - killed_at:.0f} s after the kill; "
        f"{cluster.sampler.figures()}"
    )
    for run in runs:  # what the victim held at the kill (not what it finished just before) crashed
        finished_before = run.state.is_completed() and run.state.timestamp.timestamp() < killed_at
        if run.labels["prefect.worker.name"] == victim and not finished_before:
            assert run.state.is_crashed() and "heartbeat" in run.state.message, states
        else:
            assert run.state.is_completed(), states
    assert any(run.state.is_crashed() for run in runs), states

    completed = {r.name for r in runs if r.state.is_completed()}
    crashed = {r.name for r in runs if r.state.is_crashed()}
    with shared_lake.views() as con:
        visible = dict(con.execute("SELECT run_id, count(*) FROM runs GROUP BY run_id").fetchall())
        statuses = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        per_table = {
            table: dict(con.execute(f"SELECT run_id, count(*) FROM {VIEWS[table]} GROUP BY run_id").fetchall())
            for table in ASSESSMENT_ROWS
        }
    with shared_lake.bare() as con:
        published = con.execute(f"SELECT DISTINCT run_id FROM {shared_lake.files('raw_items')}").fetchall()
    on_disk = {run for (run,) in published}
    # A killed run either committed before the kill (then it is whole) or is invisible, its files
    # (if it published any) hidden behind the missing `runs` row.
    committed_killed = crashed & visible.keys()
    print(
        f"killed runs: {len(staged)} had staged files, {len(committed_killed)} had committed before the kill, "
        f"{len((crashed - visible.keys()) & on_disk)} had published files that stay invisible"
    )
    assert set(visible.values()) == {1} and visible.keys() == committed_before | completed | committed_killed
    assert all(statuses[run] == "completed" for run in completed | committed_killed)
    for table, rows in ASSESSMENT_ROWS.items():
        whole = completed | committed_killed
        assert {run: per_table[table].get(run) for run in whole} == dict.fromkeys(whole, rows), table
        assert not (crashed - committed_killed) & per_table[table].keys(), table
