"""Compaction: the same rows before and after, while runs commit, across crashes, reruns and sweeps."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from joshua import compaction
from joshua.catalog import connect_lake
from joshua.compaction import COMPACTABLE, compact_lake, sweep_compactions
from joshua.errors import ConfigError
from joshua.lake import STALE_AFTER, commit_lock, publish, table_path, write_parquet_atomic
from tests.lake_factory import full

VIEWS = ("runs", "raw_items", "articles", "assessments", "risk_factors", "alerts", "sources", "source_history", "notifications")


# Notifications are written after their run's commit, so a compaction merges them once older than
# any run lasts: these tests compact "later" unless they test what a compaction does meanwhile.
def later() -> datetime:
    return datetime.now(UTC) + STALE_AFTER + timedelta(minutes=1)


def run_id(day: int, hour: int, tag: int = 0) -> str:
    return f"202611{day:02d}T{hour:02d}0000Z-{tag:06x}"


def commit(lake: Path, run: str, version: int = 1, articles: int = 3, status: str = "completed") -> None:
    """A run as the flows write one: stage, publish, then its `sources` and `runs` rows under the commit turn."""
    staging = lake.parent / "staging" / run
    label = f"v{version}"
    rows = [{"run_id": run, "article_id": f"{run}-{i}", "title": label} for i in range(articles)]
    write_parquet_atomic(full("articles", rows), table_path(staging, "articles", run))
    for source in ("bbc", "tass"):
        item = [{"run_id": run, "source_id": source, "title": label}]
        write_parquet_atomic(full("raw_items", item), table_path(staging, "raw_items", run, source_id=source))
    write_parquet_atomic(full("assessments", [{"run_id": run, "assessment_id": f"a-{run}", "executive_summary": label}]), table_path(staging, "assessments", run))
    write_parquet_atomic(full("risk_factors", [{"run_id": run, "assessment_id": f"a-{run}", "category": c} for c in ("x", "y")]), table_path(staging, "risk_factors", run))
    publish(staging, lake, run)
    with commit_lock(lake):
        write_parquet_atomic(full("sources", [{"run_id": run, "source_id": "bbc", "updated_at": datetime.now(UTC)}]), table_path(lake, "sources", run))
        ended = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=version)
        write_parquet_atomic(full("runs", [{"run_id": run, "status": status, "ended_at": ended}]), table_path(lake, "runs", run))
    write_parquet_atomic(full("notifications", [{"run_id": run, "event": label}]), table_path(lake, "notifications", run))


def snapshot(lake: Path) -> dict[str, list[tuple]]:
    """Every view's rows, sorted."""
    with connect_lake(lake) as con:
        return {view: con.execute(f"SELECT * FROM {view} ORDER BY ALL").fetchall() for view in VIEWS}


def files(lake: Path) -> list[Path]:
    return sorted(path for path in lake.rglob("*.parquet") if path.relative_to(lake).parts[0] != "compactions")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    for day in (27, 28):
        for hour in range(4):
            commit(lake, run_id(day, hour))
    return lake


def test_compaction_keeps_every_views_rows_and_merges_a_month_of_each_partition_into_one_file(lake):
    before, count = snapshot(lake), len(files(lake))
    report = compact_lake(lake, later())
    assert snapshot(lake) == before
    # One file each for runs, sources, notifications, assessments, risk_factors (all time), articles
    # and raw_items × 2 sources (the month).
    assert report.partitions == 8 and len(files(lake)) == 8 < count
    assert not (lake / "articles" / "date=2026-11-27").exists()  # emptied day directories go too
    assert all(path.name.startswith("compact-") for path in files(lake))
    assert compact_lake(lake, later()).partitions == 0  # idempotent: nothing left to merge
    assert snapshot(lake) == before


def test_small_tables_compact_into_one_file_for_all_time_and_articles_and_raw_items_a_month_each(tmp_path):
    lake = tmp_path / "lake"
    october = ["20261030T010000Z-000001", "20261031T010000Z-000002"]
    for run in [*october, "20261101T010000Z-000003", "20261102T010000Z-000004"]:
        commit(lake, run)
    before = snapshot(lake)
    compact_lake(lake, later())
    assert snapshot(lake) == before
    monthly = {f"{table}/{group}date={month}" for table, groups in (("articles", [""]), ("raw_items", ["source_id=bbc/", "source_id=tass/"]))
               for group in groups for month in ("2026-10", "2026-11")}
    whole = {f"{table}/date=all" for table in ("runs", "assessments", "risk_factors", "sources", "notifications")}
    assert {path.relative_to(lake).parent.as_posix() for path in files(lake)} == monthly | whole
    assert all(path.name.startswith("compact-") for path in files(lake))
    commit(lake, october[0], version=2)  # a rerun after the compaction wins, in every table
    rerun = snapshot(lake)
    assert [row for row in rerun["assessments"] if row[1] == october[0]] and all(
        "v2" in row for row in rerun["assessments"] if row[1] == october[0]
    )
    assert len(rerun["articles"]) == len(before["articles"]) and {r[0] for r in rerun["runs"]} == {r[0] for r in before["runs"]}
    compact_lake(lake, later())
    assert snapshot(lake) == rerun
    assert {path.relative_to(lake).parent.as_posix() for path in files(lake)} == monthly | whole


def test_recompaction_merges_new_runs_into_the_months_compact_file(lake):
    compact_lake(lake, later())
    commit(lake, run_id(27, 9))
    commit(lake, run_id(27, 10))
    before = snapshot(lake)
    assert len([r for r in before["articles"] if r[1] == run_id(27, 9)]) == 3
    compact_lake(lake, later())
    assert snapshot(lake) == before
    assert [p.relative_to(lake).as_posix()[:25] for p in (lake / "articles").rglob("*.parquet")] == ["articles/date=2026-11/com"]


def test_before_and_table_limit_what_is_compacted(lake):
    before = snapshot(lake)
    compact_lake(lake, later(), tables=["articles"], before=date(2026, 11, 28))
    assert [p.name.startswith("compact-") for p in (lake / "articles" / "date=2026-11").iterdir()] == [True]
    assert not (lake / "articles" / "date=2026-11-27").exists()
    assert len(list((lake / "articles" / "date=2026-11-28").iterdir())) == 4
    assert len(list((lake / "assessments" / "date=2026-11-27").iterdir())) == 4
    assert snapshot(lake) == before


def test_a_crash_before_the_commit_leaves_the_old_files_authoritative_and_the_sweep_removes_the_merge(lake, monkeypatch):
    before, originals = snapshot(lake), files(lake)
    real_write = compaction.write_parquet_atomic

    def crash_at_commit(frame, path, **options):
        if path.parts[-3] == "compactions":
            raise OSError("killed before the commit")
        return real_write(frame, path, **options)

    monkeypatch.setattr(compaction, "write_parquet_atomic", crash_at_commit)
    with pytest.raises(OSError):
        compact_lake(lake, later(), tables=["articles"])
    monkeypatch.undo()
    merged = [path for path in files(lake) if path.name.startswith("compact-")]
    assert len(merged) == 1 and set(originals) <= set(files(lake))  # one for the month
    assert snapshot(lake) == before
    assert sweep_compactions(lake, datetime.now(UTC)) == []  # maybe still being written: kept until stale
    assert sweep_compactions(lake, datetime.now(UTC) + STALE_AFTER + timedelta(minutes=1)) == merged
    assert files(lake) == originals and snapshot(lake) == before


@pytest.mark.parametrize("tables", [["articles"], ["raw_items"], None], ids=["articles", "raw_items", "every-table"])
def test_a_crash_after_the_commit_shows_the_same_rows_and_the_sweep_removes_what_was_replaced(lake, monkeypatch, tables):
    before, originals = snapshot(lake), files(lake)

    def crash(paths):
        raise OSError("killed before deleting")

    monkeypatch.setattr(compaction, "remove_replaced", crash)
    with pytest.raises(OSError):
        compact_lake(lake, later(), tables=tables)
    monkeypatch.undo()
    assert set(originals) < set(files(lake))  # every old file is still there, beside the merged ones
    assert snapshot(lake) == before  # and no row shows twice
    removed = sweep_compactions(lake, datetime.now(UTC))
    assert sorted(removed) == [path for path in originals if path.relative_to(lake).parts[0] in (tables or COMPACTABLE)]
    assert snapshot(lake) == before
    assert compact_lake(lake, later(), tables=tables).partitions == 0


def test_a_crash_after_a_recompaction_commit_hides_the_superseded_compact_file(lake, monkeypatch):
    compact_lake(lake, later())
    commit(lake, run_id(27, 9))
    before = snapshot(lake)
    monkeypatch.setattr(compaction, "remove_replaced", lambda paths: None)
    compact_lake(lake, later())
    monkeypatch.undo()
    assert len(list((lake / "articles" / "date=2026-11").glob("compact-*"))) == 2
    assert snapshot(lake) == before
    sweep_compactions(lake, datetime.now(UTC))
    assert [p.relative_to(lake).as_posix()[:25] for p in (lake / "articles").rglob("*.parquet")] == ["articles/date=2026-11/com"]
    assert snapshot(lake) == before


def test_a_rerun_of_a_compacted_run_wins_at_its_commit(lake):
    rerun = run_id(27, 1)
    compact_lake(lake, later())
    now = datetime.now(UTC)  # the rerun is in progress: its files are minutes old, not hours
    old = snapshot(lake)
    # The rerun publishes (fewer articles, one source only) but has not committed yet: readers still see the old rows.
    staging = lake.parent / "staging" / rerun
    write_parquet_atomic(full("articles", [{"run_id": rerun, "article_id": "new", "title": "v2"}]), table_path(staging, "articles", rerun))
    write_parquet_atomic(full("raw_items", [{"run_id": rerun, "source_id": "bbc", "title": "v2"}]), table_path(staging, "raw_items", rerun, source_id="bbc"))
    publish(staging, lake, rerun)
    assert snapshot(lake) == old
    assert compact_lake(lake, now).partitions == 0  # a rerun's uncommitted file is not merged
    assert sweep_compactions(lake, now) == []  # nor swept as replaced
    with commit_lock(lake):
        ended = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=2)
        write_parquet_atomic(full("runs", [{"run_id": rerun, "status": "completed", "ended_at": ended}]), table_path(lake, "runs", rerun))
    new = snapshot(lake)
    articles = [(r[1], r[4]) for r in new["articles"] if r[1] == rerun]
    assert articles == [(rerun, "v2")]
    assert [(r[0], r[8]) for r in new["raw_items"] if r[0] == rerun] == [(rerun, "v2")]  # its tass item went with the old version
    assert [r for r in new["assessments"] if r[1] == rerun] == []
    assert len(new["runs"]) == len(old["runs"])
    assert sum(1 for r in new["articles"]) == sum(1 for r in old["articles"]) - 3 + 1
    compact_lake(lake, now)
    assert snapshot(lake) == new
    sweep_compactions(lake, now)
    assert snapshot(lake) == new


def test_files_written_after_the_commit_wait_until_no_run_can_be_in_progress(lake):
    now, before = datetime.now(UTC), snapshot(lake)
    notifications = lake / "notifications" / "date=2026-11-27"
    for path in notifications.iterdir():  # deliveries go out a moment after the commit
        os.utime(path, (path.stat().st_mtime + 2, path.stat().st_mtime + 2))
    compact_lake(lake, now)
    assert len(list(notifications.iterdir())) == 4  # written after each run's commit: maybe a rerun's
    assert len(list((lake / "articles").rglob("*.parquet"))) == 1
    assert len(list((lake / "runs" / "date=2026-11-27").iterdir())) == 4  # their runs' rows wait with them
    assert snapshot(lake) == before
    compact_lake(lake, now + STALE_AFTER + timedelta(minutes=1))
    assert not notifications.exists() and len(list((lake / "notifications").rglob("*.parquet"))) == 1
    assert len(list((lake / "runs").rglob("*.parquet"))) == 1
    assert snapshot(lake) == before


def test_a_run_with_a_file_newer_than_its_commit_keeps_every_row_in_view(lake):
    # A lake copied without its modification times: one run's articles look written after its commit.
    # Its `runs` row stays in its run file, or the views would trust the compact files alone and drop the articles.
    now, before = datetime.now(UTC), snapshot(lake)
    copied = lake / "articles" / "date=2026-11-28" / f"{run_id(28, 2)}.parquet"
    os.utime(copied, (copied.stat().st_mtime + 5, copied.stat().st_mtime + 5))
    compact_lake(lake, now)
    assert copied.exists() and (lake / "runs" / "date=2026-11-28" / copied.name).exists()
    assert snapshot(lake) == before
    compact_lake(lake, now + STALE_AFTER + timedelta(minutes=1))
    assert not copied.exists() and snapshot(lake) == before


def test_runs_rows_are_compacted_only_with_every_other_table(lake):
    with pytest.raises(ConfigError, match="only together with every other table"):
        compact_lake(lake, later(), tables=["runs"])
    assert not any(path.name.startswith("compact-") for path in files(lake))


def test_runs_without_a_runs_row_are_not_compacted(lake):
    dead = run_id(27, 20)
    write_parquet_atomic(full("articles", [{"run_id": dead}]), table_path(lake, "articles", dead))
    compact_lake(lake, later())
    assert (lake / "articles" / "date=2026-11-27" / f"{dead}.parquet").exists()
    with connect_lake(lake) as con:
        assert con.execute("SELECT count(*) FROM articles WHERE run_id = $r", {"r": dead}).fetchone() == (0,)


def _writer(lake: str, day: int, runs: int) -> None:
    for hour in range(runs):
        commit(Path(lake), run_id(day, hour, tag=day))


def test_runs_committing_while_compaction_runs_lose_and_duplicate_nothing(tmp_path):
    lake = tmp_path / "lake"
    commit(lake, run_id(20, 0))
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(lake), day, 12), daemon=True) for day in (21, 22)]
    for writer in writers:
        writer.start()
    compactions = extra = 0
    deadline = time.monotonic() + 600  # the writers take seconds; a deadlock must fail, not hang
    while (any(writer.is_alive() for writer in writers) or compactions < 2) and extra < 5:
        assert time.monotonic() < deadline, "the writers did not finish within 10 minutes"
        if not any(writer.is_alive() for writer in writers):  # they finished first: give the next pass a run to merge
            commit(lake, run_id(23, extra))
            extra += 1
        compactions += compact_lake(lake, datetime.now(UTC)).partitions > 0
        with connect_lake(lake) as con:
            counts = con.execute(
                "SELECT r.run_id, count(a.article_id), count(DISTINCT a.article_id) FROM runs AS r "
                "LEFT JOIN articles AS a USING (run_id) GROUP BY ALL"
            ).fetchall()
        # Each committed run shows exactly its three articles, never fewer, never twice.
        assert all(total == 3 and distinct == 3 for _, total, distinct in counts), counts
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    compact_lake(lake, later())
    sweep_compactions(lake, later())
    with connect_lake(lake) as con:
        runs = 25 + extra
        assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone() == (3 * runs, 3 * runs)
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (runs,)
    assert compactions >= 2
    assert [p.name[:8] for p in (lake / "articles").rglob("*.parquet")] == ["compact-"]


def test_db_compact_command(tmp_path, lake):
    from typer.testing import CliRunner

    from joshua.cli import app

    data_dir = lake.parent
    before = snapshot(lake)
    result = CliRunner().invoke(app, ["db", "compact", "--data-dir", str(data_dir), "--table", "articles", "--before", "2026-11-28"])
    assert result.exit_code == 0, result.output
    assert "compacted 1 partition(s): 4 file(s) merged into 1" in result.output
    assert snapshot(lake) == before and (data_dir / "joshua.duckdb").exists()
    assert CliRunner().invoke(app, ["db", "compact", "--data-dir", str(data_dir), "--table", "calibration"]).exit_code == 2
    assert CliRunner().invoke(app, ["db", "compact", "--data-dir", str(data_dir), "--before", "soon"]).exit_code == 2


def test_an_object_store_lake_is_refused_not_half_compacted():
    from joshua.errors import ConfigError

    with pytest.raises(ConfigError, match="object-store lake"):
        compact_lake("s3://bucket/joshua/lake", later())
    assert sweep_compactions("s3://bucket/joshua/lake", later()) == []
    with pytest.raises(ConfigError, match="not compactable"):
        compact_lake(Path("lake"), later(), tables=["calibration"])


def test_compact_rows_carry_their_runs_version_sorted_by_run_and_readers_need_only_the_logs_file_names(lake):
    before = snapshot(lake)
    compact_lake(lake, later())
    (articles,) = (lake / "articles").rglob("compact-*.parquet")
    merged = pl.read_parquet(articles)
    assert merged.get_column("run_id").is_sorted()
    with connect_lake(lake) as con:
        versions = dict(con.execute("SELECT run_id, ended_at FROM runs").fetchall())
        assert sorted(row[0] for row in con.execute("FROM current_compacts").fetchall()) == sorted(map(str, files(lake)))
    assert all(versions[run] == version for run, version in merged.select("run_id", compaction.VERSION_COLUMN).iter_rows())
    (log,) = (lake / "compactions").rglob("*.parquet")
    write_parquet_atomic(pl.DataFrame(schema=compaction.COMPACTIONS), log)  # the log's rows are the compactions' business
    assert snapshot(lake) == before
    log.unlink()  # without its log file the compaction never committed: the replaced files are gone, so are the rows
    assert snapshot(lake)["articles"] == []
