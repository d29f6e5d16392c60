"""The catalog's named views and macros, on synthetic lakes with known answers."""

from datetime import UTC, date, datetime, timedelta

import pytest

from joshua.catalog import build_catalog, connect_lake
from tests.lake_factory import write_articles, write_lake

T0 = datetime(2026, 1, 1, 6, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def lake(tmp_path):
    return tmp_path / "lake"


def test_latest_period_and_top_factors(lake):
    ids = write_lake(
        lake,
        [
            (at(0), 500, {"economic": 0.2, "regional_conflict": 0.9, "nuclear_arsenal": 0.5}),
            (at(10), 480, {"economic": 0.3, "regional_conflict": 0.7}),
            (at(20), 460, {"economic": 0.4}),
        ],
    )
    con = connect_lake(lake)
    assert con.execute("SELECT assessment_id, seconds_to_midnight FROM latest_assessment").fetchall() == [(ids[2], 460)]
    period = con.execute("SELECT seconds_to_midnight FROM assessments_between('2026-01-05', '2026-01-31')").fetchall()
    assert period == [(480,), (460,)]
    last_day = f"{at(20):%Y-%m-%d}"  # an end date includes its whole day; an end timestamp does not
    assert con.execute(f"SELECT count(*) FROM assessments_between('2026-01-01', '{last_day}')").fetchone() == (3,)
    assert con.execute(f"SELECT count(*) FROM assessments_between('2026-01-01', '{last_day} 00:00:00')").fetchone() == (2,)
    assert con.execute(f"SELECT count(*) FROM assessments_between('2026-01-01', DATE '{last_day}')").fetchone() == (3,)
    top = con.execute(f"SELECT category, contribution FROM top_factors('{ids[0]}', 2)").fetchall()
    assert [c for c, _ in top] == ["regional_conflict", "nuclear_arsenal"]
    assert top[0][1] == pytest.approx(0.2 * 0.9)


def test_rolling_average_is_over_30_days_not_30_rows(lake):
    # irregular dates: a burst of three in two days, a gap of 40 days, then two more
    points = [(0, 600), (1, 500), (2, 400), (42, 300), (70, 100)]
    write_lake(lake, [(at(d), s, {"economic": 0.5}) for d, s in points])
    rows = connect_lake(lake).execute("SELECT avg_seconds_30d, assessments_30d FROM rolling_30d").fetchall()
    assert rows == [(600.0, 1), (550.0, 2), (500.0, 3), (300.0, 1), (200.0, 2)]  # day 70 sees day 42 (28 d back)


def test_rolling_window_includes_exactly_thirty_days_back(lake):
    write_lake(lake, [(at(0), 100, {"economic": 0.5}), (at(30), 300, {"economic": 0.5}), (at(30.001), 500, {"economic": 0.5})])
    rows = connect_lake(lake).execute("SELECT assessments_30d FROM rolling_30d").fetchall()
    assert rows == [(1,), (2,), (2,)]


def test_monthly_factor_trend(lake):
    write_lake(
        lake,
        [
            (at(0), 500, {"economic": 0.2}),
            (at(5), 500, {"economic": 0.4}),
            (at(40), 500, {"economic": 0.9}),
        ],
    )
    rows = connect_lake(lake).execute("SELECT month, mean_value, sd_value, n FROM monthly_factor_trend").fetchall()
    assert [(r[0].month, round(r[1], 6), r[3]) for r in rows] == [(1, 0.3, 2), (2, 0.9, 1)]
    assert rows[0][2] == pytest.approx(0.141421, abs=1e-6)


def test_current_year_against_the_previous_five(lake):
    write_lake(
        lake,
        [
            (at(-6 * 365 - 10), 999, {"economic": 0.5}),  # older than six years: ignored
            (at(-3 * 365), 700, {"economic": 0.5}),
            (at(-2 * 365), 600, {"economic": 0.5}),
            (at(-100), 400, {"economic": 0.5}),
            (at(0), 300, {"economic": 0.5}),
        ],
    )
    row = connect_lake(lake).execute("FROM current_vs_history").fetchone()
    assert row == (350.0, 2, 650.0, 2, -300.0)


def test_factor_correlations_need_thirty_assessments(lake):
    write_lake(
        lake,
        [(at(d), 500, {"economic": d / 40, "regional_conflict": 1 - d / 40, "nuclear_arsenal": 0.5}) for d in range(29)],
    )
    assert connect_lake(lake).execute("FROM factor_correlations").fetchall() == []
    write_lake(lake, [(at(29), 500, {"economic": 29 / 40, "regional_conflict": 1 - 29 / 40})], run_id="20260301T000000Z-bbbbbb")
    rows = connect_lake(lake).execute("SELECT first, second, round(r, 6), n FROM factor_correlations").fetchall()
    assert rows == [("economic", "regional_conflict", -1.0, 30)]  # the thirtieth pair: nuclear_arsenal has 29


def test_forces_history_reads_the_reference_data(lake):
    con = connect_lake(lake)
    rows = con.execute("SELECT year, total_warheads, source FROM forces_history('China')").fetchall()
    assert [r[0] for r in rows] == [2020, 2021, 2022, 2023, 2024, 2025]  # one row a year, oldest first
    assert rows[-1][:2] == (2025, 600) and rows[-2][:2] == (2024, 500)
    assert all(f"SIPRI Yearbook {year}" in source for year, _, source in rows)
    totals = con.execute("SELECT year, sum(total_warheads) FROM nuclear_forces GROUP BY year ORDER BY year").fetchall()
    assert totals[-2:] == [(2024, 12121), (2025, 12241)]


def test_arms_control_treaties_view(lake):
    con = connect_lake(lake)
    rows = con.execute(
        "SELECT status, status_since, expires FROM arms_control_treaties WHERE treaty = 'New START' ORDER BY status_since"
    ).fetchall()
    assert rows == [("suspended", date(2023, 2, 21), date(2026, 2, 5)), ("expired", date(2026, 2, 5), date(2026, 2, 5))]
    status_on = """
        SELECT status FROM arms_control_treaties
        WHERE treaty = $treaty AND status_since <= CAST($day AS DATE)
        ORDER BY status_since DESC LIMIT 1
    """
    assert con.execute(status_on, {"treaty": "New START", "day": "2024-01-01"}).fetchone() == ("suspended",)
    assert con.execute(status_on, {"treaty": "JCPOA", "day": "2025-10-01"}).fetchone() == ("expired",)
    missing = con.execute("SELECT count(*) FROM arms_control_treaties WHERE source IS NULL OR source_date IS NULL").fetchone()
    assert missing == (0,)


def test_search_items_matches_titles_and_text_once_per_article(lake):
    write_articles(
        lake,
        [
            {"article_id": "x1", "title": "ICBM test", "text": "A missile flew.", "quality": 0.9},
            {"article_id": "x2", "title": None, "text": "An icbm was shown.", "quality": 0.5},
            {"article_id": "x3", "title": "Weather", "text": "Rain.", "quality": 0.99},
        ],
    )
    write_articles(lake, [{"article_id": "x1", "title": "ICBM test", "text": "A missile flew.", "quality": 0.9}], run_id="20260102T000000Z-cccccc")
    for run in ("20260101T000000Z-aaaaaa", "20260102T000000Z-cccccc"):
        write_lake(lake, [], run_id=run)
    rows = connect_lake(lake).execute("SELECT article_id FROM search_items('icbm')").fetchall()
    assert rows == [("x1",), ("x2",)]


def test_everything_answers_on_an_empty_lake(tmp_path):
    catalog = build_catalog(tmp_path / "lake", tmp_path / "joshua.duckdb")
    import duckdb

    with duckdb.connect(str(catalog), read_only=True) as con:
        for query in (
            "FROM latest_assessment",
            "FROM rolling_30d",
            "FROM monthly_factor_trend",
            "FROM factor_correlations",
            "FROM assessments_between('2020-01-01', '2030-01-01')",
            "FROM top_factors('none', 3)",
            "FROM search_items('x')",
        ):
            assert con.execute(query).fetchall() == []
        assert con.execute("SELECT count(*) > 0 FROM arms_control_treaties").fetchone() == (True,)
        assert con.execute("SELECT current_year_n FROM current_vs_history").fetchone() == (0,)
