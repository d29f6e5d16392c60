"""The DuckDB catalog: views over the lake, in `data/joshua.duckdb` or in memory.

The catalog file holds views only, so it can be rebuilt at any time. It is written under a temporary
name and renamed into place, so a reader that has it open keeps a consistent copy.

A lake on an object store (a URL) is read in place: each connection registers the URL scheme's
fsspec filesystem, so the views' `read_parquet('s3://…')` need no httpfs extension. The catalog
file stays local; whoever opens it registers the filesystem too (`open_catalog`).
"""

from __future__ import annotations

import fcntl
import glob
import os
import uuid
from pathlib import Path

import duckdb
import polars as pl

from joshua import storage
from joshua.compaction import ALL_TIME, COMPACT_PREFIX, COMPACTABLE, LOG_TABLE, MONTHLY, STATUS_COLUMN, VERSION_COLUMN
from joshua.lake import Location, table_glob, tables_with_files
from joshua.reference import ARMS_CONTROL_TREATIES, NUCLEAR_FORCES
from joshua.settings import RunPaths
from schemas.tables import TABLES

# Written in an older storage format so that the DuckDB command line (PyPI's duckdb-cli, 1.x)
# opens it as well as the Python package does.
CATALOG_STORAGE_VERSION = "v1.2.0"
# Binding a view reads every file's footer. On an object store another host may replace or remove
# a file between the listing and the read (a rerun, a failed run's clean-up, a sweep); s3fs then
# refuses to mix two versions of it, and the views are bound again from a fresh listing.
BIND_ATTEMPTS = 3
SQL_DIR = Path(__file__).parent / "sql"
# A table's compact files that count: in each directory, the latest whose compaction committed (its
# log file exists; compaction ids sort by sequence). File names only, no file opened; the view
# `current_compacts` applies the same rule to the whole lake.
CURRENT_COMPACTS_SQL = """
SELECT max(file) FROM glob('{compacts}')
WHERE substr(parse_filename(file, true), 9) IN (SELECT parse_filename(file, true) FROM glob('{log}'))
GROUP BY parse_dirpath(file)
"""
# A compactable table's visible rows once it has a compact file (joshua/compaction.py). `v` holds
# the `runs` rows still in run files: the runs since the last compaction, and reruns. A compact
# file's row counts when its file is the current compact file of its directory (CURRENT_COMPACTS_SQL)
# and, if its run has a `runs` run file, it was merged at that row's version (a rerun committed since
# makes the run's own files count again); else its run's `runs` row was compacted with it, and the
# version and status it carries are current. A run file's row counts when the current compact file
# of its period does not hold the run at that version (without a `runs` run file, at any version:
# such a run had every file merged, so its run file is one the compaction replaced but has not
# deleted yet, or a rerun's published but uncommitted file) and its `runs` run file's status is
# visible (the delivery log needs none: deliveries are written after the commit). Only runs that still have a run file are
# looked up in the compact file (file names, no row read). The run-status filter ({compact_visible},
# {file_visible}) needs no other lookup.
COMPACTED_ROWS_SQL = """(
SELECT t.* EXCLUDE (filename, date, {version}, {status}) FROM {files} AS t
LEFT JOIN (SELECT run_id, ended_at, status FROM {runs_files} WHERE NOT starts_with(parse_filename(filename), '{prefix}')) AS v
    ON v.run_id = t.run_id
LEFT JOIN (
    SELECT DISTINCT parse_dirpath(filename) AS directory, run_id, {version} AS version FROM {files}
    WHERE filename IN ({current})
      AND run_id IN (SELECT parse_filename(file, true) FROM glob('{pattern}'))
) AS c
    ON NOT starts_with(parse_filename(t.filename), '{prefix}')
   AND c.directory = parse_dirpath(parse_dirpath(t.filename)) || '/date=' || {period}
   AND c.run_id = t.run_id AND (v.run_id IS NULL OR c.version IS NOT DISTINCT FROM v.ended_at)
WHERE CASE WHEN starts_with(parse_filename(t.filename), '{prefix}')
           THEN t.filename IN ({current}) AND (v.run_id IS NULL OR t.{version} IS NOT DISTINCT FROM v.ended_at) {compact_visible}
           ELSE c.run_id IS NULL {file_visible} END
)"""
# A table's rows while every file is a run file (a compact file appearing after the catalog was
# built stays out until the views are rebuilt to read it).
RUN_FILE_ROWS_SQL = """(
SELECT * EXCLUDE (filename, date) FROM {files}
WHERE NOT starts_with(parse_filename(filename), '{prefix}')
  {visible}
)"""
# The runs whose rows a table shows: committed ones; for `sources` failed ones too (an outage must
# lower its sources' track record). None: every row (the delivery log, `runs` itself).
VISIBLE_STATUSES = {
    **{table: ("completed",) for table in COMPACTABLE},
    "sources": ("completed", "failed"),
    "notifications": None,
    "runs": None,
}
# Each run's `runs` row: its own file's when it has one (a rerun committed after its run was
# compacted, or a file the compaction has not deleted yet: the same row), else the current compact file's.
COMPACTED_RUNS_SQL = """(
SELECT * EXCLUDE (filename, date) FROM {files}
WHERE NOT starts_with(parse_filename(filename), '{prefix}')
   OR (filename IN ({current})
       AND run_id NOT IN (SELECT parse_filename(file, true) FROM glob('{pattern}')))
)"""
VIEWS_SQL = (SQL_DIR / "views.sql").read_text(encoding="utf-8")
HISTORY_SQL = (SQL_DIR / "history.sql").read_text(encoding="utf-8")
# The reference CSVs that history.sql reads, by the placeholder it names them with.
REFERENCE_FILES = {"{nuclear_forces}": NUCLEAR_FORCES, "{arms_control_treaties}": ARMS_CONTROL_TREATIES}


SCALAR_TYPES = {
    pl.String: "VARCHAR",
    pl.Boolean: "BOOLEAN",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.UInt64: "UBIGINT",
    pl.Float64: "DOUBLE",
    pl.Date: "DATE",
}


def duckdb_type(dtype: pl.DataType) -> str:
    """The DuckDB type a polars column type is read back as from Parquet."""
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP WITH TIME ZONE" if dtype.time_zone else "TIMESTAMP"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    if isinstance(dtype, pl.Struct):
        return "STRUCT(" + ", ".join(f'"{field.name}" {duckdb_type(field.dtype)}' for field in dtype.fields) + ")"
    return SCALAR_TYPES[dtype.base_type()]


def _empty_relation(table: str) -> str:
    """A typed relation with no rows, for a table that has no files yet (typed from its contract)."""
    typed = ", ".join(f'CAST(NULL AS {duckdb_type(dtype)}) AS "{name}"' for name, dtype in TABLES[table].items())
    return f"(SELECT {typed}, CAST(NULL AS DATE) AS date, CAST(NULL AS VARCHAR) AS filename WHERE false)"


def _files(lake: Location, table: str, has_data: bool) -> str:
    """The SQL relation that reads a table's Parquet files, each row with its file's path (`filename`)."""
    if not has_data:
        return _empty_relation(table)
    pattern = table_glob(lake, table).replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true, filename = true)"


def _relation(lake: Location, table: str, has_data: bool) -> str:
    """A table's rows as compaction and its runs' statuses let them through (the log itself and
    `calibration`: every file's)."""
    files = _files(lake, table, has_data)
    if table not in COMPACTABLE:
        return files
    statuses = VISIBLE_STATUSES[table]
    listed = "" if statuses is None else ", ".join(f"'{status}'" for status in statuses)
    compacted = has_data and _has_compact_file(lake, table)
    if not compacted:  # every file is a run file
        visible = f"AND run_id IN (SELECT run_id FROM runs WHERE status IN ({listed}))" if listed else ""
        return RUN_FILE_ROWS_SQL.format(files=files, prefix=COMPACT_PREFIX, visible=visible)
    pattern = table_glob(lake, table).replace("'", "''")
    current = CURRENT_COMPACTS_SQL.format(
        compacts=pattern.removesuffix("*.parquet") + f"{COMPACT_PREFIX}*.parquet", log=table_glob(lake, LOG_TABLE).replace("'", "''")
    )
    if table == "runs":
        return COMPACTED_RUNS_SQL.format(files=files, pattern=pattern, current=current, prefix=COMPACT_PREFIX)
    # The period of a run file's day (joshua.compaction.compaction_period), from its directory name.
    period = "substr(parse_filename(parse_dirpath(t.filename)), 6, 7)" if table in MONTHLY else f"'{ALL_TIME}'"
    return COMPACTED_ROWS_SQL.format(
        files=files,
        runs_files=_files(lake, "runs", True),  # a table compacted has committed runs
        pattern=pattern,
        current=current,
        prefix=COMPACT_PREFIX,
        version=VERSION_COLUMN,
        status=STATUS_COLUMN,
        period=period,
        compact_visible=f"AND t.{STATUS_COLUMN} IN ({listed})" if listed else "",
        file_visible=f"AND v.status IN ({listed})" if listed else "",
    )


def _has_compact_file(lake: Location, table: str) -> bool:
    """Whether a table has a compact file (its compacted relation reads their version column)."""
    if isinstance(lake, str):  # object-store lakes are never compacted (compact_lake refuses them)
        return False
    return next((lake / table).rglob(f"{COMPACT_PREFIX}*.parquet"), None) is not None


def history_sql() -> str:
    """history.sql with the reference files' paths filled in as SQL string literals' contents."""
    sql = HISTORY_SQL
    for placeholder, path in REFERENCE_FILES.items():
        sql = sql.replace(placeholder, glob.escape(str(path)).replace("'", "''"))  # DuckDB globs every path
    return sql


def create_views(con: duckdb.DuckDBPyConnection, lake: Location, only: frozenset[str] | None = None) -> None:
    """Create (or replace) the lake's views, then the named history views and macros.

    With `only`, the other tables get empty views (their files are never opened; a view binds by
    reading every file's footer) and the history views are skipped: a run's own lookups stay fast
    however many runs the lake holds.
    """
    if isinstance(lake, str):
        storage.register(con, lake)
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                return _create_views(con, lake, only)
            except duckdb.Error:
                if attempt == BIND_ATTEMPTS:
                    raise
                storage.filesystem(lake).invalidate_cache()
    _create_views(con, lake, only)


def _create_views(con: duckdb.DuckDBPyConnection, lake: Location, only: frozenset[str] | None) -> None:
    wanted = set(TABLES) if only is None else {"runs", "compactions", *only}
    present = tables_with_files(lake, wanted)
    relations = {table: _relation(lake, table, table in present) for table in TABLES}
    lake_glob = glob.escape(str(storage.join(lake, ""))).rstrip("/").replace("'", "''")
    con.execute(VIEWS_SQL.format(**relations, lake_glob=lake_glob))
    if only is None:
        con.execute(history_sql())


def connect_lake(lake: Location, only: frozenset[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the lake's views (all, or `only` these tables and runs)."""
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")  # repeated queries skip re-reading file footers
    create_views(con, lake, only)
    return con


def open_catalog(catalog: Path, lake: Location) -> duckdb.DuckDBPyConnection:
    """Open a catalog file read-only, able to read its lake (local, or through fsspec when remote)."""
    con = duckdb.connect(str(catalog), read_only=True)
    if isinstance(lake, str):
        storage.register(con, lake)
    return con


def open_lake(paths: RunPaths) -> duckdb.DuckDBPyConnection:
    """The lake's views for a reader. Over a local lake they are built in memory (always current);
    over an object-store lake the local catalog is opened (built on first use, refreshed by each
    run committed from this host and by `joshua db rebuild`), which spares listing every table."""
    if isinstance(paths.lake, str):
        if not paths.catalog.is_file():
            build_catalog(paths.lake, paths.catalog)
        return open_catalog(paths.catalog, paths.lake)
    return connect_lake(paths.lake)


def build_catalog(lake: Location, catalog: Path) -> Path:
    """Write the catalog file of views and swap it into place atomically.

    Builds take turns (an exclusive lock on a file beside the catalog): the views a build creates
    depend on the files it finds, so a `db rebuild` that looked at an empty lake must not land after
    a run's refresh that saw the run's files. Whoever swaps last looked at the lake last.
    """
    catalog.parent.mkdir(parents=True, exist_ok=True)
    temporary = catalog.with_name(f".{catalog.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(catalog.with_name(f".{catalog.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        try:
            with duckdb.connect(str(temporary), config={"storage_compatibility_version": CATALOG_STORAGE_VERSION}) as con:
                create_views(con, lake)
            os.replace(temporary, catalog)
        finally:
            temporary.unlink(missing_ok=True)
            Path(f"{temporary}.wal").unlink(missing_ok=True)
    return catalog
