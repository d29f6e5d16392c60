"""Exporting the lake's views to files anyone can open."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

EXPORTABLE = ("assessments", "risk_factors", "alerts", "articles", "runs", "raw_items")
COPY_OPTIONS = {"csv": "FORMAT CSV, HEADER", "json": "FORMAT JSON", "parquet": "FORMAT PARQUET, COMPRESSION ZSTD"}


def export_tables(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str], file_format: str, directory: Path
) -> Iterator[tuple[Path, int]]:
    """Copy each view to `directory/<table>.<format>`; yields (path, rows)."""
    directory.mkdir(parents=True, exist_ok=True)
    for table in tables:
        if table not in EXPORTABLE:
            raise ValueError(f"not an exportable table: {table}")
        path = directory / f"{table}.{file_format}"
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {table}) TO '{target}' ({COPY_OPTIONS[file_format]})")
        yield path, con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
