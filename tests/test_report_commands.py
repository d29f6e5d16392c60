"""`joshua report`, `trends` and `export` on a lake built by a real flow run; the HTML in Chromium."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.assessment import assess
from joshua.cli import EXIT_CONFIG, app

runner = CliRunner()


@pytest.fixture(scope="module")
def assessed(prefect_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    first = assess(data_dir=str(data_dir))
    second = assess(data_dir=str(data_dir))
    return data_dir, first, second


def invoke(*args):
    return runner.invoke(app, list(args))


def test_report_of_the_latest_and_of_an_id(assessed):
    data_dir, first, second = assessed
    latest = invoke("report", "--data-dir", str(data_dir), "--format", "json")
    assert latest.exit_code == 0, latest.output
    document = json.loads(Path(latest.stdout.strip()).read_text())
    assert document["assessment"]["assessment_id"] == second.assessment.assessment_id
    assert len(document["history"]) == 2 and document["sources"] and document["stages"]
    by_id = invoke("report", first.assessment.assessment_id, "--data-dir", str(data_dir), "--format", "md")
    markdown = Path(by_id.stdout.strip()).read_text()
    assert first.assessment.assessment_id in markdown and "## Appendix D: statistics" in markdown
    assert "Zaporizhzhia" in markdown  # evidence titles come back from the lake
    by_run = invoke("report", first.run_id, "--data-dir", str(data_dir), "--format", "json")
    assert by_run.exit_code == 0, by_run.output  # run ids are what the CLI, logs and artifacts show
    assert json.loads(Path(by_run.stdout.strip()).read_text())["assessment"]["run_id"] == first.run_id


def test_report_errors(assessed, tmp_path):
    data_dir = assessed[0]
    missing = invoke("report", "no-such-id", "--data-dir", str(data_dir))
    assert missing.exit_code == EXIT_CONFIG and "no assessment or run 'no-such-id'" in missing.stderr
    empty = invoke("report", "--data-dir", str(tmp_path))
    assert empty.exit_code == EXIT_CONFIG and "run `joshua assess`" in empty.stderr


def test_trends_write_charts_and_print_statistics(assessed, tmp_path):
    result = invoke("trends", "--data-dir", str(assessed[0]), "--period", "all", "--format", "both",
                    "--output", str(tmp_path), "--categories", "economic", "--categories", "regional_conflict")
    assert result.exit_code == 0, result.output
    assert "assessments in the period: 2" in result.stdout and "trend of economic" in result.stdout
    assert "trend of nuclear_arsenal" not in result.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 12 and "risk_over_time.png" in names and "monte_carlo.svg" in names
    assert (tmp_path / "risk_over_time.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "clock.png").read_bytes()[:4] == b"\x89PNG" and "clock.svg" in names
    bad = invoke("trends", "--data-dir", str(assessed[0]), "--period", "fortnight")
    assert bad.exit_code == EXIT_CONFIG and "period 'fortnight'" in bad.stderr


@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_export(assessed, tmp_path, file_format):
    result = invoke("export", "--data-dir", str(assessed[0]), "--format", file_format, "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    read = {"csv": pl.read_csv, "json": pl.read_ndjson, "parquet": pl.read_parquet}[file_format]
    assessments = read(tmp_path / f"assessments.{file_format}")
    assert assessments.height == 2 and "seconds_to_midnight" in assessments.columns
    assert read(tmp_path / f"risk_factors.{file_format}").height == 16
    assert not (tmp_path / f"raw_items.{file_format}").exists()  # only on request


def test_export_rejects_unknown_tables(assessed, tmp_path):
    result = invoke("export", "--data-dir", str(assessed[0]), "--table", "secrets")
    assert result.exit_code == EXIT_CONFIG and "unknown table(s) secrets" in result.stderr


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_html_report_renders_in_headless_chromium(assessed, tmp_path):
    from tests.test_reporting import HOSTILE, report_data  # a report whose source text is hostile
    from joshua.reporting.html import render_html

    data_dir, _, second = assessed
    real = data_dir / "reports" / f"{second.run_id}.html"
    hostile = tmp_path / "hostile.html"
    hostile.write_text(render_html(report_data(), charts={}), encoding="utf-8")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [CHROMIUM, *flags, "--window-size=1000,3000", f"--screenshot={shot}", real.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 50_000
    assert "CONSOLE" not in run.stderr, run.stderr  # no console message, let alone an error
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", hostile.as_uri()], capture_output=True, text=True, timeout=120)
    assert "<script" not in dom.stdout.split("</head>", 1)[1]  # the article's script is text, not an element
    assert "&lt;script&gt;alert" in dom.stdout and HOSTILE.split(" |")[0] not in dom.stdout.replace("&lt;", "<x")


def test_metrics_from_the_lake(assessed):
    from prometheus_client.parser import text_string_to_metric_families

    result = invoke("metrics", "--data-dir", str(assessed[0]))
    assert result.exit_code == 0
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(result.stdout)
        for s in family.samples
    }
    assert samples[("joshua_assessments_total", (("status", "completed"),))] == 2
    assert samples[("joshua_seconds_to_midnight", ())] == assessed[2].assessment.seconds_to_midnight
    assert samples[("joshua_source_items_total", (("source", "tass"),))] == 2 * 19
    assert samples[("joshua_assessment_duration_seconds_count", ())] == 2
    assert ("joshua_claude_cost_usd_total", ()) in samples and ("joshua_cache_total", (("cache", "http"), ("result", "miss"))) in samples


def test_diagnose(assessed, tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-secret-value-not-printed")
    ready = invoke("diagnose", "--data-dir", str(assessed[0]))
    assert ready.exit_code == 0 and "Overall Status: READY" in ready.stdout
    assert "ANTHROPIC_API_KEY set" in ready.stdout and "fake-secret-value" not in ready.stdout
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    broken = invoke("diagnose", "--data-dir", str(tmp_path))
    assert broken.exit_code == EXIT_CONFIG and "Overall Status: NOT READY" in broken.stdout
    assert "is not reachable" in broken.stdout and "empty: run `joshua assess`" in broken.stdout


def test_diagnose_reads_the_api_url_of_the_active_prefect_profile(tmp_path):
    home = tmp_path / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text('active = "remote"\n\n[profiles.remote]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {"PREFECT_HOME": str(home)}
    joshua = str(Path(sys.executable).parent / "joshua")
    done = subprocess.run([joshua, "diagnose", "--data-dir", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert "http://127.0.0.1:9/api (from Prefect profile 'remote') is not reachable" in done.stdout, done.stdout


def test_diagnose_reports_credentials_set_through_settings(tmp_path, monkeypatch):
    for name in ("NEWSAPI_KEY", "X_BEARER_TOKEN", "JOSHUA_NEWSAPI_KEY", "JOSHUA_X_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "joshua.toml"
    config.write_text('newsapi_key = "newsapi-secret-value"\nx_bearer_token = "x-secret-value"\n', encoding="utf-8")
    monkeypatch.setenv("JOSHUA_CONFIG", str(config))
    result = invoke("diagnose", "--data-dir", str(tmp_path / "data"))
    credentials = next(line for line in result.stdout.splitlines() if "credentials:" in line)
    assert "NEWSAPI_KEY set" in credentials and "X_BEARER_TOKEN set" in credentials
    assert "secret-value" not in result.stdout
