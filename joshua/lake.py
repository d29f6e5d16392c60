"""The Parquet lake: hive-partitioned tables, atomic writes, publish-then-commit runs.

A run stages its files under `staging/<run_id>/` with the lake's own layout. Publishing moves them
into `lake/` one atomic rename at a time and writes the run's `runs` row last: readers (the DuckDB
views) only see rows of runs whose `runs` row says `completed`, so a crash mid-publish never shows
a partial run, and rerunning a run id replaces its files instead of adding to them.

The lake may also be an object-store URL (joshua/storage.py): the same layout, files uploaded in
place of renames (one PUT is atomic), the `runs` row still written last, and the commit turn held
through a conditional-write lock object instead of a local file lock.

A run that fails removes what it had published before writing its `failed` row. A run that never
wrote a `runs` row at all (killed, or its machine lost) leaves files that `sweep_uncommitted`
removes once they are older than any run can last (`STALE_AFTER`): staging directories at the start
of every run, files in the lake with `joshua db sweep` or the weekly maintenance flow.

Compaction (joshua/compaction.py) merges a table's run files (per source for the tables partitioned
by source) into `date=all/compact-<id>.parquet`, or a month's into `date=YYYY-MM/…` for articles
and raw items, and commits by writing one file to
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
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import polars as pl

from joshua import storage
from joshua.errors import ConfigError, SchemaViolation
from schemas.tables import TABLES

# A lake root or file: a local path, or an object-store URL (a string).
Location = Path | str
L = TypeVar("L", Path, str)

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


def table_path(root: L, table: str, run_id: str, **partitions: str) -> L:
    """Where one run's file of a table lives: table/key=value/.../date=D/<run_id>.parquet."""
    parts = [f"{key}={value}" for key, value in partitions.items()]
    return storage.join(root, table, *parts, f"date={run_date(run_id)}", f"{run_id}.parquet")  # type: ignore[return-value]


def write_parquet_atomic(frame: pl.DataFrame, path: L, row_group_size: int | None = None) -> L:
    """Write a frame under a temporary name and rename it into place (never a partial file); an
    object is written in one PUT, which is atomic."""
    if isinstance(path, str):
        storage.put_bytes(path, storage.write_parquet_bytes(frame))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        frame.write_parquet(temporary, compression="zstd", statistics=True, row_group_size=row_group_size)
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


def run_files(root: Location, run_id: str) -> Iterator[Location]:
    """Every file a run has under a lake or staging root."""
    if isinstance(root, str):
        yield from (url for url in storage.find(root) if url.rsplit("/", 1)[-1] == f"{run_id}.parquet")
    elif root.is_dir():
        yield from root.rglob(f"{run_id}.parquet")


def relative_parts(root: Location, path: Location) -> tuple[str, ...]:
    """A file's path below a lake or staging root, as parts (the first is the table)."""
    if isinstance(root, str):
        return tuple(str(path)[len(root.rstrip("/")) + 1 :].split("/"))
    return Path(path).relative_to(root).parts


def publish(staging: Path, lake: Location, run_id: str) -> list[Location]:
    """Move a run's staged files into the lake, replacing any earlier files of the same run id.

    Under the commit turn, so a rerun never replaces a file that a compaction is reading.
    """
    if isinstance(lake, str):
        return _upload(staging, lake, run_id)
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


# Tables whose rows the commit writes itself (on top of the latest committed state, under the
# commit lock): on an object store their staged copies stay local, since uploading one only to
# replace it at commit would change an object under other hosts' readers.
WRITTEN_AT_COMMIT = frozenset({"sources"})


def _upload(staging: Path, lake: str, run_id: str) -> list[Location]:
    """`publish` to an object store: upload each staged file (one PUT each), then drop staging."""
    staged = sorted(
        Path(path) for path in run_files(staging, run_id) if relative_parts(staging, path)[0] not in WRITTEN_AT_COMMIT
    )
    targets = [storage.join(lake, *path.relative_to(staging).parts) for path in staged]
    storage.remove(stale for stale in run_files(lake, run_id) if stale not in targets)
    for path, target in zip(staged, targets, strict=True):
        storage.upload(path, str(target))
    discard(staging)
    return targets


@contextlib.contextmanager
def commit_lock(lake: Location) -> Iterator[None]:
    """Hold the lake's commit turn (an exclusive lock on `lake/.commit.lock`, freed if the process
    dies); on an object store, a lock object every host sees (`storage.object_lock`)."""
    if isinstance(lake, str):
        with storage.object_lock(storage.join(lake, ".commit.lock")):  # type: ignore[arg-type]
            yield
        return
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".commit.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def discard(staging: Path) -> None:
    """Remove a run's staging directory, and the staging root once no run uses it."""
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # another run is staging: it removes the root later
        staging.parent.rmdir()


def unpublish(lake: Location, run_id: str) -> list[Location]:
    """Remove every file a run has in the lake except its `runs` row (a failing run's own clean-up)."""
    with commit_lock(lake):
        removed = [path for path in run_files(lake, run_id) if relative_parts(lake, path)[0] != "runs"]
        if isinstance(lake, str):
            storage.remove(str(path) for path in removed)
        for path in removed:
            if isinstance(path, Path):
                path.unlink(missing_ok=True)
    return removed


def _recorded_runs(lake: Location) -> set[str]:
    """Run ids that have a `runs` row, completed or failed."""
    if not has_files(lake, "runs"):
        return set()
    if isinstance(lake, str):
        return {url.rsplit("/", 1)[-1].removesuffix(".parquet") for url in storage.find(storage.join(lake, "runs"))}  # type: ignore[arg-type]
    runs = pl.scan_parquet(table_glob(lake, "runs"), hive_partitioning=False, glob=True)
    return set(runs.select("run_id").collect().get_column("run_id").to_list())


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile (another sweep, a rerun)
        return False


def _files_under(directory: Path) -> list[Path]:
    """The files under a directory; parts that another run removes meanwhile are skipped, not raised
    (os.walk ignores what vanishes, where Path.rglob raises FileNotFoundError)."""
    return [Path(root, name) for root, _, names in os.walk(directory) for name in names]


def sweep_staging(staging_root: Path, now: datetime, stale_after: timedelta = STALE_AFTER) -> list[Path]:
    """Remove the staging directories of runs that died (nothing in them newer than `stale_after`)."""
    cutoff = (now - stale_after).timestamp()
    removed = []
    entries: list[Path] = []
    with contextlib.suppress(FileNotFoundError):  # the last run out removed the root meanwhile
        entries = list(staging_root.iterdir())
    for directory in entries:
        files = _files_under(directory) if directory.is_dir() else [directory]
        if all(_older_than(path, cutoff) for path in files) and _older_than(directory, cutoff):
            if directory.is_dir():
                shutil.rmtree(directory, ignore_errors=True)
            else:
                directory.unlink(missing_ok=True)
            removed.append(directory)
    return removed


def sweep_uncommitted(lake: Location, now: datetime, stale_after: timedelta = STALE_AFTER) -> list[Location]:
    """Remove the lake files of runs that never wrote a `runs` row, and stray temporary files.

    Only files older than `stale_after` go: a run in progress publishes its files moments before
    it writes its `runs` row, and must not lose them in between.
    """
    cutoff = (now - stale_after).timestamp()
    recorded = _recorded_runs(lake)
    if isinstance(lake, str):
        return _sweep_objects(lake, recorded, cutoff)
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


def _sweep_objects(lake: str, recorded: set[str], cutoff: float) -> list[Location]:
    """`sweep_uncommitted` on an object store (each object's age is its last-modified time)."""
    removed: list[Location] = []
    for url, modified in sorted(storage.modified_times(lake).items()):
        name = url.rsplit("/", 1)[-1]
        stem = name.removesuffix(".parquet")
        orphan = name.endswith(".parquet") and RUN_ID_PATTERN.fullmatch(stem) and stem not in recorded
        if orphan and relative_parts(lake, url)[0] != "runs" and modified < cutoff:
            removed.append(url)
    storage.remove(str(url) for url in removed)
    return removed


def table_glob(lake: Location, table: str) -> str:
    """The glob that matches every file of a table (the directory's own `[`, `*`, `?` escaped)."""
    return f"{glob.escape(str(storage.join(lake, table)))}/**/*.parquet"


def tables_with_files(lake: Location, tables: Iterable[str]) -> set[str]:
    """Which of these tables have at least one file (an object store is listed once for all)."""
    if isinstance(lake, str):
        present = {relative_parts(lake, url)[0] for url in storage.find(lake) if url.endswith(".parquet")}
        return present.intersection(tables)
    return {table for table in tables if has_files(lake, table)}


def has_files(lake: Location, table: str) -> bool:
    """Whether a table has at least one file."""
    if isinstance(lake, str):
        return any(url.endswith(".parquet") for url in storage.find(storage.join(lake, table)))  # type: ignore[arg-type]
    return any((lake / table).rglob("*.parquet")) if (lake / table).is_dir() else False
