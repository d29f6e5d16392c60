"""Dynamic source reliability (spec §2.1) and the `sources` table's health columns."""

from datetime import UTC, datetime

import polars as pl
import pytest

from joshua.curate.reliability import current_reliability, source_rows
from schemas.records import SourceOutcome
from tests.conftest import SOURCES

NOW = datetime(2026, 11, 27, 6, tzinfo=UTC)
IAEA = SOURCES["iaea-news"]  # base 0.95, editorial independence 0.8, methodology transparency 0.9


def test_without_history_both_accuracies_are_one_half():
    expected = 0.95 * (0.4 * 0.5 + 0.3 * 0.5 + 0.2 * 0.8 + 0.1 * 0.9)
    assert current_reliability(IAEA, None) == pytest.approx(expected)


def test_history_moves_reliability_with_track_record_and_corroboration():
    good = {"attempts": 10, "successes": 10, "articles_seen": 20, "articles_corroborated": 20}
    poor = {"attempts": 10, "successes": 2, "articles_seen": 20, "articles_corroborated": 0}
    assert current_reliability(IAEA, good) == pytest.approx(0.95 * (0.4 + 0.3 + 0.16 + 0.09))
    assert current_reliability(IAEA, poor) == pytest.approx(0.95 * (0.4 * 0.2 + 0.16 + 0.09))
    assert current_reliability(IAEA, poor) < current_reliability(IAEA, None) < current_reliability(IAEA, good)


def articles(source_id: str, corroboration: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"source_id": [source_id] * len(corroboration), "corroboration": corroboration})


def test_source_rows_count_failures_successes_and_corroboration():
    bbc, tass = SOURCES["bbc-world"], SOURCES["tass"]
    first = source_rows(
        [bbc, tass],
        [SourceOutcome(source_id="bbc-world", status="ok"), SourceOutcome(source_id="tass", status="failed", error="tass: HTTP 503")],
        {},
        articles("bbc-world", [1, 2, 3]),
        run_id="r1",
        now=NOW,
    )
    state = {row["source_id"]: row for row in first.iter_rows(named=True)}
    assert state["bbc-world"]["consecutive_failures"] == 0 and state["bbc-world"]["last_success_at"] == NOW
    assert (state["bbc-world"]["articles_seen"], state["bbc-world"]["articles_corroborated"]) == (3, 2)
    assert state["tass"]["consecutive_failures"] == 1 and state["tass"]["last_success_at"] is None
    assert state["tass"]["error"] == "tass: HTTP 503"

    second = source_rows(
        [bbc, tass],
        [SourceOutcome(source_id="tass", status="failed")],  # bbc-world not attempted (skipped)
        state,
        articles("tass", []),
        run_id="r2",
        now=NOW,
    )
    after = {row["source_id"]: row for row in second.iter_rows(named=True)}
    assert after["tass"]["consecutive_failures"] == 2 and after["tass"]["attempts"] == 2
    assert after["bbc-world"]["status"] == "skipped" and after["bbc-world"]["attempts"] == 1
    assert after["bbc-world"]["last_success_at"] == NOW  # kept from the earlier run
    assert after["tass"]["current_reliability"] < after["bbc-world"]["current_reliability"]


# Running totals in the lake (issue 15 item 13) ---------------------------------------------------


def curated_run(tmp_path, run_id: str, status: str):
    """A run that curated against the lake as it stood (empty: runs at once all read the same state)
    and staged, published and is about to commit; every declared source had `status`."""
    from joshua.lake import publish, table_path, write_parquet_atomic
    from joshua.run import open_run
    from joshua.settings import load_settings
    from joshua.store import run_record
    from schemas.records import AssessmentParams

    run, inputs = open_run(AssessmentParams(run_id=run_id), load_settings(data_dir=tmp_path / "data"))
    outcomes = [SourceOutcome(source_id=s.id, status=status, error=None if status == "ok" else f"{s.id}: down") for s in inputs.sources]
    if status == "ok":  # a run whose every source failed stops before curation: nothing staged
        staged = source_rows(inputs.declared, [*outcomes, *inputs.skipped], {}, articles("none", []), run_id=run_id, now=run.started_at)
        write_parquet_atomic(staged, table_path(run.paths.staging, "sources", run_id))
        publish(run.paths.staging, run.paths.lake, run_id)
    ended = datetime(2026, 11, 30, tzinfo=UTC)
    record = run_record(
        run, status="completed" if status == "ok" else "failed", ended_at=ended, analyzer="heuristic",
        data_label="test", stages=[], outcomes=[*outcomes, *inputs.skipped], errors=[],
    )
    return run, record, inputs.declared


def latest_sources(run) -> dict[str, dict]:
    from joshua.catalog import connect_lake

    with connect_lake(run.paths.lake) as con:
        return {row["source_id"]: row for row in pl.from_arrow(con.sql("SELECT * FROM sources").to_arrow_table()).iter_rows(named=True)}


def test_runs_committing_at_once_lose_no_update_to_the_running_totals(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from joshua.store import commit_run

    runs = [curated_run(tmp_path, f"20261130T0{hour}0000Z-00000{hour}", "ok") for hour in (1, 2, 3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda committed: commit_run(*committed), runs))
    source_id = runs[0][2][0].id
    row = latest_sources(runs[0][0])[source_id]
    assert (row["attempts"], row["successes"]) == (3, 3)


def test_a_run_that_failed_as_a_whole_counts_against_its_sources(tmp_path):
    from joshua.store import abandon_run, commit_run

    commit_run(*curated_run(tmp_path, "20261130T010000Z-000001", "ok"))
    run, record, declared = curated_run(tmp_path, "20261130T020000Z-000002", "failed")
    abandon_run(run, record, declared)
    row = latest_sources(run)[declared[0].id]
    assert row["status"] == "failed" and row["run_id"] == run.run_id
    assert (row["attempts"], row["successes"], row["consecutive_failures"]) == (2, 1, 1)
