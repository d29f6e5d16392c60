"""`joshua backfill` and `joshua calibrate` on a fresh data dir, through a real Prefect server."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.backfill import backfill
from joshua.backfill import backfill_run_id
from joshua.cli import EXIT_CONFIG, app

pytestmark = pytest.mark.usefixtures("prefect_server")
runner = CliRunner()


def query(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_backfill_then_calibrate_fill_the_reconstruction_and_calibration_views(data_dir: Path, tmp_path: Path):
    result = runner.invoke(app, ["backfill", "--from", "1961", "--to", "1963", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "highest P(use): 1962" in " ".join(result.stdout.split())
    clock = tmp_path / "clock.toml"
    result = runner.invoke(app, ["calibrate", "--output", str(clock), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert all(row in result.stdout for row in ("calibrated clock", "ridge, 5 raw indicators", "warheads alone")) and clock.is_file()

    rows = query(data_dir, "SELECT year, bulletin_seconds, loo_seconds, fitted_seconds FROM calibration_loo ORDER BY year")
    assert len(rows) == 33 and rows[0][:2] == (1947, 420) and rows[-1][:2] == (2026, 85)
    years = query(
        data_dir,
        "SELECT year(as_of), analyzer, data_label, run_id, seconds_linear, seconds_calibrated, p_nuclear_use_365d "
        "FROM reconstruction ORDER BY as_of",
    )
    assert [y[0] for y in years] == [1961, 1962, 1963]
    assert all(y[1] == "structural" and "reconstruction" in y[2] for y in years)
    assert [y[3] for y in years] == [backfill_run_id(year) for year in (1961, 1962, 1963)]
    assert max(years, key=lambda y: y[6])[0] == 1962
    assert query(data_dir, "SELECT count(*) FROM assessments") == [(0,)]  # daily readers never see it


def test_a_rerun_replaces_each_year_and_the_daily_history_ignores_the_reconstruction(data_dir: Path):
    params = {"first_year": 1990, "last_year": 1991, "data_dir": str(data_dir)}
    first = backfill(**params)
    second = backfill(**params)
    assert [y.run_id for y in first.years] == [y.run_id for y in second.years]
    assert query(data_dir, "SELECT count(*), count(DISTINCT run_id) FROM reconstruction") == [(2, 2)]
    assert query(data_dir, "SELECT count(*) FROM runs WHERE flow = 'nuclear-risk-backfill'") == [(2,)]

    from flows.assessment import assess

    summary = assess(data_dir=str(data_dir))
    a = summary.assessment
    assert a.delta_seconds is None and a.trend == "insufficient"  # no reconstructed year is its history
    assert a.structural_score is not None and abs(a.score - a.structural_score) <= 0.05 + 1e-9
    assert a.seconds_linear is not None and a.seconds_calibrated is not None
    report = Path(summary.report_path)
    assert "latest setting: 85 s" in report.read_text(encoding="utf-8")
    assert "<svg" in (report.parent / a.run_id / "clock_history.svg").read_text(encoding="utf-8")
    html = report.with_suffix(".html").read_text(encoding="utf-8")
    assert "Reconstruction against the Bulletin" in html and "in sample" in html and "out of sample" in html
    charts = data_dir / "trend-charts"
    result = runner.invoke(app, ["trends", "--period", "all", "--output", str(charts), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "<svg" in (charts / "clock_history.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--to", "2999"], "has not begun"), (["--from", "1990", "--to", "1980"], "is before --from")],
)
def test_impossible_years_are_one_line_configuration_errors(data_dir: Path, args, message):
    result = runner.invoke(app, ["backfill", *args, "--data-dir", str(data_dir)])
    assert result.exit_code == EXIT_CONFIG
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
