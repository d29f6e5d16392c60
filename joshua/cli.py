"""The `joshua` command line: the application shell around the Prefect flow.

Commands parse options, call into joshua/ and hand results to joshua/reporting/console.py; the
shared `--data-dir` option is declared once, and one handler (`JoshuaGroup`) turns a ConfigError
into exit 2 and any other JoshuaError into exit 1. Heavy imports (Prefect, the flow) happen inside
commands so that `--help` and configuration errors answer at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from joshua.errors import ConfigError, JoshuaError
from joshua.reporting.console import console, errors, print_error
from schemas.records import AssessmentParams

if TYPE_CHECKING:
    from joshua.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DEFAULT_SERVER_PORT = 4200  # Prefect's usual port: the background server's UI is at http://127.0.0.1:4200


class JoshuaGroup(TyperGroup):
    """Maps JOSHUA's errors to one line on stderr and an exit code, for every command."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            print_error(str(exc))
            raise typer.Exit(EXIT_CONFIG) from None
        except JoshuaError as exc:
            print_error(f"{ctx.invoked_subcommand} failed: {exc}")
            raise typer.Exit(EXIT_FAILED) from None


def _typer(**options: object) -> typer.Typer:
    # plain help: flags show as `--live`, not `--live <bool>`
    return typer.Typer(cls=JoshuaGroup, no_args_is_help=True, rich_markup_mode=None, **options)


app = _typer(
    name="joshua",
    help="JOSHUA: an open nuclear-risk monitor. How close are we, and why?",
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = _typer(help="The DuckDB catalog of views over the lake.")
snapshot_app = _typer(help="Recorded source responses for offline replays.")
server_app = _typer(help="Prefect's server in the background, reused by later runs.")
app.add_typer(db_app, name="db")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(server_app, name="server")

DataDir = Annotated[
    str | None,
    typer.Option(
        help="Data directory: lake, reports, caches, catalog (default data/, or JOSHUA_DATA_DIR); "
        "a local path or an object-store URL such as s3://bucket/prefix."
    ),
]


def _settings(data_dir: str | None) -> Settings:
    """Settings for a command (a ConfigError reaches the handler: exit 2); an object-store data
    directory must be reachable with the environment's credentials."""
    from joshua.settings import load_settings
    from joshua.storage import check_reachable

    settings = load_settings(data_dir=data_dir)
    if settings.paths.remote:
        check_reachable(settings.paths.remote)
    return settings


class Analyzer(StrEnum):
    auto = "auto"
    claude = "claude"
    heuristic = "heuristic"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


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


class Confidence(StrEnum):
    c80 = "80"
    c90 = "90"
    c95 = "95"
    c99 = "99"


# Prefect's telemetry off, as the Makefile does, for `joshua` run on its own: its temporary server
# would otherwise try to send a heartbeat and print the failure on stderr. An explicit value wins.
PREFECT_ANALYTICS_OFF = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


@app.callback()
def main() -> None:
    """JOSHUA: an open nuclear-risk monitor. How close are we, and why?"""
    for name, value in PREFECT_ANALYTICS_OFF.items():
        os.environ.setdefault(name, value)


@app.command()
def assess(
    snapshot: Annotated[
        Path | None, typer.Option(help="Replay this snapshot directory (default: the bundled sample).")
    ] = None,
    live: Annotated[bool, typer.Option("--live", help="Fetch the sources over the network.")] = False,
    allow_sample: Annotated[
        bool,
        typer.Option("--allow-sample", help="Let the fictional sample write into a lake that holds assessments of real data."),
    ] = False,
    analyzer: Annotated[Analyzer, typer.Option(help="auto: Claude when a key is set, else heuristic.")] = Analyzer.auto,
    model: Annotated[str | None, typer.Option(help="Claude model id (default from joshua.toml).")] = None,
    consensus: Annotated[int | None, typer.Option(min=1, max=7, help="Claude samples to combine.")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not reuse cached Claude replies or HTTP responses.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: DataDir = None,
    run_id: Annotated[str | None, typer.Option(help="Rerun (replace) an earlier run id.")] = None,
    min_sources: Annotated[int | None, typer.Option(min=1, help="Fewest sources that must succeed.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
    background_server: Annotated[
        bool,
        typer.Option(
            "--background-server",
            help="Start Prefect's server in the background on first use and leave it running for later runs "
            "(`joshua server stop` ends it). Without it a running background server is still reused.",
        ),
    ] = False,
) -> None:
    """Run one assessment: collect, curate, analyze, score, store and report.

    Prefect's API: PREFECT_API_URL if set, else the background server if one runs, else a temporary
    server that ends with this command.
    """
    from joshua.reporting.console import StageProgress, print_summary
    from joshua.run import open_run

    if snapshot is not None and live:
        raise ConfigError("--snapshot and --live exclude each other")
    params = AssessmentParams(
        snapshot=str(snapshot) if snapshot else None,
        live=live,
        allow_sample=allow_sample,
        analyzer=analyzer.value,
        model=model,
        consensus=consensus,
        use_cache=not no_cache,
        data_dir=str(data_dir) if data_dir else None,
        run_id=run_id,
        min_sources=min_sources,
    )
    open_run(params, _settings(data_dir))  # check the configuration before paying for Prefect's start-up
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from flows.assessment import assess as assessment_flow
    from joshua.progress import watch_progress

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=errors)
    with _prefect_api(background_server, show_progress=not json_output):
        try:
            with progress if not json_output else nullcontext(), watch_progress(StageProgress(progress)):
                summary = assessment_flow(**params.model_dump())
        except JoshuaError:
            raise
        except Exception as exc:  # noqa: BLE001 - the shell reports every failure in one line
            print_error(f"assess failed: {type(exc).__name__}: {exc}")
            raise typer.Exit(EXIT_FAILED) from None
    if json_output:
        console.print_json(summary.model_dump_json())
    else:
        print_summary(summary)


def _prefect_home() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home).expanduser()


@contextmanager
def _prefect_api(background: bool, show_progress: bool) -> Iterator[None]:
    """Point Prefect at its API for the block: PREFECT_API_URL, the background server or a temporary one."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from joshua.prefect_server import background_server, start_background_server, temporary_server

    if get_current_settings().api.url:  # the environment, a profile or a test harness names one
        yield
        return
    home = _prefect_home()
    with ExitStack() as stack:
        with errors.status("starting Prefect's server…") if show_progress else nullcontext():
            if background:
                info, started = start_background_server(home, DEFAULT_SERVER_PORT)
                if started:
                    errors.print(f"Prefect's server runs in the background at {info.url} (stop it: joshua server stop)")
            else:
                info = background_server(home)
            url = info.url if info else stack.enter_context(temporary_server())
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        yield


@server_app.command("start")
def server_start(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port (another free one if taken; 0: any).")
    ] = DEFAULT_SERVER_PORT,
) -> None:
    """Start Prefect's server (API and UI) in the background, unless one already runs."""
    from joshua.prefect_server import start_background_server

    with errors.status("starting Prefect's server…"):
        info, started = start_background_server(_prefect_home(), port)
    state = "started" if started else "already running"
    ui = info.url.removesuffix("/api")
    console.print(f"Prefect's server {state} at {info.url} (UI {ui}, process {info.pid})", markup=False)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the background server started by `joshua server start` or `joshua assess --background-server`."""
    from joshua.prefect_server import stop_background_server

    stopped = stop_background_server(_prefect_home())
    console.print(f"stopped Prefect's server at {stopped.url}" if stopped else "no background server was running", markup=False)


@server_app.command("status")
def server_status() -> None:
    """Say whether the background server runs, and where (exit 1 when none does)."""
    from joshua.prefect_server import background_server

    info = background_server(_prefect_home())
    if info is None:
        console.print("no background server is running")
        raise typer.Exit(EXIT_FAILED)
    console.print(f"Prefect's server runs at {info.url} (process {info.pid})", markup=False)


@db_app.command("sweep")
def db_sweep(data_dir: DataDir = None) -> None:
    """Remove the files of runs that never committed (killed mid-run), once older than any run lasts."""
    from datetime import UTC, datetime

    from joshua.lake import sweep_staging, sweep_uncommitted

    from joshua.compaction import sweep_compactions

    paths, now = _settings(data_dir).paths, datetime.now(UTC)
    staged = sweep_staging(paths.staging, now)
    published = sweep_uncommitted(paths.lake, now)
    compacted = sweep_compactions(paths.lake, now)
    console.print(
        f"removed {len(published)} lake file(s) and {len(staged)} staging dir(s) of runs that never committed, "
        f"{len(compacted)} file(s) a compaction replaced or never committed"
    )


@db_app.command("compact")
def db_compact(
    table: Annotated[str | None, typer.Option(help="Compact only this table (default: every table of runs' files).")] = None,
    before: Annotated[
        str | None, typer.Option(help="Compact only partitions dated before this day, YYYY-MM-DD (default: today, UTC).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Merge each partition's small files of committed runs into one (safe while runs write), then rebuild the catalog."""
    from datetime import UTC, date, datetime

    from joshua.catalog import build_catalog
    from joshua.compaction import COMPACTABLE, compact_lake
    from joshua.search import update_index

    if table is not None and table not in COMPACTABLE:
        raise ConfigError(f"--table {table!r} is not compactable; one of: {', '.join(COMPACTABLE)}")
    try:
        until = date.fromisoformat(before) if before else None
    except ValueError:
        raise ConfigError(f"--before {before!r} is not a date (YYYY-MM-DD)") from None
    paths, now = _settings(data_dir).paths, datetime.now(UTC)
    report = compact_lake(paths.lake, now, [table] if table else None, until or now.date())
    build_catalog(paths.lake, paths.catalog)
    if paths.search_index.is_file():  # its record of the runs files is stale now: searches would rescan them
        update_index(paths.lake, paths.search_index)
    console.print(
        f"compacted {report.partitions} partition(s): {report.files_replaced} file(s) merged into {report.partitions}"
    )


@db_app.command("index")
def db_index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the whole index from the lake.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Bring the item-search index (DATA_DIR/search.duckdb) up to the committed runs (built on first use)."""
    from joshua.search import update_index

    paths = _settings(data_dir).paths
    update = update_index(paths.lake, paths.search_index, rebuild=rebuild or None)
    how = "rebuilt" if update.rebuilt else f"updated ({update.added} run(s) added, {update.removed} removed)"
    console.print(f"{how} {paths.search_index}: {update.articles} article row(s)", markup=False)


@db_app.command("rebuild")
def db_rebuild(
    data_dir: DataDir = None,
    catalog: Annotated[
        Path | None,
        typer.Option(help="Catalog file to write (default DATA_DIR/joshua.duckdb; for an s3:// data dir, in its local working directory)."),
    ] = None,
) -> None:
    """Rebuild data/joshua.duckdb: views and macros over the lake (safe while a flow writes).

    With an object-store data directory the catalog is a local file whose views read the remote
    lake; the commands that read the lake (history, report, trends, …) then use it.
    """
    from joshua.catalog import build_catalog

    paths = _settings(data_dir).paths
    console.print(f"rebuilt {build_catalog(paths.lake, catalog or paths.catalog)}", markup=False)


@snapshot_app.command("record")
def snapshot_record(
    name: Annotated[str, typer.Argument(help="Snapshot name; it is written to DATA_DIR/snapshots/NAME unless --out.")],
    sources: Annotated[
        str | None, typer.Option(help="Comma-separated source ids (default: every enabled source).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Directory to write (must not exist).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Fetch the sources live and record their responses as a snapshot that replays offline."""
    from joshua.collect.record import record_snapshot
    from joshua.reporting.console import print_recording

    settings = _settings(data_dir)
    ids = [part.strip() for part in sources.split(",") if part.strip()] if sources else None
    with errors.status(f"recording snapshot {name}…"):
        recording = record_snapshot(name, settings, ids, out)
    if print_recording(recording) == 0:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def history(
    count: Annotated[int, typer.Option(min=1, help="How many assessments, newest first.")] = 10,
    from_: Annotated[str | None, typer.Option("--from", help="A date (YYYY-MM-DD) or a span back: 7d, 1m, 1y.")] = None,
    to: Annotated[str | None, typer.Option(help="A date (YYYY-MM-DD, inclusive) or a timestamp.")] = None,
    format_: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")] = OutputFormat.table,
    compare: Annotated[bool, typer.Option("--compare", help="Factors new, changed and gone between the last two.")] = False,
    data_dir: DataDir = None,
) -> None:
    """List past assessments: date, seconds, change, trend, confidence, top factor; and a summary."""
    import csv
    import json
    import sys
    from datetime import UTC, datetime

    from joshua.catalog import open_lake
    from joshua.history import as_records, compare_last_two, history_rows, parse_moment, summarize
    from joshua.reporting.console import print_history

    now = datetime.now(UTC)
    settings = _settings(data_dir)
    start = parse_moment(from_, now) if from_ else datetime(1900, 1, 1, tzinfo=UTC)
    end = parse_moment(to, now, end_of_day=True) if to else now
    with open_lake(settings.paths) as con:
        rows = history_rows(con, start, end, count)
        changes = compare_last_two(con) if compare else None
    summary = summarize(rows)
    if format_ is OutputFormat.json:
        payload = {"assessments": as_records(rows), "summary": summary.__dict__}
        if compare:
            payload["compare"] = changes.__dict__ if changes else None
        console.print_json(json.dumps(payload, default=str))
    elif format_ is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(as_records(rows)[0]) if rows else ["date"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(as_records(rows))
    else:
        print_history(rows, summary, changes, compare)


@app.command()
def search(
    query: Annotated[list[str], typer.Argument(help="Words every article must hold (the last may be the start of a word).")],
    format_: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")] = OutputFormat.table,
    data_dir: DataDir = None,
) -> None:
    """Search committed articles' titles and text: the best 50 holding every word (any script,
    accents and case ignored). Builds the search index on first use; `joshua db index` updates it."""
    import sys

    from joshua.search import search_items, update_index

    paths = _settings(data_dir).paths
    if not paths.search_index.is_file():
        with errors.status("building the search index…"):
            update_index(paths.lake, paths.search_index)
    text = " ".join(query)
    rows = search_items(paths.lake, paths.search_index, text)
    if format_ is OutputFormat.json:
        console.print_json(rows.write_json())
    elif format_ is OutputFormat.csv:
        sys.stdout.write(rows.write_csv())
    else:
        from joshua.reporting.console import print_search

        print_search(rows, text)


@app.command()
def report(
    assessment_id: Annotated[
        str | None, typer.Argument(help="An assessment id or a run id (default: the latest).")
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The latest assessment (the default).")] = False,
    format_: Annotated[ReportFormat, typer.Option("--format", help="md, html or json.")] = ReportFormat.html,
    open_: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Build the report of a stored assessment (the latest by default) from the lake."""
    import webbrowser

    from joshua.catalog import open_lake
    from joshua.reporting.data import load_report_data
    from joshua.reporting.write import write_report

    if latest and assessment_id:
        raise ConfigError("give an assessment id or --latest, not both")
    settings = _settings(data_dir)
    with open_lake(settings.paths) as con:
        data = load_report_data(con, assessment_id)
    path = write_report(data, settings.paths.reports, settings.risk, [format_.value])[format_.value]
    console.print(str(path), markup=False, highlight=False)
    if open_:
        webbrowser.open(path.resolve().as_uri())


@app.command()
def trends(
    period: Annotated[str, typer.Option(help="7d, 30d, 90d, 1y or all.")] = "30d",
    categories: Annotated[list[str] | None, typer.Option("--categories", help="Categories for the heat map (repeat).")] = None,
    format_: Annotated[ChartFormat, typer.Option("--format", help="svg, png or both.")] = ChartFormat.svg,
    output: Annotated[Path | None, typer.Option(help="Directory for the charts (default data/reports/trends).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the trend charts of a period and print its trend statistics."""
    from joshua.catalog import open_lake
    from joshua.reporting.charts import all_charts, write_charts
    from joshua.reporting.clock import write_clock
    from joshua.reporting.data import load_report_data
    from joshua.reporting.trends import restrict, trend_statistics

    settings = _settings(data_dir)
    with open_lake(settings.paths) as con:
        data = restrict(load_report_data(con), period, categories or [])
    formats = ("svg", "png") if format_ is ChartFormat.both else (format_.value,)
    directory = output or settings.paths.reports / "trends"
    written = write_charts(all_charts(data, settings.risk), directory, formats)
    written += write_clock(data.assessment.seconds_to_midnight, data.assessment.band, directory, formats)
    for name, value in trend_statistics(data):
        console.print(f"{name}: {value}", markup=False, highlight=False)
    console.print(f"{len(written)} chart file(s) in {directory}", markup=False)


@app.command()
def export(
    format_: Annotated[ExportFormat, typer.Option("--format", help="csv, json (one object a line) or parquet.")] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option(help="Directory (default data/export).")] = None,
    tables: Annotated[list[str] | None, typer.Option("--table", help="Tables to export (repeat; default all but raw_items).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export the lake's tables (completed runs only, like the views) to CSV, JSON lines or Parquet."""
    from joshua.catalog import open_lake
    from joshua.export import EXPORTABLE, export_tables

    chosen = tables or [t for t in EXPORTABLE if t != "raw_items"]
    unknown = sorted(set(chosen) - set(EXPORTABLE))
    if unknown:
        raise ConfigError(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(EXPORTABLE)}")
    settings = _settings(data_dir)
    directory = output or settings.local_dir / "export"
    with open_lake(settings.paths) as con:
        for path, rows in export_tables(con, chosen, format_.value, directory):
            console.print(f"{rows:>8} rows  {path}", markup=False)


@app.command()
def metrics(data_dir: DataDir = None) -> None:
    """Print Prometheus metrics computed from the lake (text exposition format)."""
    import sys

    from joshua.catalog import open_lake
    from joshua.metrics import render_metrics

    with open_lake(_settings(data_dir).paths) as con:
        sys.stdout.write(render_metrics(con).decode())


def _prefect_api_url() -> tuple[str | None, str]:
    """The Prefect API that runs report to, and where that comes from: PREFECT_API_URL, else the
    active Prefect profile (`prefect config set PREFECT_API_URL=…`)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"], "PREFECT_API_URL"
    from prefect.settings import PREFECT_API_URL, load_current_profile

    profile = load_current_profile()
    url = profile.settings.get(PREFECT_API_URL)
    origin = f"Prefect profile {profile.name!r}"
    return (str(url), origin) if url else (None, f"neither PREFECT_API_URL nor the {origin} sets one")


@app.command()
def diagnose(data_dir: DataDir = None) -> None:
    """Check configuration, data directory, lake and catalog, Prefect, credentials and sources."""
    from joshua.diagnose import diagnose as run_checks
    from joshua.diagnose import overall
    from joshua.reporting.console import print_checks

    checks = run_checks(data_dir, *_prefect_api_url())
    status = overall(checks)
    print_checks(checks, status)
    if status == "NOT READY":
        raise typer.Exit(EXIT_CONFIG)


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
    data_dir: DataDir = None,
) -> None:
    """What if? Apply a scenario to the latest assessment (or the sample) and simulate a year."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from joshua.calibration import load_clock
    from joshua.reporting.console import print_simulation
    from joshua.simulate import latest_start, load_scenario, run_simulation, sample_start

    settings = _settings(data_dir)
    chosen = load_scenario(scenario)
    clock = load_clock()
    start = latest_start(settings) or sample_start(settings, clock)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=errors)
    with progress:
        days = progress.add_task(f"simulating {iterations:,} years", total=365)
        result = run_simulation(
            start,
            chosen,
            settings,
            iterations,
            int(confidence.value) / 100,
            seed,
            on_day=lambda day: progress.update(days, completed=day),
            clock=clock,
        )
    print_simulation(result)


@app.command()
def backfill(
    from_: Annotated[int, typer.Option("--from", min=1945, help="First year (assessed as of 31 December).")] = 1947,
    to: Annotated[int | None, typer.Option(min=1945, help="Last year (default this year, as of today).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    data_dir: DataDir = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
) -> None:
    """Reconstruct each year from the historical record through the risk engine (a rerun replaces)."""
    from joshua.reporting.console import print_backfill
    if to is not None and to < from_:
        raise ConfigError(f"--to {to} is before --from {from_}")
    _settings(data_dir)  # a configuration error answers before Prefect starts
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    from flows.backfill import backfill as backfill_flow

    try:
        with errors.status("reconstructing…"):
            summary = backfill_flow(first_year=from_, last_year=to, data_dir=str(data_dir) if data_dir else None)
    except JoshuaError:
        raise
    except Exception as exc:  # noqa: BLE001 - the shell reports every failure in one line
        print_error(f"backfill failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    if json_output:
        console.print_json(summary.model_dump_json())
    else:
        print_backfill(summary)


@app.command()
def calibrate(
    output: Annotated[Path | None, typer.Option(help="Clock file to write (default data/calibration/clock.toml).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Fit the clock on the Bulletin's settings; leave-one-out, time split and baselines side by side."""
    from datetime import UTC, datetime

    from joshua.calibration import CLOCK_FILE, calibration_points, write_calibration
    from joshua.calibration import calibrate as fit_clock
    from joshua.catalog import build_catalog
    from joshua.reporting.console import print_calibration
    from joshua.structural.history import load_bulletin_settings, load_record

    settings = _settings(data_dir)
    result = fit_clock(calibration_points(load_record(), load_bulletin_settings()))
    paths = settings.paths
    clock_path, _ = write_calibration(result, datetime.now(UTC).date(), output or CLOCK_FILE, paths.lake)
    build_catalog(paths.lake, paths.catalog)
    print_calibration(result, clock_path)


if __name__ == "__main__":
    app()
