"""The Parquet lake: hive-partitioned tables, atomic writes, publish-then-commit runs.

A run stages its files under `staging/<run_id>/` with the lake's own layout. Publishing moves them
into `lake/` one atomic rename at a time and writes the run's `runs` row last: readers (the DuckDB
views) only see rows of runs whose `runs` row says `completed`, so a crash mid-publish never shows
a partial run, and rerunning a run id replaces its files instead of adding to them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl

from joshua.errors import ConfigError, SchemaViolation
from schemas.tables import TABLES

RUN_ID_PATTERN = re.compile(r"^(\d{8})T(\d{6})Z-[0-9a-f]{6}$")


def new_run_id(started_at: datetime) -> str:
    """A sortable, unique run id such as `20261127T060000Z-3fa2c1`."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_date(run_id: str) -> str:
    """The partition date (YYYY-MM-DD) of a run, read from its id so reruns land in place."""
    match = RUN_ID_PATTERN.match(run_id)
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
    """Move a run's staged files into the lake, replacing any earlier files of the same run id."""
    staged = sorted(run_files(staging, run_id))
    targets = {lake / path.relative_to(staging) for path in staged}
    for stale in run_files(lake, run_id):
        if stale not in targets:
            stale.unlink()
    published = []
    for path in staged:
        target = lake / path.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        published.append(target)
    discard(staging)
    return published


def discard(staging: Path) -> None:
    """Remove a run's staging directory, and the staging root once no run uses it."""
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):  # another run is staging: it removes the root later
        staging.parent.rmdir()


def table_glob(lake: Path, table: str) -> str:
    """The glob that matches every file of a table."""
    return str(lake / table / "**" / "*.parquet")


def has_files(lake: Path, table: str) -> bool:
    """Whether a table has at least one file."""
    return any((lake / table).rglob("*.parquet")) if (lake / table).is_dir() else False
