"""A data directory on object storage: runs write to a real S3-compatible server (moto on 127.0.0.1),
readers on another "machine" (another HOME, no shared local files) query it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from joshua import storage
from joshua.errors import ConfigError
from joshua.settings import PROJECT_ROOT, load_settings
from tests.s3server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, S3Bucket

JOSHUA = str(Path(sys.executable).with_name("joshua"))
TABLES_OF_AN_ASSESSMENT = {"raw_items", "signals", "articles", "sources", "assessments", "risk_factors", "alerts", "runs"}


def objects(bucket: S3Bucket, below: str = "") -> list[str]:
    """Every object of the bucket's data directory (below a sub-path), as paths relative to it."""
    root = f"{bucket.url}/{below}".rstrip("/")
    return sorted(url[len(bucket.url) + 1 :] for url in storage.find(root))


def tables_of(bucket: S3Bucket, run_id: str) -> set[str]:
    return {path.split("/")[1] for path in objects(bucket, "lake") if path.endswith(f"/{run_id}.parquet")}


def cli(*args: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    """The `joshua` command in its own process, as a user on another machine runs it."""
    home.mkdir(parents=True, exist_ok=True)
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK") if name in os.environ}
    return subprocess.run(
        [JOSHUA, *args], env={**keep, **env, "HOME": str(home), "COLUMNS": "500"}, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The writer's local working directory (its HOME for this test)."""
    home = tmp_path / "writer-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.usefixtures("prefect_server")
def test_runs_write_every_table_reports_and_caches_to_the_bucket_and_readers_elsewhere_see_them(
    s3_bucket: S3Bucket, work_dir: Path, tmp_path: Path
):
    from flows.assessment import assess
    from flows.collection import collect_and_curate

    first = assess(data_dir=s3_bucket.url)
    assert first.lake_path == f"{s3_bucket.url}/lake"
    assert tables_of(s3_bucket, first.run_id) == TABLES_OF_AN_ASSESSMENT
    reports = objects(s3_bucket, "reports")
    assert {f"reports/{first.run_id}.{ext}" for ext in ("md", "html", "json")} <= set(reports)
    assert f"reports/{first.run_id}/clock.svg" in reports
    assert any(path.startswith("cache/http/") for path in objects(s3_bucket, "cache"))
    assert not storage.exists(f"{s3_bucket.url}/lake/.commit.lock")  # the commit turn was released
    assert Path(first.catalog_path).is_relative_to(work_dir)  # the catalog is a local derived file

    second = assess(data_dir=s3_bucket.url)
    collected = collect_and_curate(data_dir=s3_bucket.url)
    assert tables_of(s3_bucket, collected) == {"raw_items", "signals", "articles", "sources", "runs"}
    assert second.assessment.delta_seconds == 0  # the second run read the first from the bucket as its history

    # The sources' running totals went through three commits, each on top of the last.
    with duckdb.connect(second.catalog_path, read_only=True) as con:
        storage.register(con, s3_bucket.url)
        attempts = {row[0] for row in con.execute("SELECT attempts FROM sources WHERE attempts > 0").fetchall()}
        runs = con.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall()
    assert runs == sorted([(first.run_id, "completed"), (second.run_id, "completed"), (collected, "completed")])
    assert attempts == {3}

    # Another machine: an empty HOME, nothing local but the environment.
    reader = tmp_path / "reader-home"
    env = {**s3_bucket.env, "JOSHUA_DATA_DIR": s3_bucket.url}
    rebuilt = cli("db", "rebuild", env=env, home=reader)
    assert rebuilt.returncode == 0, rebuilt.stderr
    catalog = Path(rebuilt.stdout.split("rebuilt ", 1)[1].strip())
    assert catalog.is_file() and catalog.is_relative_to(reader / ".cache" / "joshua")
    history = cli("history", "--format", "json", env=env, home=reader)
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)["assessments"]) == 2
    trends = cli("trends", "--period", "all", env=env, home=reader)
    assert trends.returncode == 0 and "chart file(s) in" in trends.stdout, trends.stderr
    report = cli("report", "--format", "md", env=env, home=reader)
    assert report.returncode == 0, report.stderr
    assert Path(report.stdout.strip()).read_text(encoding="utf-8").count(second.run_id) >= 1
    explicit = cli("db", "rebuild", "--catalog", str(tmp_path / "mine.duckdb"), env=env, home=reader)
    assert explicit.returncode == 0 and (tmp_path / "mine.duckdb").is_file()

    # The README's one-liners read the bucket directly.
    lake = f"{s3_bucket.url}/lake"
    direct = pl.scan_parquet(f"{lake}/assessments/**/*.parquet").select("run_id").collect()
    assert sorted(direct["run_id"]) == sorted([first.run_id, second.run_id])

    # No secret reached the bucket (lake, reports, caches), the local files or the commands' output.
    for path in objects(s3_bucket):
        content = storage.read_bytes(f"{s3_bucket.url}/{path}")
        assert SECRET_ACCESS_KEY.encode() not in content and ACCESS_KEY_ID.encode() not in content, path
    for path in [*work_dir.rglob("*"), *reader.rglob("*")]:
        if path.is_file():
            content = path.read_bytes()
            assert SECRET_ACCESS_KEY.encode() not in content and ACCESS_KEY_ID.encode() not in content, path
    for result in (rebuilt, history, trends, report):
        assert SECRET_ACCESS_KEY not in result.stdout + result.stderr


@pytest.mark.usefixtures("prefect_server")
def test_a_run_that_fails_after_publishing_leaves_nothing_visible(s3_bucket: S3Bucket, work_dir: Path, monkeypatch):
    import tasks.report
    from flows.assessment import assess

    def broken_report(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(tasks.report, "write_report", broken_report)
    with pytest.raises(OSError, match="disk full"):
        assess(data_dir=s3_bucket.url, run_id="20261130T100000Z-fa11ed")
    assert tables_of(s3_bucket, "20261130T100000Z-fa11ed") == {"runs", "sources"}  # the failed row, and its sources' outage
    settings = load_settings(data_dir=s3_bucket.url)
    from joshua.catalog import connect_lake

    with connect_lake(settings.paths.lake) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
        assert con.execute("SELECT count(*) FROM assessments").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


@pytest.mark.usefixtures("prefect_server")
def test_a_run_killed_while_it_publishes_never_shows_half_of_itself(s3_bucket: S3Bucket, tmp_path: Path):
    """SIGKILL `joshua assess` as soon as its first lake object lands: either its `runs` row made it
    (and then every table did), or readers see nothing of it."""
    import signal

    from prefect.settings import PREFECT_API_URL

    from joshua.catalog import connect_lake

    run_id = "20261130T110000Z-c0ffee"
    home = tmp_path / "killed-home"
    home.mkdir()
    keep = {name: os.environ[name] for name in ("PATH", "LANG") if name in os.environ}
    env = {**keep, **s3_bucket.env, "HOME": str(home), "PREFECT_API_URL": PREFECT_API_URL.value(), "JOSHUA_DATA_DIR": s3_bucket.url}
    process = subprocess.Popen([JOSHUA, "assess", "--run-id", run_id, "--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fs, deadline = storage.filesystem(s3_bucket.url), time.monotonic() + 600  # Prefect starts slowly on a loaded machine
    try:
        while not tables_of(s3_bucket, run_id) and process.poll() is None and time.monotonic() < deadline:
            fs.invalidate_cache()
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    fs.invalidate_cache()
    landed = tables_of(s3_bucket, run_id)
    assert landed, "the run published nothing before the deadline"
    with connect_lake(f"{s3_bucket.url}/lake") as con:
        visible = {table: con.execute(f"SELECT count(*) FROM {table} WHERE run_id = $r", {"r": run_id}).fetchone()[0] for table in ("assessments", "articles", "raw_items", "risk_factors")}
        status = con.execute("SELECT status FROM runs WHERE run_id = $r", {"r": run_id}).fetchall()
    if "runs" in landed:
        assert status == [("completed",)] and landed == TABLES_OF_AN_ASSESSMENT
    else:
        assert status == [] and set(visible.values()) == {0}, (landed, visible)


@pytest.mark.usefixtures("prefect_server")
def test_two_hosts_running_at_once_both_commit_and_lose_no_update(s3_bucket: S3Bucket, tmp_path: Path):
    """Two `joshua assess` processes, each with its own HOME (no shared local file, no shared flock),
    on one bucket: both commit, and every source's running totals count both runs."""
    from prefect.settings import PREFECT_API_URL

    from joshua.catalog import connect_lake

    keep = {name: os.environ[name] for name in ("PATH", "LANG") if name in os.environ}
    processes = []
    for host in ("host-a", "host-b"):
        home = tmp_path / host
        home.mkdir()
        env = {**keep, **s3_bucket.env, "HOME": str(home), "PREFECT_API_URL": PREFECT_API_URL.value(), "JOSHUA_DATA_DIR": s3_bucket.url}
        processes.append(subprocess.Popen([JOSHUA, "assess", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err[-6000:] for _, err in outputs]
    run_ids = sorted(json.loads(out)["run_id"] for out, _ in outputs)
    with connect_lake(f"{s3_bucket.url}/lake") as con:
        assert con.execute("SELECT run_id FROM runs WHERE status = 'completed' ORDER BY run_id").fetchall() == [(r,) for r in run_ids]
        attempts = {row[0] for row in con.execute("SELECT attempts FROM sources WHERE attempts > 0").fetchall()}
    assert attempts == {2}  # the second commit built on the first one's totals
    assert not storage.exists(f"{s3_bucket.url}/lake/.commit.lock")


def test_a_killed_run_is_invisible_and_swept_once_stale(s3_bucket: S3Bucket, work_dir: Path):
    """A run killed between publishing and its `runs` row: readers never see it; the sweep removes it."""
    from joshua.catalog import connect_lake
    from joshua.lake import publish, sweep_uncommitted, table_path, write_parquet_atomic
    from tests.lake_factory import full

    lake = f"{s3_bucket.url}/lake"
    committed, killed = "20261127T070000Z-111111", "20261127T080000Z-222222"
    for run_id in (committed, killed):
        staging = work_dir / "staging" / run_id
        write_parquet_atomic(full("assessments", [{"run_id": run_id}]), table_path(staging, "assessments", run_id))
        write_parquet_atomic(full("articles", [{"run_id": run_id}]), table_path(staging, "articles", run_id))
        publish(staging, lake, run_id)
        assert not staging.exists()
    write_parquet_atomic(full("runs", [{"run_id": committed, "status": "completed"}]), table_path(lake, "runs", committed))
    with connect_lake(lake) as con:
        assert con.execute("SELECT DISTINCT run_id FROM articles").fetchall() == [(committed,)]
    assert sweep_uncommitted(lake, datetime.now(UTC)) == []  # too recent: it might still be publishing
    removed = sweep_uncommitted(lake, datetime.now(UTC) + timedelta(hours=2))
    assert sorted(url.rsplit("/", 3)[1] for url in removed) == ["articles", "assessments"]
    assert tables_of(s3_bucket, killed) == set() and tables_of(s3_bucket, committed) == {"runs", "assessments", "articles"}


def test_a_rerun_replaces_its_objects(s3_bucket: S3Bucket, work_dir: Path):
    from joshua.lake import publish, table_path, write_parquet_atomic
    from tests.lake_factory import full

    lake, run_id = f"{s3_bucket.url}/lake", "20261127T070000Z-111111"
    staging = work_dir / "staging" / run_id
    write_parquet_atomic(full("articles", [{"run_id": run_id}]), table_path(staging, "articles", run_id))
    write_parquet_atomic(full("alerts", [{"run_id": run_id}]), table_path(staging, "alerts", run_id))
    publish(staging, lake, run_id)
    write_parquet_atomic(full("articles", [{"run_id": run_id}, {"run_id": run_id}]), table_path(staging, "articles", run_id))
    published = publish(staging, lake, run_id)
    assert published == [table_path(lake, "articles", run_id)]
    assert tables_of(s3_bucket, run_id) == {"articles"}
    assert pl.read_parquet(storage.read_bytes(str(published[0]))).height == 2


def test_the_commit_lock_serializes_hosts_and_breaks_only_an_expired_lock(s3_bucket: S3Bucket):
    url = f"{s3_bucket.url}/lake/.commit.lock"
    inside, overlaps = [0], []

    def commit() -> None:
        with storage.object_lock(url, poll_s=0.01):
            inside[0] += 1
            overlaps.append(inside[0])
            time.sleep(0.05)
            inside[0] -= 1

    threads = [threading.Thread(target=commit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == [1, 1, 1, 1]  # never two holders at once
    assert not storage.exists(url)

    # A holder that died: its lock is broken once expired, not before.
    # Timed from before the lock's expiry is set: a slow write then cannot eat into the wait.
    started = time.monotonic()
    storage.put_bytes(url, json.dumps({"holder": "dead", "expires_at": time.time() + 0.5}).encode())
    with storage.object_lock(url, poll_s=0.05):
        waited = time.monotonic() - started
    assert 0.4 < waited < 60  # well below LOCK_EXPIRY_S: a loaded machine is slow, not stuck
    # A lock that is not ours is never deleted on release.
    with storage.object_lock(url):
        storage.remove([url])
        storage.put_bytes(url, json.dumps({"holder": "successor", "expires_at": time.time() + 60}).encode())
    assert json.loads(storage.read_bytes(url))["holder"] == "successor"


def test_caches_travel_through_the_bucket_with_their_age(s3_bucket: S3Bucket, tmp_path: Path):
    from joshua.analyze.cache import ReplyCache
    from joshua.settings import RunPaths
    from joshua.store import pull_caches, push_caches

    host_a = RunPaths.remote_under(s3_bucket.url, tmp_path / "a")
    host_b = RunPaths.remote_under(s3_bucket.url, tmp_path / "b")
    before = time.time()
    ReplyCache(host_a.cache / "claude", ttl_hours=1).put("k" * 64, {"reply": 1})
    # The kernel's coarse file clock can stamp a file written after `before` a few ms earlier.
    (fresh,) = (host_a.cache / "claude").glob("k*")
    os.utime(fresh, (before - 0.004, before - 0.004))
    old = host_a.cache / "claude" / "stale.json"
    old.write_text("{}", encoding="utf-8")
    os.utime(old, (before - 3600, before - 3600))
    assert push_caches(host_a, since=before) == 1  # only what this run wrote
    assert pull_caches(host_b, claude_ttl_hours=1, now=time.time()) == 1
    assert ReplyCache(host_b.cache / "claude", ttl_hours=1).get("k" * 64) == {"reply": 1}
    assert pull_caches(host_b, claude_ttl_hours=1, now=time.time()) == 0  # already current
    assert pull_caches(host_a.model_copy(update={"cache": tmp_path / "c"}), claude_ttl_hours=1, now=time.time() + 7200) == 0  # expired
    storage.put_bytes(f"{s3_bucket.url}/cache/http/../../escape.json", b"{}")
    assert pull_caches(host_b, claude_ttl_hours=1, now=time.time()) == 0
    assert not (tmp_path / "escape.json").exists() and not (tmp_path / "b" / "escape.json").exists()


@pytest.mark.parametrize(
    ("data_dir", "expected"),
    [
        ("ftp://bucket/prefix", "unsupported scheme 'ftp'"),
        (f"s3://{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}@bucket/prefix", "credentials or options in the URL are refused"),
        ("s3://bucket/prefix?secret=x", "credentials or options in the URL are refused"),
        ("s3:///prefix", "no bucket named"),
    ],
)
def test_bad_urls_are_configuration_errors_that_show_no_secret(data_dir, expected):
    with pytest.raises(ConfigError) as raised:
        load_settings(data_dir=data_dir)
    assert expected in str(raised.value)
    assert SECRET_ACCESS_KEY not in str(raised.value) and "secret=x" not in str(raised.value)


def test_a_scheme_without_its_package_names_the_package():
    pytest.importorskip("s3fs")
    if any(__import__("importlib").util.find_spec(name) for name in ("gcsfs",)):
        pytest.skip("gcsfs is installed")
    with pytest.raises(ConfigError, match=r"needs the gcsfs package"):
        storage.filesystem("gs://bucket/prefix")


def test_unreachable_or_unusable_storage_exits_2_with_a_clear_message(s3_bucket: S3Bucket, tmp_path: Path):
    home = tmp_path / "home"
    no_credentials = {k: v for k, v in s3_bucket.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    cases = [
        (no_credentials, s3_bucket.url, "no credentials found in the environment"),
        (s3_bucket.env, "s3://no-such-bucket-joshua/x", "bucket 'no-such-bucket-joshua' does not exist"),
        ({**s3_bucket.env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, s3_bucket.url, "cannot reach the object store"),
        (s3_bucket.env, f"s3://{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}@{s3_bucket.bucket}/x", "credentials or options in the URL"),
    ]
    for env, url, message in cases:
        for command in (["history"], ["db", "rebuild"], ["assess"]):
            result = cli(*command, "--data-dir", url, env={**env, "AWS_MAX_ATTEMPTS": "1"}, home=home)
            assert result.returncode == 2, (command, url, result.stderr)
            assert message in result.stderr and "Traceback" not in result.stderr
            assert SECRET_ACCESS_KEY not in result.stdout + result.stderr


def test_runs_refuse_stores_they_cannot_commit_to_before_starting():
    from joshua.run import open_run
    from schemas.records import AssessmentParams

    with pytest.raises(ConfigError, match=r"gs:// can be read .* but not written yet"):
        open_run(AssessmentParams(), load_settings(data_dir="gs://bucket/prefix"))


def test_local_data_dirs_keep_their_layout(tmp_path: Path):
    settings = load_settings(data_dir=str(tmp_path / "data"))
    assert settings.paths.lake == tmp_path / "data" / "lake" and settings.paths.remote is None
    assert load_settings().data_dir == PROJECT_ROOT / "data"


def test_a_catalog_refresh_that_fails_after_the_commit_does_not_undo_it(s3_bucket: S3Bucket, tmp_path: Path, monkeypatch):
    import joshua.store
    from joshua.catalog import connect_lake
    from joshua.run import RunContext
    from joshua.settings import RunPaths
    from joshua.store import commit_run, run_record

    run_id = "20261127T070000Z-111111"
    started = datetime(2026, 11, 27, 7, tzinfo=UTC)
    run = RunContext(run_id=run_id, started_at=started, as_of=started, paths=RunPaths.remote_under(s3_bucket.url, tmp_path).for_run(run_id))
    record = run_record(run, status="completed", ended_at=started, analyzer="heuristic", data_label="t", stages=[], outcomes=[], errors=[])

    def unreachable(*args: object) -> None:
        raise duckdb.IOException("connection reset")

    monkeypatch.setattr(joshua.store, "build_catalog", unreachable)
    problem = commit_run(run, record)
    assert problem is not None and run_id in problem and "IOException" in problem
    with connect_lake(run.paths.lake) as con:
        assert con.execute("SELECT run_id, status FROM runs").fetchall() == [(run_id, "completed")]
