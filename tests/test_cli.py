import json

import pytest
from typer.testing import CliRunner

from joshua.cli import EXIT_CONFIG, EXIT_FAILED, app
from joshua.settings import PROJECT_ROOT
from tests.conftest import sample_body

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def one_line_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_help_lists_assess():
    result = invoke("--help")
    assert result.exit_code == 0 and "assess" in result.stdout


def test_plain_flags_show_no_value():
    result = invoke("assess", "--help")
    assert result.exit_code == 0 and "--live " in result.stdout and "--allow-sample" in result.stdout
    assert "<bool>" not in result.stdout and "--snapshot <path>" in result.stdout


def test_the_sample_is_refused_beside_real_assessments_with_exit_2(tmp_path):
    from datetime import UTC, datetime

    from tests.lake_factory import write_lake

    write_lake(tmp_path / "lake", [(datetime(2026, 11, 1, tzinfo=UTC), 89, {"economic": 0.5})])
    result = invoke("assess", "--data-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert "holds 1 assessment(s) of real data" in one_line_error(result) and "--allow-sample" in result.stderr


def test_missing_snapshot_is_a_one_line_configuration_error(tmp_path):
    result = invoke("assess", "--snapshot", str(tmp_path / "nope"), "--data-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert "does not exist" in one_line_error(result)


def test_unavailable_analyzer_is_a_configuration_error(tmp_path):
    result = invoke("assess", "--analyzer", "claude", "--data-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert "needs ANTHROPIC_API_KEY" in one_line_error(result)


def test_snapshot_and_live_exclude_each_other(tmp_path):
    result = invoke("assess", "--snapshot", str(tmp_path), "--live")
    assert result.exit_code == EXIT_CONFIG
    assert "exclude each other" in one_line_error(result)


def test_bad_settings_file_is_a_configuration_error(tmp_path):
    config = tmp_path / "joshua.toml"
    config.write_text("[risk.weights]\neconomic = 0.5\n")
    result = invoke("assess", "--data-dir", str(tmp_path), env={"JOSHUA_CONFIG": str(config)})
    assert result.exit_code == EXIT_CONFIG
    assert "weights must sum to 1.0" in one_line_error(result)


def test_bad_run_id_is_a_configuration_error(tmp_path):
    result = invoke("assess", "--run-id", "../../x", "--data-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert "run id" in one_line_error(result)


@pytest.mark.usefixtures("prefect_server")
def test_assess_json_on_the_sample(data_dir):
    result = invoke("assess", "--json", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    # The sample's figure: the structural level of its date, moved +0.05 by its news, on the
    # calibrated clock (the headline under `auto` since it meets its targets); linear beside it.
    assert summary["assessment"]["mapping"] == "calibrated"
    assert summary["assessment"]["seconds_to_midnight"] == summary["assessment"]["seconds_calibrated"] == 52
    assert summary["assessment"]["seconds_linear"] == 630
    assert summary["assessment"]["data_label"].startswith("snapshot 'sample'")
    assert summary["catalog_path"] == str(data_dir / "joshua.duckdb")


@pytest.mark.usefixtures("prefect_server")
def test_assess_prints_headline_drivers_and_paths(data_dir):
    result = invoke("assess", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    for expected in ("seconds to midnight", "band", "confidence", "Top drivers", "Report:", "Lake:", "duckdb"):
        assert expected in result.stdout
    assert "Bulletin of the Atomic Scientists: 85 s (27 January 2026)" in " ".join(result.stdout.split())
    for stage in ("collect", "curate", "analyze", "score", "store", "report"):
        assert stage in result.stderr  # the per-stage progress display


@pytest.mark.usefixtures("prefect_server")
def test_insufficient_sources_exit_1(data_dir, make_snapshot):
    snapshot = make_snapshot({"reuters-nuclear": {"body": sample_body("reuters-nuclear")}})
    result = invoke("assess", "--snapshot", str(snapshot), "--data-dir", str(data_dir))
    assert result.exit_code == EXIT_FAILED
    assert "assess failed: only 1 of 1 sources succeeded" in result.stderr


def test_simulate_a_bundled_scenario_from_the_sample(tmp_path):
    result = invoke("simulate", "--scenario", "escalation", "--iterations", "2000", "--confidence", "90",
                    "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Scenario escalation" in result.stdout and "bundled sample snapshot" in result.stdout
    assert "P(nuclear use within 365 days)" in result.stdout and "90% Wilson interval" in result.stdout


def test_simulate_a_scenario_file(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('[scenario]\nname = "mine"\n[factors]\neconomic = 0.4\n[rates]\nnuclear_threat = 3.0\n')
    result = invoke("simulate", "--scenario", str(scenario), "--iterations", "500", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Scenario mine" in result.stdout


@pytest.mark.parametrize(
    ("scenario", "message"),
    [("no-such-scenario", "bundled scenarios: arms-control-breakdown"), ("{path}", "rates must be non-negative")],
)
def test_simulate_rejects_bad_scenarios(tmp_path, scenario, message):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "bad"\n[rates]\nalien_invasion = 2.0\n')
    result = invoke("simulate", "--scenario", scenario.format(path=bad), "--data-dir", str(tmp_path))
    assert result.exit_code == EXIT_CONFIG
    assert message in one_line_error(result)


@pytest.mark.usefixtures("prefect_server")
def test_untrusted_text_is_printed_with_markup_off(data_dir, tmp_path):
    """A failing source's error quotes its body, and a snapshot names itself: `[/]` in either used to crash."""
    import shutil

    from tests.conftest import SAMPLE

    snapshot = tmp_path / "hostile-sample"
    shutil.copytree(SAMPLE, snapshot)
    for body in (snapshot / "bodies").glob("gdelt-artlist-*.json"):
        body.write_bytes(b"x [/] y [bold red]z")
    manifest = snapshot / "snapshot.toml"
    manifest.write_text(manifest.read_text().replace('name = "sample"', 'name = "sample [/] [red]copy"', 1))
    result = invoke("assess", "--snapshot", str(snapshot), "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "x [/] y [bold red]z" in result.stdout and "snapshot 'sample [/] [red]copy'" in result.stdout



def test_the_cli_itself_switches_prefect_analytics_off(tmp_path, monkeypatch):
    """The Makefile exports the analytics-off defaults; `joshua` run on its own sets them too (else the
    first `joshua assess` printed the failed telemetry heartbeat of Prefect's temporary server on stderr)."""
    import os

    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        monkeypatch.setenv(name, "unset")  # so that the test's end restores whatever was there
        monkeypatch.delenv(name)
    result = invoke("db", "rebuild", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and os.environ["DO_NOT_TRACK"] == "1"
    monkeypatch.setenv("DO_NOT_TRACK", "0")  # an explicit choice wins
    invoke("db", "rebuild", "--data-dir", str(tmp_path))
    assert os.environ["DO_NOT_TRACK"] == "0"

def test_db_sweep_removes_the_files_of_runs_that_never_committed(tmp_path):
    import os

    from joshua.lake import STALE_AFTER, table_path, write_parquet_atomic
    from tests.lake_factory import full

    dead = "20261127T080000Z-222222"
    orphan = write_parquet_atomic(full("articles", [{"run_id": dead}]), table_path(tmp_path / "lake", "articles", dead))
    stale = orphan.stat().st_mtime - STALE_AFTER.total_seconds() - 60
    os.utime(orphan, (stale, stale))
    result = invoke("db", "sweep", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "removed 1 lake file(s) and 0 staging dir(s)" in result.stdout and not orphan.exists()


def commands(group, path=("joshua",)):
    """Every leaf command of the CLI with its full name."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_every_command_and_option_is_documented():
    import typer.main

    docs = (PROJECT_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "docs/cli.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    listed = dict(commands(typer.main.get_command(app)))
    assert {"joshua assess", "joshua db rebuild", "joshua snapshot record"} <= set(listed)
    for name, command in listed.items():
        assert f"## {name}\n" in docs, name
        section = docs.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            names = param.opts if param.param_type_name == "option" else [param.name.upper()]
            for opt in names:
                assert f"`{opt}" in section, f"{name} {opt}"
