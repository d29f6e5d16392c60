"""The Parquet lake: hive-partitioned tables, atomic writes, publish-then-commit runs.

A run stages its files under `staging/<run_id>/` with the lake's own layout. Publishing moves them
into `lake/` one atomic rename at a time and writes the run's `runs` row last: readers (the DuckDB
views) only see rows of runs whose `runs` row says `completed`, so a crash mid-publish never shows
a partial run, and rerunning a run id replaces its files instead of adding to them.

A run that fails removes what it had published before writing its `failed` row. A run that never
wrote a `runs` row at all (killed, or its machine lost) leaves files that `sweep_uncommitted`
removes once they are older than any run can last (`STALE_AFTER`): staging directories at the start
of every run, files in the lake with `joshua db sweep` or the weekly maintenance flow.

Compaction (joshua/compaction.py) merges a month of a table's run files (per source for the tables
partitioned by source) into `date=YYYY-MM/compact-<id>.parquet` and commits by writing one file to
the `compactions` log, never by renaming a directory, so the protocol suits an object store. The
views show each committed row from exactly one file: a run file unless a committed compaction
covers its run at the run's current version (its `runs` row's `ended_at`), else the latest such
compaction's file. Publishing takes the commit turn (`commit_lock`) that a compaction holds, so a
rerun never replaces a file a compaction is reading; its new `runs` row uncovers it at its commit.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from joshua.errors import ConfigError, SchemaViolation
from schemas.tables import TABLES

RUN_ID_PATTERN = re.compile(r"(\d{8})T(\d{6})Z-[0-9a-f]{6}")  # used with fullmatch: `$` lets "\n" through
# Older than any run can be: flows time out after 10 minutes. Files of a run with no `runs` row
# that are older than this belong to a run that died.
STALE_AFTER = timedelta(hours=1)


def new_run_id(started_at: datetime) -> str:
    """A sortable, unique run id such as `20261127T060000Z-3fa2c1`."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_date(run_id: str) -> str:
    """The partition date (YYYY-MM-DD) of a run, read from its id so reruns land in place."""
    match = RUN_ID_PATTERN.fullmatch(run_id)
    if match is None:
        raise ConfigError(f"run id {run_id!r} is not of the form YYYYMMDDTHHMMSSZ-xxxxxx (6 hex digits)")
    day = match.group(1)
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def table_path(root: Path, table: str, run_id: str, **partitions: str) -> Path:
    """Where one run's file of a table lives: table/key=value/.../date=D/<run_id>.parquet."""
    parts = [f"{key}={value}" for key, value in partitions.items()]
    return root.joinpath(table, *parts, f"date={run_date(run_id)}", f"{run_id}.parquet")


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame under a temporary name and rename it into place (never a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        frame.write_parquet(temporary, compression="zstd", statistics=True)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select and cast a frame's columns to a table's contract, in contract order."""
    schema = TABLES[table]
    missing = [name for name in schema.names() if name not in frame.columns]
    if missing:
        raise SchemaViolation(table, [f"lacks columns {missing}"])
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


def run_files(root: Path, run_id: str) -> Iterator[Path]:
    """Every file a run has under a lake or staging root."""
    if root.is_dir():
        yield from root.rglob(f"{run_id}.parquet")


def publish(staging: Path, lake: Path, run_id: str) -> list[Path]:
    """Move a run's staged files into the lake, replacing any earlier files of the same run id.

    Under the commit turn, so a rerun never replaces a file that a compaction is reading.
    """
    staged = sorted(run_files(staging, run_id))
    targets = {lake / path.relative_to(staging) for path in staged}
    published = []
    with commit_lock(lake):
        for stale in run_files(lake, run_id):
            if stale not in targets:
                stale.unlink()
        for path in staged:
            target = lake / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            published.append(target)
    discard(staging)
    return published


@contextlib.contextmanager
def commit_lock(lake: Path) -> Iterator[None]:
    """Hold the lake's commit turn (an exclusive lock on `lake/.commit.lock`, freed if the process dies)."""
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".commit.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def discard(staging: Path) -> None:
    """Remove a run's staging directory, and the staging root once no run uses it."""
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # another run is staging: it removes the root later
        staging.parent.rmdir()


def unpublish(lake: Path, run_id: str) -> list[Path]:
    """Remove every file a run has in the lake except its `runs` row (a failing run's own clean-up)."""
    with commit_lock(lake):
        removed = [path for path in run_files(lake, run_id) if path.relative_to(lake).parts[0] != "runs"]
        for path in removed:
            path.unlink(missing_ok=True)
    return removed


def _recorded_runs(lake: Path) -> set[str]:
    """Run ids that have a `runs` row, completed or failed."""
    if not has_files(lake, "runs"):
        return set()
    runs = pl.scan_parquet(table_glob(lake, "runs"), hive_partitioning=False, glob=True)
    return set(runs.select("run_id").collect().get_column("run_id").to_list())


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile (another sweep, a rerun)
        return False


def sweep_staging(staging_root: Path, now: datetime, stale_after: timedelta = STALE_AFTER) -> list[Path]:
    """Remove the staging directories of runs that died (nothing in them newer than `stale_after`)."""
    cutoff = (now - stale_after).timestamp()
    removed = []
    if staging_root.is_dir():
        for directory in staging_root.iterdir():
            files = [path for path in directory.rglob("*") if path.is_file()] if directory.is_dir() else [directory]
            if all(_older_than(path, cutoff) for path in files) and _older_than(directory, cutoff):
                if directory.is_dir():
                    shutil.rmtree(directory, ignore_errors=True)
                else:
                    directory.unlink(missing_ok=True)
                removed.append(directory)
    return removed


def sweep_uncommitted(lake: Path, now: datetime, stale_after: timedelta = STALE_AFTER) -> list[Path]:
    """Remove the lake files of runs that never wrote a `runs` row, and stray temporary files.

    Only files older than `stale_after` go: a run in progress publishes its files moments before
    it writes its `runs` row, and must not lose them in between.
    """
    cutoff = (now - stale_after).timestamp()
    recorded = _recorded_runs(lake)
    removed = []
    for path in sorted(lake.rglob("*")) if lake.is_dir() else []:
        if not path.is_file() or path.relative_to(lake).parts[0] == "runs":
            continue
        stray_temporary = path.name.startswith(".") and path.name.endswith(".tmp")
        orphan = path.suffix == ".parquet" and RUN_ID_PATTERN.fullmatch(path.stem) and path.stem not in recorded
        if (stray_temporary or orphan) and _older_than(path, cutoff):
            path.unlink(missing_ok=True)
            removed.append(path)
    for directory in sorted({path.parent for path in removed}, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: other runs' files live there
            directory.rmdir()
    return removed


def table_glob(lake: Path, table: str) -> str:
    """The glob that matches every file of a table (the directory's own `[`, `*`, `?` escaped)."""
    return f"{glob.escape(str(lake / table))}/**/*.parquet"


def has_files(lake: Path, table: str) -> bool:
    """Whether a table has at least one file."""
    return any((lake / table).rglob("*.parquet")) if (lake / table).is_dir() else False
