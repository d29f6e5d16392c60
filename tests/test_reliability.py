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
