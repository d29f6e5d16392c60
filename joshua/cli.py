"""The `joshua` command line: the application shell around the Prefect flow.

Heavy imports (Prefect, the flow, Great Expectations) happen inside commands so that `--help`
and configuration errors answer at once.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from joshua.errors import ConfigError, JoshuaError
from schemas.records import AssessmentParams, RunSummary, StageMetrics

if TYPE_CHECKING:
    from joshua.settings import Settings
    from joshua.simulate import SimulationSummary

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

app = typer.Typer(
    name="joshua",
    help="JOSHUA: an open nuclear-risk monitor. How close are we, and why?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


class Analyzer(StrEnum):
    auto = "auto"
    claude = "claude"
    heuristic = "heuristic"


class StageProgress:
    """A rich progress display fed by the flow's stage timer."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.rows: dict[str, int] = {}

    def stage_started(self, stage: str) -> None:
        self.rows[stage] = self.progress.add_task(f"{stage}…", total=1)

    def stage_finished(self, metrics: StageMetrics) -> None:
        self.progress.update(
            self.rows[metrics.stage],
            completed=1,
            description=f"{metrics.stage:<8} {metrics.seconds:6.2f} s  {metrics.items_in} in → {metrics.items_out} out",
        )


def _settings(data_dir: Path | None) -> Settings:
    """Settings for a command, or a one-line configuration error (exit 2)."""
    from joshua.settings import load_settings

    try:
        return load_settings(data_dir=data_dir)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None


def _fail(message: str, code: int) -> typer.Exit:
    one_line = " ".join(message.split())  # e.g. a validation error's several lines
    errors.print(Text("error: ", style="bold red") + Text(one_line), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _print_summary(summary: RunSummary) -> None:
    a = summary.assessment
    assert a is not None
    delta = "" if a.delta_seconds is None else f" ({a.delta_seconds:+d} s since the previous run)"
    from joshua.reporting.clock import clock_ascii

    console.print()
    console.print(Text(clock_ascii(a.seconds_to_midnight, a.band)), highlight=False)
    console.print()
    console.print(
        f"[bold]{a.seconds_to_midnight} seconds to midnight[/] (95% interval {a.ci_seconds_low}–"
        f"{a.ci_seconds_high} s){delta}"
    )
    console.print(
        f"band [bold]{a.band}[/] · confidence [bold]{a.confidence.value}[/] ({a.confidence_score:.2f})"
        f" · trend {a.trend} · analyzer {a.analyzer}"
    )
    console.print(
        f"P(nuclear use within 365 days) {a.p_nuclear_use_365d:.2%} "
        f"(95% interval {a.p_use_ci_low:.2%}–{a.p_use_ci_high:.2%})"
    )
    for alert in a.alerts:
        console.print(Text(f"{alert.level}: ", style="bold yellow") + Text(alert.message))
    console.print(f"[dim]{a.data_label}[/]", highlight=False)
    if summary.fallback_reason:
        console.print(Text("Claude was not used: ", style="yellow") + Text(summary.fallback_reason))
    if summary.claude_calls:
        console.print(
            f"Claude: {summary.claude_calls} call(s), {summary.tokens_in:,} input and {summary.tokens_out:,} output "
            f"tokens, ${summary.cost_usd:.4f}"
        )
    if a.analyst_seconds is not None:
        console.print(f"Claude's own estimate (not the headline): {a.analyst_seconds} seconds ({a.model})")
    if a.change_explanation:
        console.print(Text("What moved: ", style="bold") + Text(a.change_explanation))
    console.print("\n[bold]Top drivers[/]")
    for factor in a.factors[:3]:
        rating = factor.rating
        console.print(
            f" {factor.rank}. {rating.category.value.replace('_', ' ')}: value {rating.value:.2f}, "
            f"confidence {rating.confidence.value}, contribution {factor.contribution:.3f}",
            highlight=False,
        )
        for article_id in rating.evidence[:3]:
            ref = summary.evidence.get(article_id)
            if ref is not None:
                line = Text(f"    - {ref.title} ")  # source text is data, never markup
                line.append(f"({ref.source_id})", style="dim")
                console.print(line, highlight=False)
    failed = [s for s in summary.sources if s.status == "failed"]
    if failed:
        console.print(f"\n[yellow]{len(failed)} source(s) failed:[/] " + "; ".join(s.error or s.source_id for s in failed))
    report = Path(summary.report_path or "")
    console.print(f"\nReport:  {report} (also {report.with_suffix('.html').name} and {report.with_suffix('.json').name})")
    console.print(f"Lake:    {summary.lake_path}")
    console.print(f"Catalog: duckdb {summary.catalog_path}")


@app.callback()
def main() -> None:
    """JOSHUA: an open nuclear-risk monitor. How close are we, and why?"""


@app.command()
def assess(
    snapshot: Annotated[
        Path | None, typer.Option(help="Replay this snapshot directory (default: the bundled sample).")
    ] = None,
    live: Annotated[bool, typer.Option("--live", help="Fetch the sources over the network.")] = False,
    analyzer: Annotated[Analyzer, typer.Option(help="auto: Claude when a key is set, else heuristic.")] = Analyzer.auto,
    model: Annotated[str | None, typer.Option(help="Claude model id (default from joshua.toml).")] = None,
    consensus: Annotated[int | None, typer.Option(min=1, max=7, help="Claude samples to combine.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not reuse cached Claude replies or HTTP responses.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where everything the run writes goes (default data/, or JOSHUA_DATA_DIR)."),
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Rerun (replace) an earlier run id.")] = None,
    min_sources: Annotated[int | None, typer.Option(min=1, help="Fewest sources that must succeed.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
) -> None:
    """Run one assessment: collect, curate, analyze, score, store and report."""
    if snapshot is not None and live:
        raise _fail("--snapshot and --live exclude each other", EXIT_CONFIG)
    params = AssessmentParams(
        snapshot=str(snapshot) if snapshot else None,
        live=live,
        analyzer=analyzer.value,
        model=model,
        consensus=consensus,
        use_cache=not no_cache,
        data_dir=str(data_dir) if data_dir else None,
        run_id=run_id,
        min_sources=min_sources,
    )
    from joshua.run import open_run
    from joshua.settings import load_settings

    try:  # check the configuration before paying for Prefect's start-up
        open_run(params, load_settings(data_dir=params.data_dir))
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    from joshua import sidecar

    sidecar.prewarm()  # validation and chart libraries load in their own process while Prefect starts
    summary = _run_flow(params, show_progress=not json_output)
    if json_output:
        console.print_json(summary.model_dump_json())
    else:
        _print_summary(summary)


def _run_flow(params: AssessmentParams, show_progress: bool) -> RunSummary:
    """Run the assessment flow, with a progress display, mapping failures to exit codes."""
    from flows.assessment import assess as assessment_flow
    from joshua.progress import watch_progress

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=errors)
    try:
        with progress if show_progress else nullcontext(), watch_progress(StageProgress(progress)):
            return assessment_flow(params)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except JoshuaError as exc:
        raise _fail(f"assessment failed: {exc}", EXIT_FAILED) from None
    except Exception as exc:  # noqa: BLE001 - the shell reports every failure in one line
        raise _fail(f"assessment failed: {type(exc).__name__}: {exc}", EXIT_FAILED) from None


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


db_app = typer.Typer(help="The DuckDB catalog of views over the lake.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("rebuild")
def db_rebuild(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Rebuild data/joshua.duckdb: views and macros over the lake (safe while a flow writes)."""
    from joshua.catalog import build_catalog

    settings = _settings(data_dir)
    catalog = build_catalog(settings.data_dir / "lake", settings.data_dir / "joshua.duckdb")
    console.print(f"rebuilt {catalog}")


snapshot_app = typer.Typer(help="Recorded source responses for offline replays.", no_args_is_help=True)
app.add_typer(snapshot_app, name="snapshot")


@snapshot_app.command("record")
def snapshot_record(
    name: Annotated[str, typer.Argument(help="Snapshot name; it is written to DATA_DIR/snapshots/NAME unless --out.")],
    sources: Annotated[
        str | None, typer.Option(help="Comma-separated source ids (default: every enabled source).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Directory to write (must not exist).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Fetch the sources live and record their responses as a snapshot that replays offline."""
    from joshua.collect.record import record_snapshot

    settings = _settings(data_dir)
    ids = [part.strip() for part in sources.split(",") if part.strip()] if sources else None
    try:
        with errors.status(f"recording snapshot {name}…"):
            recording = record_snapshot(name, settings, ids, out)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    for source in recording.sources:
        line = f"{source.source_id:<26} {source.responses} responses, {source.items} items"
        console.print(line + (f"  [red]{'; '.join(source.errors)}[/red]" if source.errors else ""), highlight=False)
    recorded = sum(source.responses > 0 for source in recording.sources)
    console.print(f"recorded {recorded} of {len(recording.sources)} sources into {recording.directory}")
    console.print(f"replay it with: joshua assess --snapshot {recording.directory}")
    if recorded == 0:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def history(
    count: Annotated[int, typer.Option(min=1, help="How many assessments, newest first.")] = 10,
    from_: Annotated[str | None, typer.Option("--from", help="A date (YYYY-MM-DD) or a span back: 7d, 1m, 1y.")] = None,
    to: Annotated[str | None, typer.Option(help="A date (YYYY-MM-DD, inclusive) or a timestamp.")] = None,
    format_: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")] = OutputFormat.table,
    compare: Annotated[bool, typer.Option("--compare", help="Factors new, changed and gone between the last two.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """List past assessments: date, seconds, change, trend, confidence, top factor; and a summary."""
    import csv
    import json
    import sys
    from datetime import UTC, datetime

    from joshua.catalog import connect_lake
    from joshua.history import as_records, compare_last_two, history_rows, parse_moment, summarize
    from joshua.settings import load_settings

    now = datetime.now(UTC)
    try:
        settings = load_settings(data_dir=data_dir)
        start = parse_moment(from_, now) if from_ else datetime(1900, 1, 1, tzinfo=UTC)
        end = parse_moment(to, now, end_of_day=True) if to else now
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    with connect_lake(settings.data_dir / "lake") as con:
        rows = history_rows(con, start, end, count)
        changes = compare_last_two(con) if compare else None
    summary = summarize(rows)
    if format_ is OutputFormat.json:
        payload = {"assessments": as_records(rows), "summary": summary.__dict__}
        if compare:
            payload["compare"] = changes.__dict__ if changes else None
        console.print_json(json.dumps(payload, default=str))
        return
    if format_ is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(as_records(rows)[0]) if rows else ["date"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(as_records(rows))
        return
    _print_history(rows, summary, changes, compare)


def _print_history(rows, summary, changes, compare: bool) -> None:
    from rich.table import Table

    if not rows:
        console.print("No assessments in that period. Run `joshua assess` first.")
        return
    table = Table("date", "seconds", "change", "trend", "confidence", "top factor")
    for r in rows:
        change = "" if r.change is None else f"{r.change:+d}"
        table.add_row(f"{r.date:%Y-%m-%d %H:%M}", str(r.seconds), change, r.trend, r.confidence, r.top_factor or "")
    console.print(table)
    volatility = "n/a" if summary.volatility is None else f"{summary.volatility:.1f} s"
    console.print(
        f"{summary.count} assessments · mean {summary.mean:.0f} s · min {summary.minimum} · max {summary.maximum}"
        f" · volatility {volatility}"
    )
    if compare:
        if changes is None:
            console.print("Fewer than two assessments: nothing to compare.")
            return
        console.print(f"new: {', '.join(changes.new) or 'none'}")
        console.print(f"gone: {', '.join(changes.gone) or 'none'}")
        for key, before, after in changes.changed:
            console.print(f"changed: {key} {before:.2f} → {after:.2f}")
        if not changes.changed:
            console.print("changed: none")


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"


class ChartFormat(StrEnum):
    svg = "svg"
    png = "png"
    both = "both"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.command()
def report(
    assessment_id: Annotated[str | None, typer.Argument(help="An assessment id (default: the latest).")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The latest assessment (the default).")] = False,
    format_: Annotated[ReportFormat, typer.Option("--format", help="md, html or json.")] = ReportFormat.html,
    open_: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Build the report of a stored assessment (the latest by default) from the lake."""
    import webbrowser

    from joshua.catalog import connect_lake
    from joshua.reporting.data import load_report_data
    from joshua.reporting.write import write_report
    from joshua.settings import load_settings

    if latest and assessment_id:
        raise _fail("give an assessment id or --latest, not both", EXIT_CONFIG)
    try:
        settings = load_settings(data_dir=data_dir)
        with connect_lake(settings.data_dir / "lake") as con:
            data = load_report_data(con, assessment_id)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    path = write_report(data, settings.data_dir / "reports", settings.risk, [format_.value])[format_.value]
    console.print(str(path))
    if open_:
        webbrowser.open(path.resolve().as_uri())


@app.command()
def trends(
    period: Annotated[str, typer.Option(help="7d, 30d, 90d, 1y or all.")] = "30d",
    categories: Annotated[list[str] | None, typer.Option("--categories", help="Categories for the heat map (repeat).")] = None,
    format_: Annotated[ChartFormat, typer.Option("--format", help="svg, png or both.")] = ChartFormat.svg,
    output: Annotated[Path | None, typer.Option(help="Directory for the charts (default data/reports/trends).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Write the trend charts of a period and print its trend statistics."""
    from joshua.catalog import connect_lake
    from joshua.reporting.charts import all_charts, write_charts
    from joshua.reporting.clock import write_clock
    from joshua.reporting.data import load_report_data
    from joshua.reporting.trends import restrict, trend_statistics
    from joshua.settings import load_settings

    try:
        settings = load_settings(data_dir=data_dir)
        with connect_lake(settings.data_dir / "lake") as con:
            data = restrict(load_report_data(con), period, categories or [])
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    formats = ("svg", "png") if format_ is ChartFormat.both else (format_.value,)
    directory = output or settings.data_dir / "reports" / "trends"
    written = write_charts(all_charts(data, settings.risk), directory, formats)
    written += write_clock(data.assessment.seconds_to_midnight, data.assessment.band, directory, formats)
    for name, value in trend_statistics(data):
        console.print(f"{name}: {value}", highlight=False)
    console.print(f"{len(written)} chart file(s) in {directory}")


@app.command()
def export(
    format_: Annotated[ExportFormat, typer.Option("--format", help="csv, json (one object a line) or parquet.")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option(help="Directory (default data/export).")] = None,
    tables: Annotated[list[str] | None, typer.Option("--table", help="Tables to export (repeat; default all but raw_items).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Export the lake's tables (completed runs only, like the views) to CSV, JSON lines or Parquet."""
    from joshua.catalog import connect_lake
    from joshua.export import EXPORTABLE, export_tables

    chosen = tables or [t for t in EXPORTABLE if t != "raw_items"]
    unknown = sorted(set(chosen) - set(EXPORTABLE))
    if unknown:
        raise _fail(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(EXPORTABLE)}", EXIT_CONFIG)
    settings = _settings(data_dir)
    directory = output or settings.data_dir / "export"
    with connect_lake(settings.data_dir / "lake") as con:
        for path, rows in export_tables(con, chosen, format_.value, directory):
            console.print(f"{rows:>8} rows  {path}")


@app.command()
def metrics(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Print Prometheus metrics computed from the lake (text exposition format)."""
    import sys

    from joshua.catalog import connect_lake
    from joshua.metrics import render_metrics

    settings = _settings(data_dir)
    with connect_lake(settings.data_dir / "lake") as con:
        sys.stdout.write(render_metrics(con).decode())


@app.command()
def diagnose(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Check configuration, data directory, lake and catalog, Prefect, credentials and sources."""
    from joshua.diagnose import diagnose as run_checks
    from joshua.diagnose import overall

    checks = run_checks(data_dir, os.environ.get("PREFECT_API_URL"))
    marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        console.print(f"{marks[check.status]} {check.name}: ", end="")
        console.print(check.detail, markup=False, highlight=False)
    status = overall(checks)
    console.print(f"\nOverall Status: [bold]{status}[/]")
    if status == "NOT READY":
        raise typer.Exit(EXIT_CONFIG)


class Confidence(StrEnum):
    c80 = "80"
    c90 = "90"
    c95 = "95"
    c99 = "99"


@app.command()
def simulate(
    scenario: Annotated[
        str,
        typer.Option(
            help="baseline, escalation, deescalation, technical-incident, arsenal-expansion, "
            "arms-control-breakdown, or a scenario .toml file."
        ),
    ] = "baseline",
    iterations: Annotated[int, typer.Option(min=100, max=5_000_000, help="Draws and simulated years.")] = 10_000,
    confidence: Annotated[Confidence, typer.Option(help="Interval confidence in percent.")] = Confidence.c95,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same result).")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Lake to read the latest assessment from.")] = None,
) -> None:
    """What if? Apply a scenario to the latest assessment (or the sample) and simulate a year."""
    from joshua.settings import load_settings
    from joshua.simulate import latest_ratings, load_scenario, run_simulation, sample_ratings

    try:
        settings = load_settings(data_dir=data_dir)
        chosen = load_scenario(scenario)
        ratings, starting_point = latest_ratings(settings) or sample_ratings(settings)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=errors)
    with progress:
        days = progress.add_task(f"simulating {iterations:,} years", total=365)
        result = run_simulation(
            ratings,
            starting_point,
            chosen,
            settings,
            iterations,
            int(confidence.value) / 100,
            seed,
            on_day=lambda day: progress.update(days, completed=day),
        )
    _print_simulation(result)


def _print_simulation(result: SimulationSummary) -> None:
    e = result.escalation
    level = f"{result.confidence:.0%}"
    console.print(f"\n[bold]Scenario {result.scenario.name}[/]: {result.scenario.description}", highlight=False)
    console.print(f"[dim]from the {result.starting_point}[/]", highlight=False)
    console.print(
        f"\n[bold]{result.seconds} seconds to midnight[/] (band {result.band}); {level} interval "
        f"{result.seconds_interval[0]}–{result.seconds_interval[1]} s"
    )
    console.print(
        f"score {result.score:.4f}: mean {result.score_mean:.4f}, SD {result.score_sd:.4f}, {level} interval "
        f"{result.score_interval[0]:.4f}–{result.score_interval[1]:.4f}"
    )
    low, high = result.p_use_interval
    console.print(
        f"P(nuclear use within 365 days) = [bold]{e.p_use:.2%}[/] ({level} Wilson interval {low:.2%}–{high:.2%}, "
        f"{e.uses} of {e.runs:,} simulated years)"
    )
    if e.mean_days_to_use is not None:
        console.print(f"mean days to use: {e.mean_days_to_use:.0f}")
    if e.most_common_pathway:
        console.print("most common pathway: " + " → ".join(e.most_common_pathway))
    console.print(
        "highest escalation rung reached: "
        + ", ".join(f"{rung}: {share:.1%}" for rung, share in e.highest_rung.items()),
        highlight=False,
    )


@app.command()
def backfill(
    from_: Annotated[int, typer.Option("--from", min=1945, help="First year (assessed as of 31 December).")] = 1947,
    to: Annotated[int | None, typer.Option(min=1945, help="Last year (default this year, as of today).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
) -> None:
    """Reconstruct each year from the historical record through the risk engine (a rerun replaces)."""
    from pydantic import ValidationError

    from schemas.records import BackfillParams

    try:
        params = BackfillParams(first_year=from_, last_year=to, data_dir=str(data_dir) if data_dir else None)
    except ValidationError as exc:
        raise _fail(str(exc.errors()[0]["msg"]), EXIT_CONFIG) from None
    _settings(data_dir)  # a configuration error answers before Prefect starts
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    from flows.backfill import backfill as backfill_flow

    try:
        with errors.status("reconstructing…"):
            summary = backfill_flow(params)
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except Exception as exc:  # noqa: BLE001 - the shell reports every failure in one line
        raise _fail(f"backfill failed: {type(exc).__name__}: {exc}", EXIT_FAILED) from None
    if json_output:
        console.print_json(summary.model_dump_json())
        return
    console.print("year  score  seconds  calibrated  linear  P(use)", highlight=False)
    for y in summary.years:
        calibrated = "-" if y.seconds_calibrated is None else str(y.seconds_calibrated)
        console.print(
            f"{y.year}  {y.score:.3f}  {y.seconds_to_midnight:>7}  {calibrated:>10}  {y.seconds_linear:>6}  "
            f"{y.p_nuclear_use_365d:.2%}",
            highlight=False,
        )
    console.print(
        f"{len(summary.years)} years in {summary.lake_path} (view `reconstruction`); highest P(use): "
        f"{summary.peak_p_use_year}; expected uses summed: {summary.expected_uses:.3f}",
        highlight=False,
    )


@app.command()
def calibrate(
    output: Annotated[Path | None, typer.Option(help="Clock file to write (default data/calibration/clock.toml).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default data/).")] = None,
) -> None:
    """Fit the clock on the Bulletin's settings; leave-one-out, time split and baselines side by side."""
    from datetime import UTC, datetime

    from joshua.calibration import CLOCK_FILE, TARGET_MAE, TARGET_SPEARMAN, calibration_points, write_calibration
    from joshua.calibration import calibrate as fit_clock
    from joshua.catalog import build_catalog
    from joshua.structural.history import load_bulletin_settings, load_record

    settings = _settings(data_dir)
    try:
        result = fit_clock(calibration_points(load_record(), load_bulletin_settings()))
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    lake = settings.data_dir / "lake"
    clock_path, _ = write_calibration(result, datetime.now(UTC).date(), output or CLOCK_FILE, lake)
    build_catalog(lake, settings.data_dir / "joshua.duckdb")
    m = result.mapping
    console.print(
        f"seconds = exp({m.intercept:.3f} − {m.slope:.3f} × clock score); clock score = "
        + " + ".join(f"{w:.3f}·{c.value}" for c, w in m.weights.items() if w > 0),
        highlight=False,
    )
    rows = [
        ("calibrated clock", result.loo.spearman, result.loo.mae, result.time_split.spearman, result.time_split.mae),
        ("ridge, five raw indicators", result.ridge_loo.spearman, result.ridge_loo.mae, result.ridge_time_split.spearman, result.ridge_time_split.mae),
        ("world warheads alone", result.warheads_loo.spearman, result.warheads_loo.mae, None, None),
    ]
    console.print(f"{'':<28} {'LOO Spearman':>12} {'LOO MAE':>9} {'split Spearman':>15} {'split MAE':>10}")
    for name, rho, mae, split_rho, split_mae in rows:
        split = f"{split_rho:>15.3f} {split_mae:>8.0f} s" if split_rho is not None else f"{'-':>15} {'-':>10}"
        console.print(f"{name:<28} {rho:>12.3f} {mae:>7.0f} s {split}", highlight=False)
    console.print(
        f"world warheads alone rank the settings in sample with Spearman {result.warheads_spearman:+.3f} "
        "(positive: more warheads, more seconds, the wrong sign)",
        highlight=False,
    )
    met = result.loo.meets_targets()
    console.print(
        f"targets: LOO Spearman ≥ {TARGET_SPEARMAN:.2f} and MAE ≤ {TARGET_MAE:.0f} s: "
        + ("[green]met[/]: `auto` now uses the calibrated clock" if met else "[yellow]not met[/]: `auto` keeps the linear mapping")
    )
    console.print(f"wrote {clock_path} and the lake table behind the view calibration_loo", highlight=False)


if __name__ == "__main__":
    app()
