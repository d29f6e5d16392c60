"""The lake's files: run ids, hive paths, atomic writes, publishing and the table contracts."""

import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from joshua.catalog import build_catalog
from joshua.errors import ConfigError, SchemaViolation
from joshua.lake import conform, discard, new_run_id, publish, run_date, sweep_staging, table_path, write_parquet_atomic
from tests.lake_factory import full

RUN = "20261127T060000Z-abcdef"


def test_run_ids_carry_their_date():
    run_id = new_run_id(datetime(2026, 11, 27, 6, 0, 5, tzinfo=UTC))
    assert run_id.startswith("20261127T060005Z-") and run_date(run_id) == "2026-11-27"
    with pytest.raises(ConfigError, match="not of the form"):
        run_date("../../etc")


def test_table_path_is_hive_partitioned(tmp_path):
    path = table_path(tmp_path, "raw_items", RUN, source_id="bbc")
    assert path == tmp_path / "raw_items" / "source_id=bbc" / "date=2026-11-27" / f"{RUN}.parquet"


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "t" / "x.parquet")
    assert pl.read_parquet(path)["a"].to_list() == [1]
    assert [p.name for p in path.parent.iterdir()] == ["x.parquet"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "x.parquet")
    with pytest.raises(pl.exceptions.ComputeError):
        write_parquet_atomic(pl.DataFrame({"a": [object()]}), path)  # objects cannot go to Parquet
    assert pl.read_parquet(path)["a"].to_list() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_publish_replaces_a_rerun_instead_of_adding(tmp_path):
    staging, lake = tmp_path / "staging", tmp_path / "lake"
    for source in ("a", "b"):
        write_parquet_atomic(pl.DataFrame({"v": [1]}), table_path(staging, "raw_items", RUN, source_id=source))
    publish(staging, lake, RUN)
    write_parquet_atomic(pl.DataFrame({"v": [2]}), table_path(staging, "raw_items", RUN, source_id="a"))
    publish(staging, lake, RUN)
    files = sorted(lake.rglob("*.parquet"))
    assert len(files) == 1 and pl.read_parquet(files[0])["v"].to_list() == [2]
    assert not staging.exists()


def test_conform_names_the_missing_columns_as_a_schema_violation():
    with pytest.raises(SchemaViolation) as caught:
        conform(pl.DataFrame({"run_id": ["r"]}), "alerts")
    assert caught.value.table == "alerts" and "assessment_id" in caught.value.failures[0]


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "x", " "])
def test_a_run_id_with_anything_after_it_is_refused(suffix):
    from joshua.lake import run_date

    assert run_date("20261127T060000Z-abcdef") == "2026-11-27"
    with pytest.raises(ConfigError, match="is not of the form"):
        run_date("20261127T060000Z-abcdef" + suffix)


def test_a_rebuild_that_saw_an_empty_lake_never_lands_after_a_runs_refresh(tmp_path, monkeypatch):
    """Forced interleaving: a rebuild inspects the empty lake and stalls; a run commits and refreshes
    the catalog meanwhile; the stalled rebuild must not then replace the run's catalog with empty views."""
    import threading

    import joshua.catalog as catalog_module

    lake, catalog = tmp_path / "lake", tmp_path / "joshua.duckdb"
    inspected, resume = threading.Event(), threading.Event()
    real_create_views = catalog_module.create_views

    def create_views_then_stall(con, lake_dir, only=None):
        real_create_views(con, lake_dir, only)
        if threading.current_thread().name == "rebuild":
            inspected.set()
            resume.wait(timeout=10)

    monkeypatch.setattr(catalog_module, "create_views", create_views_then_stall)
    rebuild = threading.Thread(target=build_catalog, args=(lake, catalog), name="rebuild")
    rebuild.start()
    assert inspected.wait(timeout=10)
    write_parquet_atomic(full("runs", [{"run_id": RUN, "status": "completed"}]), table_path(lake, "runs", RUN))
    refresh = threading.Thread(target=build_catalog, args=(lake, catalog), name="refresh")  # the run's own
    refresh.start()
    refresh.join(timeout=1)  # it waits for the rebuild's turn (before the fix it finished here)
    resume.set()
    rebuild.join(timeout=30)
    refresh.join(timeout=30)
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("SELECT run_id FROM runs").fetchall() == [(RUN,)]

def _age(path: Path, seconds: float) -> None:
    import os

    when = path.stat().st_mtime - seconds
    os.utime(path, (when, when))


def test_files_of_runs_that_never_committed_are_swept_once_stale(tmp_path):
    from datetime import timedelta

    from joshua.lake import STALE_AFTER, sweep_staging, sweep_uncommitted

    lake, now = tmp_path / "lake", datetime.now(UTC)
    committed, failed, dead, in_flight = RUN, "20261127T070000Z-111111", "20261127T080000Z-222222", "20261127T090000Z-333333"
    for run_id in (committed, failed):
        write_parquet_atomic(full("runs", [{"run_id": run_id, "status": "completed"}]), table_path(lake, "runs", run_id))
    kept, swept = [], []
    for run_id in (committed, failed, dead, in_flight):
        for table in ("articles", "notifications"):
            path = write_parquet_atomic(full(table, [{"run_id": run_id}]), table_path(lake, table, run_id))
            if run_id != in_flight:
                _age(path, STALE_AFTER.total_seconds() + 60)
            (swept if run_id == dead else kept).append(path)
    stray = table_path(lake, "articles", committed).with_name(".x.parquet.0badc0de.tmp")
    stray.write_bytes(b"half a file")
    _age(stray, STALE_AFTER.total_seconds() + 60)
    # A direct read sees the dead run's rows until the sweep.
    assert dead in pl.scan_parquet(str(lake / "articles" / "**" / "*.parquet")).collect()["run_id"].to_list()
    removed = sweep_uncommitted(lake, now)
    assert sorted(removed) == sorted([*swept, stray])
    assert all(path.exists() for path in kept)  # committed runs, and a run still publishing
    assert dead not in pl.scan_parquet(str(lake / "articles" / "**" / "*.parquet")).collect()["run_id"].to_list()
    assert sweep_uncommitted(lake, now) == []

    staging = tmp_path / "staging"
    old = write_parquet_atomic(pl.DataFrame({"v": [1]}), table_path(staging / dead, "articles", dead))
    for path in (old, old.parent, old.parent.parent, staging / dead):
        _age(path, STALE_AFTER.total_seconds() + 60)
    fresh = write_parquet_atomic(pl.DataFrame({"v": [1]}), table_path(staging / in_flight, "articles", in_flight))
    assert sweep_staging(staging, now) == [staging / dead]
    assert fresh.exists() and not (staging / dead).exists()
    assert sweep_staging(staging, now + timedelta(hours=2)) == [staging / in_flight]


def test_a_failed_run_removes_what_it_had_published(tmp_path):
    from joshua.lake import unpublish

    lake = tmp_path / "lake"
    for table in ("articles", "assessments"):
        write_parquet_atomic(full(table, [{"run_id": RUN}]), table_path(lake, table, RUN))
    write_parquet_atomic(full("articles", [{"run_id": "20261127T070000Z-111111"}]), table_path(lake, "articles", "20261127T070000Z-111111"))
    runs = write_parquet_atomic(full("runs", [{"run_id": RUN, "status": "failed"}]), table_path(lake, "runs", RUN))
    assert len(unpublish(lake, RUN)) == 2
    assert sorted(p.stem for p in lake.rglob("*.parquet")) == [RUN, "20261127T070000Z-111111"]
    assert runs.exists()


def test_sweeping_staging_while_other_runs_create_and_discard_theirs_never_raises(tmp_path):
    """Runs start (and sweep) while others discard their staging: what vanishes mid-walk is skipped."""
    staging_root = tmp_path / "staging"
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            for run in range(4):
                nested = staging_root / f"run-{run}" / "articles" / "date=2026-11-30"
                nested.mkdir(parents=True, exist_ok=True)
                (nested / f"run-{run}.parquet").write_bytes(b"x")
            for run in range(4):
                discard(staging_root / f"run-{run}")

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(2000):
            assert sweep_staging(staging_root, datetime.now(UTC)) == []  # nothing is an hour old
    finally:
        stop.set()
        worker.join()
