"""The lake's files: run ids, hive paths, atomic writes, publishing and the table contracts."""

from datetime import UTC, datetime

import polars as pl
import pytest

from joshua.errors import ConfigError, SchemaViolation
from joshua.lake import conform, new_run_id, publish, run_date, table_path, write_parquet_atomic

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
