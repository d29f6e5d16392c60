"""The DuckDB catalog: typed views over the lake, completed runs only, rebuilt safely, evolving schemas."""

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from joshua.catalog import build_catalog, connect_lake
from joshua.lake import table_path, write_parquet_atomic
from tests.lake_factory import full

RUN = "20261127T060000Z-abcdef"


def test_views_exist_and_are_typed_on_an_empty_lake(tmp_path):
    con = connect_lake(tmp_path / "lake")
    for view in ("assessments", "risk_factors", "articles", "raw_items", "runs"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE assessments)").fetchall())
    assert types["seconds_to_midnight"] == "INTEGER"


def test_views_hide_rows_of_runs_that_did_not_complete(tmp_path):
    lake = tmp_path / "lake"
    done, failed = RUN, "20261127T070000Z-123456"
    for run_id, status in ((done, "completed"), (failed, "failed")):
        write_parquet_atomic(full("runs", [{"run_id": run_id, "status": status}]), table_path(lake, "runs", run_id))
        write_parquet_atomic(
            full("assessments", [{"run_id": run_id, "seconds_to_midnight": 100}]), table_path(lake, "assessments", run_id)
        )
    catalog = build_catalog(lake, tmp_path / "joshua.duckdb")
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("SELECT run_id FROM assessments").fetchall() == [(done,)]
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (2,)
        tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT internal").fetchone()
        assert tables == (0,)  # the catalog holds views only


def test_catalog_can_be_rebuilt_while_a_reader_has_it_open(tmp_path):
    lake = tmp_path / "lake"
    catalog = build_catalog(lake, tmp_path / "joshua.duckdb")
    with duckdb.connect(str(catalog), read_only=True) as reader:
        build_catalog(lake, catalog)
        assert reader.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_the_duckdb_command_line_opens_the_catalog(tmp_path):
    lake = tmp_path / "lake"
    write_parquet_atomic(full("runs", [{"run_id": RUN, "status": "completed"}]), table_path(lake, "runs", RUN))
    catalog = build_catalog(lake, tmp_path / "joshua.duckdb")
    duckdb_cli = Path(sys.executable).parent / "duckdb"
    completed = subprocess.run(
        [str(duckdb_cli), "-readonly", "-csv", str(catalog), "-c", "SELECT status FROM runs"],
        capture_output=True, text=True, check=True,
    )
    assert completed.stdout.split() == ["status", "completed"]


def test_a_lookup_connection_opens_only_the_tables_it_names(tmp_path):
    lake = tmp_path / "lake"
    write_parquet_atomic(full("runs", [{"run_id": RUN, "status": "completed"}]), table_path(lake, "runs", RUN))
    write_parquet_atomic(full("assessments", [{"run_id": RUN, "seconds_to_midnight": 100}]), table_path(lake, "assessments", RUN))
    write_parquet_atomic(full("alerts", [{"run_id": RUN, "level": "warning"}]), table_path(lake, "alerts", RUN))
    with connect_lake(lake, only=frozenset({"assessments"})) as con:
        assert con.execute("SELECT seconds_to_midnight FROM assessments").fetchall() == [(100,)]
        assert con.execute("SELECT count(*) FROM alerts").fetchone() == (0,)  # an empty relation, never opened
    with connect_lake(lake) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchone() == (1,)


def test_files_written_before_error_type_existed_still_read(tmp_path):
    """Older `sources` files lack `error_type`; the views read old and new files together."""
    lake, old_run = tmp_path / "lake", "20261126T060000Z-000000"
    for run_id in (old_run, RUN):
        write_parquet_atomic(full("runs", [{"run_id": run_id, "status": "completed"}]), table_path(lake, "runs", run_id))
    old = full("sources", [{"run_id": old_run, "source_id": "a", "status": "failed", "error": "a: HTTP 500"}])
    write_parquet_atomic(old.drop("error_type"), table_path(lake, "sources", old_run))
    new = full("sources", [{"run_id": RUN, "source_id": "b", "status": "failed", "error": "b: bad XML", "error_type": "ParseError"}])
    write_parquet_atomic(new, table_path(lake, "sources", RUN))
    with connect_lake(lake) as con:
        rows = con.execute("SELECT source_id, error_type FROM sources ORDER BY source_id").fetchall()
    assert rows == [("a", None), ("b", "ParseError")]


def test_empty_views_have_the_types_duckdb_reads_from_the_tables_parquet():
    from joshua.catalog import _empty_relation
    from schemas.tables import TABLES

    con = duckdb.connect()
    for table, schema in TABLES.items():
        frame = pl.DataFrame(schema=schema)  # noqa: F841 (read by DuckDB's replacement scan)
        expected = con.execute("DESCRIBE SELECT *, CAST(NULL AS DATE) AS date, CAST(NULL AS VARCHAR) AS filename FROM frame").fetchall()
        assert con.execute(f"DESCRIBE SELECT * FROM {_empty_relation(table)}").fetchall() == expected, table
