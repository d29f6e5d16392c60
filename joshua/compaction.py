"""Compaction: merge each partition's small files of committed runs into one, with a log as commit point.

The protocol needs no rename of a directory and no atomic swap, so it works on an object store too:

1. Under the lake's commit turn (`commit_lock`, held for the whole compaction), the days before
   `before` of each partition group (`source_id=x`, or the table itself) get their visible rows
   merged into one file per period, `<group>/date=<period>/compact-<cid>.parquet`: the rows of
   committed runs' files plus those of the compact file that currently stands for them. The period
   (`compaction_period`) is a month for the tables that grow by megabytes a month (articles, raw
   items), so a compaction rewrites a month, not years; for the others (runs, assessments, sources,
   ...: a megabyte or less a year) it is all time, `date=all`: a query opens one file per table and
   group however long the lake, where daily partitions would be hundreds of files a year and months
   a dozen. Each row carries the version of its
   run it was merged at (`_run_ended_at`, the run's `runs` row's `ended_at`); the file is sorted by
   run id. Until step 2 no reader sees it: the views count only compact files whose compaction's
   log file exists.
2. One log file per compaction, `compactions/date=D/<cid>.parquet`, lists for every run it covers the table, the
   partition, the compact file, the run's version (its `runs` row's `ended_at`) and each replaced
   file. Writing it is the single commit point.
3. The replaced files are deleted. A crash before step 2 leaves the old files authoritative and
   the orphan compact file is swept once stale; a crash before step 3 shows the same rows, because
   the views hide a run file whose run its period's current compact file holds at the run's current
   version, and count only the latest committed compact file of a directory (it holds every row
   the ones before it did: each compaction merges the period's current file again).

Readers never read the log's rows, only its file names (which compactions committed): a view's cost
does not grow with the log. The log serves the compactions and sweeps that follow.

Where a run's `runs` row lives tells the views how much to check. `runs` is compacted only with
every other table, after them, and a run's `runs` row leaves its run file only in a compaction that
merged every file of that run (a file newer than its run's commit defers the run; a lone file is
merged too). So a run without a `runs` run file has all its rows in counting compact files, at the
version and status they carry (`_run_ended_at`, `_run_status`): the views show those rows without a
join with `runs`, and hide any other file of that run (a rerun publishing, or a file the compaction
replaced). Only the runs that still have a `runs` run file, those since the last compaction, are
joined.

A rerun of a run already compacted wins: its new `runs` row has a newer `ended_at`, so the compact
file's copies of its old rows no longer match its version and its new run files show. Publishing takes the commit turn too, so a rerun never replaces a file that a
compaction is reading, and a file newer than its run's commit (a rerun publishing, not yet
committed) is left for a later compaction unless it is older than any run can last (`STALE_AFTER`).
"""

from __future__ import annotations

import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from joshua.errors import ConfigError
from joshua.lake import RUN_ID_PATTERN, STALE_AFTER, commit_lock, has_files, write_parquet_atomic
from schemas.tables import COMPACTIONS, TABLES

COMPACT_PREFIX = "compact-"
LOG_TABLE = "compactions"
# A compact file's rows (any table but `runs`) carry the version of their run they were merged at:
# the views show them while it is still the run's current version (a rerun committed since wins).
VERSION_COLUMN = "_run_ended_at"
# ... and that run's status then: a row whose run's `runs` row lives in a compact file too is shown
# by these two columns alone, with no join with `runs` (see `compact_lake` for why that is sound).
STATUS_COLUMN = "_run_status"
# Compact files are sorted by run id in row groups this long: a query for recent runs (run ids
# sort by start time) skips the older row groups by their statistics.
COMPACT_ROW_GROUP = 16_384
# Every table whose files are one run's each; `calibration` is one file replaced whole.
COMPACTABLE = tuple(table for table, schema in TABLES.items() if "run_id" in schema and table != LOG_TABLE)
# The tables compacted a month per file; every other one is compacted into one file for all time.
MONTHLY = frozenset({"articles", "raw_items"})
ALL_TIME = "all"


def compaction_period(table: str, day: str) -> str:
    """The period (`date=<period>` directory) whose compact file holds a table's rows of a day (YYYY-MM-DD)."""
    return day[:7] if table in MONTHLY else ALL_TIME


def compact_schema(table: str) -> pl.Schema:
    """The columns of a table's compact files: the table's, and its runs' version and status for any table but `runs`."""
    if table == "runs":
        return TABLES[table]
    return pl.Schema({**TABLES[table], VERSION_COLUMN: COMPACTIONS["run_ended_at"], STATUS_COLUMN: TABLES["runs"]["status"]})


def new_compaction_id(log: pl.DataFrame, now: datetime) -> str:
    """A unique id that sorts after every committed compaction's, such as `00000042-20261130T120000Z-3fa2c1`.

    Ids order by a sequence, not a clock: the latest covering compaction wins, whatever the clocks say.
    """
    sequence = 1 + max((int(cid.split("-")[0]) for cid in log.get_column("compaction_id").unique().to_list()), default=0)
    return f"{sequence:08d}-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def is_compact(path: Path) -> bool:
    """Whether a lake file is a compaction's merged file."""
    return path.name.startswith(COMPACT_PREFIX) and path.suffix == ".parquet"


@dataclass(frozen=True)
class Cover:
    """The committed compaction that stands for one run in one partition."""

    compaction_id: str
    compact_file: str
    run_ended_at: datetime | None
    run_committed_at: float
    logged_at: float  # when the compaction committed (its log file's modification time)


@dataclass(frozen=True)
class CompactionReport:
    """What one compaction did: its id (None when there was nothing to merge), partitions merged
    (one file written each), files replaced."""

    compaction_id: str | None
    partitions: int
    files_replaced: int


def read_log(lake: Path) -> pl.DataFrame:
    """Every committed compaction's rows, each with `logged_at` (its log file's mtime)."""
    if not has_files(lake, LOG_TABLE):
        return pl.DataFrame(schema={**COMPACTIONS, "logged_at": pl.Float64})
    frames = []
    for path in sorted((lake / LOG_TABLE).rglob("*.parquet")):
        if path.name.startswith("."):
            continue
        try:
            logged_at = path.stat().st_mtime
            frames.append(pl.read_parquet(path, glob=False).with_columns(logged_at=pl.lit(logged_at)))
        except FileNotFoundError:  # never happens under the commit turn; tolerated outside it
            continue
    return pl.concat(frames, how="diagonal_relaxed") if frames else read_log(lake / "__none__")


def run_versions(lake: Path) -> dict[str, tuple[datetime | None, str]]:
    """Each recorded run's current version and status: the `ended_at` and `status` of its latest
    `runs` row (as the views pick it)."""
    from joshua.catalog import connect_lake  # the catalog imports this module

    with connect_lake(lake, only=frozenset()) as con:
        return {run_id: (ended_at, status) for run_id, ended_at, status in con.execute("SELECT run_id, ended_at, status FROM runs").fetchall()}


def covers(log: pl.DataFrame, versions: dict[str, datetime | None], table: str) -> dict[tuple[str, str], Cover]:
    """(group, run_id) → the latest committed compaction of `table` covering that run at its current version.

    A group is a partition path without its date (`source_id=bbc`, or "" for a table keyed by date
    alone): a run has one file per table and group, its date being its id's.
    """
    result: dict[tuple[str, str], Cover] = {}
    rows = log.filter(pl.col("table_name") == table).sort("compaction_id").iter_rows(named=True)
    for row in rows:
        run_id = row["run_id"]
        if run_id is not None and run_id in versions and versions[run_id] == row["run_ended_at"]:
            result[(row["partition"], run_id)] = Cover(
                row["compaction_id"], row["compact_file"], row["run_ended_at"], row["run_committed_at"], row["logged_at"]
            )
    return result


def commit_times(lake: Path, log: pl.DataFrame) -> dict[str, float]:
    """When each run's current `runs` row was written: its run file's mtime, else what the log kept."""
    times: dict[str, float] = {}
    for row in log.filter((pl.col("table_name") == "runs") & pl.col("run_id").is_not_null()).iter_rows(named=True):
        times[row["run_id"]] = max(times.get(row["run_id"], 0.0), row["run_committed_at"])
    for path in (lake / "runs").rglob("*.parquet") if (lake / "runs").is_dir() else []:
        if RUN_ID_PATTERN.fullmatch(path.stem):
            try:
                times[path.stem] = max(times.get(path.stem, 0.0), path.stat().st_mtime)
            except FileNotFoundError:
                continue
    return times


def compaction_units(root: Path, table: str, before: date | None) -> dict[tuple[str, str], list[Path]]:
    """(group, period) → its directories: the days before `before` and the period's own
    (`date=<period>`), where the period's compact file lives."""
    units: dict[tuple[str, str], list[Path]] = {}
    for directory in sorted({path.parent for path in root.rglob("*.parquet")}):
        *group, last = directory.relative_to(root).parts
        day = last.removeprefix("date=")
        is_day = len(day) == len("YYYY-MM-DD")
        if not last.startswith("date=") or (is_day and before is not None and date.fromisoformat(day) >= before):
            continue
        units.setdefault(("/".join(group), compaction_period(table, day) if is_day else day), []).append(directory)
    return units


@dataclass
class _Plan:
    """One partition's merge: the rows, the log rows, the files it replaces, the committed runs whose
    file it leaves (newer than their commit: a rerun publishing), and whether it drops rows of a
    compact file (of a run's version a rerun replaced)."""

    frames: list[pl.DataFrame]
    log_rows: list[dict]
    replaced: list[Path]
    deferred: set[str] = field(default_factory=set)
    drops_rows: bool = False


def _unit_files(directories: list[Path]) -> list[Path]:
    return sorted(path for directory in directories for path in directory.glob("*.parquet"))


def _plan_runs_partition(
    root: Path, directories: list[Path], partition: str, times: dict[str, float], committed: set[tuple[str, str]], deferred: set[str]
) -> _Plan:
    """The `runs` table: every run file and committed compact file, each run's latest row kept; the
    file of a run with a file this compaction left (`deferred`) stays as it is."""
    plan = _Plan([], [], [])
    for path in _unit_files(directories):
        if is_compact(path) and (partition, path.name) not in committed:
            continue  # a compaction that never committed: the sweep removes it
        if not is_compact(path) and (not RUN_ID_PATTERN.fullmatch(path.stem) or path.stem in deferred):
            continue
        frame = pl.read_parquet(path, glob=False)
        plan.frames.append(frame)
        plan.replaced.append(path)
        for run_id, ended_at in frame.select("run_id", "ended_at").iter_rows():
            committed_at = times.get(run_id, 0.0) if is_compact(path) else path.stat().st_mtime
            plan.log_rows.append(_log_row("runs", partition, run_id, ended_at, committed_at, _relative(root, path)))
    if plan.frames:
        merged = pl.concat(plan.frames, how="diagonal_relaxed")
        plan.frames = [merged.sort(["run_id", "ended_at"], nulls_last=False).unique("run_id", keep="last", maintain_order=True)]
    return plan


def _plan_partition(
    root: Path,
    directories: list[Path],
    partition: str,
    table_covers: dict[tuple[str, str], Cover],
    committed: set[tuple[str, str]],
    state: _State,
) -> _Plan:
    """Any other table: the rows the views show for this group and period, taken once each."""
    plan = _Plan([], [], [])
    standing = {cover.compact_file for (part, _), cover in table_covers.items() if part == partition}
    for path in _unit_files(directories):
        if is_compact(path):
            if (partition, path.name) not in committed:
                continue  # never committed: the sweep removes it once stale
            if path.name not in standing:  # every run it held was replaced since (or it was, and the delete crashed)
                plan.replaced.append(path)
                plan.log_rows.append(_log_row(None, partition, None, None, 0.0, _relative(root, path)))
                continue
            frame = pl.read_parquet(path, glob=False)
            runs = [
                run_id
                for run_id in frame.get_column("run_id").unique().to_list()
                if (cover := table_covers.get((partition, run_id))) is not None and cover.compact_file == path.name
            ]
            plan.drops_rows |= len(runs) < frame.get_column("run_id").n_unique()
            versions_held = {run_id: table_covers[(partition, run_id)].run_ended_at for run_id in runs}
            statuses_held = {run_id: state.statuses[run_id] for run_id in runs}
            plan.frames.append(_versioned(frame.filter(pl.col("run_id").is_in(runs)), versions_held, statuses_held))
            plan.replaced.append(path)
            for run_id in runs:
                cover = table_covers[(partition, run_id)]
                plan.log_rows.append(
                    _log_row(None, partition, run_id, cover.run_ended_at, cover.run_committed_at, _relative(root, path))
                )
            continue
        run_id = path.stem
        if not RUN_ID_PATTERN.fullmatch(run_id) or run_id not in state.versions:
            continue  # not a run's file, or a run not committed (yet)
        mtime = path.stat().st_mtime
        cover = table_covers.get((partition, run_id))
        if cover is not None:
            if mtime < cover.logged_at:  # the compaction before crashed before deleting it (strict: mtimes tick coarsely)
                plan.replaced.append(path)
                plan.log_rows.append(_log_row(None, partition, None, None, 0.0, _relative(root, path)))
            continue  # else a rerun publishing under the same id: its commit will show it
        if mtime <= state.committed_at.get(run_id, 0.0) or mtime < state.stale_before:
            frame = pl.read_parquet(path, glob=False)
            plan.frames.append(_versioned(frame, {run_id: state.versions[run_id]}, {run_id: state.statuses[run_id]}))
            plan.replaced.append(path)
            plan.log_rows.append(
                _log_row(None, partition, run_id, state.versions[run_id], state.committed_at.get(run_id, mtime), _relative(root, path))
            )
        else:
            plan.deferred.add(run_id)
    return plan


def _versioned(frame: pl.DataFrame, versions: dict[str, datetime | None], statuses: dict[str, str]) -> pl.DataFrame:
    """A frame's rows with their run's version and status (VERSION_COLUMN, STATUS_COLUMN)."""
    version = pl.col("run_id").replace_strict(versions, default=None, return_dtype=COMPACTIONS["run_ended_at"])
    status = pl.col("run_id").replace_strict(statuses, default=None, return_dtype=TABLES["runs"]["status"])
    return frame.with_columns(version.alias(VERSION_COLUMN), status.alias(STATUS_COLUMN))


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _log_row(table: str | None, partition: str, run_id: str | None, ended_at, committed_at: float, source: str) -> dict:
    return {"table_name": table, "partition": partition, "run_id": run_id, "run_ended_at": ended_at,
            "run_committed_at": committed_at, "source_file": source}


@dataclass
class _Merge:
    """What a compaction has done so far: files written and replaced, log rows, and the runs with a
    file it left (their `runs` row stays in its run file)."""

    written: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    log_rows: list[dict] = field(default_factory=list)
    deferred: set[str] = field(default_factory=set)


def _compact_table(lake: Path, table: str, state: _State, before: date | None, merge: _Merge) -> None:
    """Merge one table's days before `before`, a period per group into one file, into `merge`."""
    root = lake / table
    table_covers = covers(state.log, state.versions, table)
    committed = set(state.log.filter(pl.col("table_name") == table).select("partition", "compact_file").iter_rows())
    compact_file = f"{COMPACT_PREFIX}{state.compaction_id}.parquet"
    units = compaction_units(root, table, before) if root.is_dir() else {}
    for (partition, period), directories in units.items():
        if table == "runs":
            plan = _plan_runs_partition(root, directories, partition, state.committed_at, committed, merge.deferred)
        else:
            plan = _plan_partition(root, directories, partition, table_covers, committed, state)
            merge.deferred |= plan.deferred
        if not plan.replaced or (len(plan.replaced) == 1 and is_compact(plan.replaced[0]) and not plan.drops_rows):
            continue  # nothing, or a compact file alone and current (a lone run file is merged all the same: see compact_lake)
        schema = compact_schema(table)
        merged = pl.concat(plan.frames, how="diagonal_relaxed") if plan.frames else pl.DataFrame(schema=schema)
        target = root / partition / f"date={period}" / compact_file
        merged = merged.select(schema.names()).sort("run_id", maintain_order=True)
        merge.written.append(write_parquet_atomic(merged, target, row_group_size=COMPACT_ROW_GROUP))
        merge.replaced += plan.replaced
        merge.log_rows += [row | {"table_name": table, "compact_file": compact_file} for row in plan.log_rows]


@dataclass(frozen=True)
class _State:
    """What a compaction reads once, under the commit turn, before it merges anything."""

    log: pl.DataFrame
    versions: dict[str, datetime | None]
    statuses: dict[str, str]
    committed_at: dict[str, float]
    compaction_id: str
    stale_before: float


def remove_replaced(paths: list[Path]) -> None:
    """Delete the files a committed compaction replaced (a crash here leaves them to the sweep), and
    the day directories they leave empty."""
    with ThreadPoolExecutor(max_workers=8) as pool:  # one slow metadata call each: overlap them
        list(pool.map(lambda path: path.unlink(missing_ok=True), paths))
    for directory in sorted({path.parent for path in paths}, reverse=True):
        with contextlib.suppress(OSError):  # not empty: a run wrote there since, or a period's compact file lives there
            directory.rmdir()


def compact_lake(lake: Path, now: datetime, tables: list[str] | None = None, before: date | None = None) -> CompactionReport:
    """Compact the partitions older than `before` (all when None) of the named tables (default: every
    compactable one) in one compaction; see the module docstring.

    The commit turn is held throughout: runs that finish meanwhile wait at their commit. A weekly
    compaction of a week's partitions takes seconds; `--table` and `--before` split a first one.
    """
    if isinstance(lake, str):
        raise ConfigError(f"compacting an object-store lake ({lake}) is not supported yet: its views read every file")
    unknown = [table for table in tables or () if table not in COMPACTABLE]
    if unknown:
        raise ConfigError(f"not compactable: {unknown} (compactable: {', '.join(COMPACTABLE)})")
    chosen = [table for table in COMPACTABLE if table in (tables or COMPACTABLE)]
    if "runs" in chosen and len(chosen) < len(COMPACTABLE):
        raise ConfigError("`runs` is compacted only together with every other table (name no table, or another one)")
    chosen.sort(key=lambda table: table == "runs")  # `runs` last: it leaves the rows of runs the others deferred
    with commit_lock(lake):
        log = read_log(lake)
        recorded = run_versions(lake)
        state = _State(
            log,
            {run_id: version for run_id, (version, _) in recorded.items()},
            {run_id: status for run_id, (_, status) in recorded.items()},
            commit_times(lake, log),
            new_compaction_id(log, now),
            (now - STALE_AFTER).timestamp(),
        )
        merge = _Merge()
        for table in chosen:
            _compact_table(lake, table, state, before, merge)
        if not merge.written:
            return CompactionReport(None, 0, 0)
        rows = [row | {"compaction_id": state.compaction_id, "committed_at": now} for row in merge.log_rows]
        write_parquet_atomic(  # the commit point
            pl.DataFrame(rows, schema=COMPACTIONS), lake / LOG_TABLE / f"date={now:%Y-%m-%d}" / f"{state.compaction_id}.parquet"
        )
        remove_replaced(merge.replaced)
    return CompactionReport(state.compaction_id, len(merge.written), len(merge.replaced))


def sweep_compactions(lake: Path, now: datetime) -> list[Path]:
    """Remove compact files whose compaction never committed (once stale) and files a committed compaction replaced.

    A replaced file goes only if it is not newer than the compaction's commit: a rerun may have
    published a new file under the same name since.
    """
    removed: list[Path] = []
    if isinstance(lake, str):  # object-store lakes are never compacted (compact_lake refuses them)
        return removed
    stale_before = (now - STALE_AFTER).timestamp()
    with commit_lock(lake):
        log = read_log(lake)
        committed = {(row["table_name"], row["partition"], row["compact_file"]) for row in log.iter_rows(named=True)}
        replaced: dict[tuple[str, str], float] = {}
        for row in log.iter_rows(named=True):
            key = (row["table_name"], row["source_file"])  # relative to the table's directory
            replaced[key] = max(replaced.get(key, 0.0), row["logged_at"])
        for table in COMPACTABLE:
            root = lake / table
            for path in sorted(root.rglob("*.parquet")) if root.is_dir() else []:
                group = "/".join(path.relative_to(root).parts[:-2])
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                orphan = is_compact(path) and (table, group, path.name) not in committed and mtime < stale_before
                key = (table, _relative(root, path))
                superseded = key in replaced and mtime < replaced[key]  # strict: mtimes tick coarsely
                if orphan or superseded:
                    removed.append(path)
        remove_replaced(removed)
    return removed
