import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from joshua.catalog import connect_lake
from joshua.cli import EXIT_CONFIG, app
from joshua.errors import ConfigError
from joshua.history import compare_last_two, history_rows, parse_moment, summarize
from tests.lake_factory import write_lake

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(days=14)),
        ("1m", NOW - timedelta(days=30)),
        ("1y", NOW - timedelta(days=365)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T06:30:00+00:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_parse_moment(text, expected):
    assert parse_moment(text, NOW) == expected


def test_a_plain_end_date_is_inclusive():
    assert parse_moment("2026-11-01", NOW, end_of_day=True) == datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=UTC)


def test_bad_moment():
    with pytest.raises(ConfigError, match="neither a date"):
        parse_moment("last tuesday", NOW)


@pytest.fixture
def lake(tmp_path):
    lake = tmp_path / "data" / "lake"
    write_lake(
        lake,
        [
            (NOW - timedelta(days=3), 500, {"economic": 0.4, "regional_conflict": 0.5}),
            (NOW - timedelta(days=2), 470, {"economic": 0.4, "regional_conflict": 0.8}),
            (NOW - timedelta(days=1), 480, {"regional_conflict": 0.9, "nuclear_arsenal": 0.6}),
        ],
    )
    return lake


def test_history_rows_summary_and_compare(lake):
    con = connect_lake(lake)
    rows = history_rows(con, NOW - timedelta(days=30), NOW, 10)
    assert [(r.seconds, r.change, r.top_factor) for r in rows] == [
        (480, 10, "regional_conflict"),
        (470, -30, "regional_conflict"),
        (500, None, "regional_conflict"),
    ]
    assert [r.seconds for r in history_rows(con, NOW - timedelta(days=30), NOW, 1)] == [480]
    assert [r.seconds for r in history_rows(con, NOW - timedelta(days=2, hours=1), NOW, 10)] == [480, 470]
    summary = summarize(rows)
    assert (summary.count, summary.mean, summary.minimum, summary.maximum) == (3, pytest.approx(483.333, abs=1e-3), 470, 500)
    assert summary.volatility == pytest.approx(20.0)
    changes = compare_last_two(con)
    assert changes.new == ["nuclear_arsenal/reporting_signal"] and changes.gone == ["economic/reporting_signal"]
    assert changes.changed == [("regional_conflict/reporting_signal", 0.8, 0.9)]


def test_replays_sharing_an_as_of_time_come_out_in_run_order(tmp_path):
    """Two replays of one snapshot carry the same as-of time: their run ids (which sort by start)
    order them, so history, its changes and the comparison are the same on every query."""
    lake = tmp_path / "lake"
    write_lake(lake, [(NOW, 500, {"economic": 0.4, "regional_conflict": 0.5})], run_id="20261127T060000Z-bbbbbb")
    write_lake(lake, [(NOW, 470, {"economic": 0.6, "nuclear_arsenal": 0.5})], run_id="20261127T070000Z-aaaaaa")
    con = connect_lake(lake)
    rows = history_rows(con, NOW - timedelta(days=1), NOW, 10)
    assert [(r.seconds, r.change) for r in rows] == [(470, -30), (500, None)]
    assert [r.seconds for r in history_rows(con, NOW - timedelta(days=1), NOW, 1)] == [470]
    changes = compare_last_two(con)
    assert changes is not None and changes.new == ["nuclear_arsenal/reporting_signal"]
    assert changes.gone == ["regional_conflict/reporting_signal"]
    assert changes.changed == [("economic/reporting_signal", 0.4, 0.6)]
    assert con.execute("SELECT seconds_to_midnight FROM latest_assessment").fetchall() == [(470,)]


def test_history_command_formats(lake):
    data_dir = str(lake.parent)
    table = runner.invoke(app, ["history", "--data-dir", data_dir, "--compare"])
    assert table.exit_code == 0 and "changed: regional_conflict" in table.stdout
    assert "│ regional_conflict" in table.stdout  # not a terminal: whole names, never cut or folded
    as_json = json.loads(runner.invoke(app, ["history", "--data-dir", data_dir, "--format", "json", "--count", "2"]).stdout)
    assert [a["seconds"] for a in as_json["assessments"]] == [480, 470] and as_json["summary"]["count"] == 2
    as_csv = runner.invoke(app, ["history", "--data-dir", data_dir, "--format", "csv", "--from", "2026-11-25"]).stdout
    assert as_csv.splitlines()[0].startswith("date,assessment_id,seconds,change") and len(as_csv.splitlines()) == 3
    bad = runner.invoke(app, ["history", "--data-dir", data_dir, "--from", "soon"])
    assert bad.exit_code == EXIT_CONFIG and "neither a date" in bad.stderr


def test_history_of_an_empty_lake(tmp_path):
    result = runner.invoke(app, ["history", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "No assessments" in result.stdout


def test_db_rebuild(lake):
    result = runner.invoke(app, ["db", "rebuild", "--data-dir", str(lake.parent)])
    assert result.exit_code == 0 and (lake.parent / "joshua.duckdb").is_file()
