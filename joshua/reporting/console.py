"""What the `joshua` command prints: rich output for people, kept out of the command definitions.

Text that comes from sources or the lake is data, never markup: it is printed as `Text` or with
`markup=False`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.progress import Progress
from rich.table import Column, Table
from rich.text import Text

from schemas.records import Assessment, BackfillSummary, RunSummary, StageMetrics

if TYPE_CHECKING:
    from joshua.calibration import Calibration
    from joshua.collect.record import Recording
    from joshua.diagnose import Check
    from joshua.history import FactorChanges, HistoryRow, HistorySummary
    from joshua.simulate import SimulationSummary

console = Console()
errors = Console(stderr=True)


def print_error(message: str) -> None:
    """One line on stderr: `error: …` (a validation error's several lines joined)."""
    one_line = " ".join(message.split())
    errors.print(Text("error: ", style="bold red") + Text(one_line), highlight=False, soft_wrap=True)


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


def bulletin_line(a: Assessment) -> str:
    """The Bulletin's latest setting beside the calibrated clock's and the linear mapping's readings."""
    from joshua.structural.history import load_bulletin_settings

    latest = max(load_bulletin_settings(), key=lambda setting: setting.announced)
    calibrated = "–" if a.seconds_calibrated is None else f"{a.seconds_calibrated} s"
    return (
        f"Bulletin of the Atomic Scientists: {latest.seconds} s ({latest.announced:%d %B %Y}) · JOSHUA's "
        f"calibrated clock {calibrated} · linear mapping {a.seconds_linear} s (headline: {a.mapping})"
    )


def print_summary(summary: RunSummary) -> None:
    """An assessment for a terminal: the clock, the headline, alerts, accounting, drivers, paths."""
    from joshua.reporting.clock import clock_ascii

    a = summary.assessment
    assert a is not None
    delta = "" if a.delta_seconds is None else f" ({a.delta_seconds:+d} s since the previous run)"
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
    console.print(bulletin_line(a), markup=False, highlight=False)
    for alert in a.alerts:
        console.print(Text(f"{alert.level}: ", style="bold yellow") + Text(alert.message))
    console.print(Text(a.data_label, style="dim"), highlight=False)
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
                line = Text(f"    - {ref.title} ")
                line.append(f"({ref.source_id})", style="dim")
                console.print(line, highlight=False)
    failed = [s for s in summary.sources if s.status == "failed"]
    if failed:
        console.print(
            Text(f"\n{len(failed)} source(s) failed: ", style="yellow")
            + Text("; ".join(f"{s.error or s.source_id} [{s.error_type}]" for s in failed))
        )
    report = Path(summary.report_path or "")
    console.print(
        f"\nReport:  {report} (also {report.with_suffix('.html').name} and {report.with_suffix('.json').name})",
        markup=False,
        highlight=False,
    )
    console.print(f"Lake:    {summary.lake_path}", markup=False, highlight=False)
    console.print(f"Catalog: duckdb {summary.catalog_path}", markup=False, highlight=False)


def print_history(
    rows: list[HistoryRow], summary: HistorySummary, changes: FactorChanges | None, compare: bool
) -> None:
    """Past assessments as a table, their summary, and the factor comparison when asked."""
    if not rows:
        console.print("No assessments in that period. Run `joshua assess` first.")
        return
    table = Table("date", "seconds", "change", "trend", "confidence", Column("top factor", overflow="fold"))
    for r in rows:
        change = "" if r.change is None else f"{r.change:+d}"
        table.add_row(f"{r.date:%Y-%m-%d %H:%M}", str(r.seconds), change, r.trend, r.confidence, r.top_factor or "")
    # piped or redirected, the table takes its whole width rather than an assumed 80 columns
    natural = console.measure(table, options=console.options.update_width(1_000)).maximum
    (console if console.is_terminal else Console(width=natural)).print(table)
    volatility = "n/a" if summary.volatility is None else f"{summary.volatility:.1f} s"
    console.print(
        f"{summary.count} assessments · mean {summary.mean:.0f} s · min {summary.minimum} · max {summary.maximum}"
        f" · volatility {volatility}"
    )
    if not compare:
        return
    if changes is None:
        console.print("Fewer than two assessments: nothing to compare.")
        return
    console.print(f"new: {', '.join(changes.new) or 'none'}", markup=False)
    console.print(f"gone: {', '.join(changes.gone) or 'none'}", markup=False)
    for key, before, after in changes.changed:
        console.print(f"changed: {key} {before:.2f} → {after:.2f}", markup=False)
    if not changes.changed:
        console.print("changed: none")


def print_search(rows: pl.DataFrame, query: str) -> None:
    """Search results, best first; titles and URLs are data (Text), never markup."""
    if rows.is_empty():
        console.print(Text(f"No committed article holds every word of {query!r}."))
        return
    table = Table("published", "source", "quality", Column("title", overflow="fold"), Column("url", overflow="fold"))
    for r in rows.iter_rows(named=True):
        published = f"{r['published_at']:%Y-%m-%d}" if r["published_at"] else ""
        quality = "" if r["quality"] is None else f"{r['quality']:.2f}"
        table.add_row(published, Text(r["source_id"] or ""), quality, Text(r["title"] or ""), Text(r["canonical_url"] or ""))
    natural = console.measure(table, options=console.options.update_width(1_000)).maximum
    (console if console.is_terminal else Console(width=natural)).print(table)


def print_recording(recording: Recording) -> int:
    """Each recorded source's responses, items and errors; returns how many sources were recorded."""
    for source in recording.sources:
        line = Text(f"{source.source_id:<26} {source.responses} responses, {source.items} items")
        if source.errors:
            line.append("  " + "; ".join(source.errors), style="red")
        console.print(line, highlight=False)
    recorded = sum(source.responses > 0 for source in recording.sources)
    if recorded == 0:
        errors.print(
            Text("error: ", style="bold red") + Text(f"no source answered: nothing recorded, {recording.directory} not created")
        )
        return 0
    console.print(f"recorded {recorded} of {len(recording.sources)} sources into {recording.directory}", markup=False)
    console.print(f"replay it with: joshua assess --snapshot {recording.directory}", markup=False)
    return recorded


def print_checks(checks: list[Check], status: str) -> None:
    """`joshua diagnose`: one line a check, then the overall status."""
    marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        console.print(f"{marks[check.status]} {check.name}: ", end="")
        console.print(check.detail, markup=False, highlight=False)
    console.print(f"\nOverall Status: [bold]{status}[/]")


def print_simulation(result: SimulationSummary) -> None:
    """A what-if's seconds, score, P(nuclear use), pathway and escalation rungs."""
    e = result.escalation
    level = f"{result.confidence:.0%}"
    console.print(Text(f"\nScenario {result.scenario.name}", style="bold") + Text(f": {result.scenario.description}"))
    console.print(Text(f"from the {result.starting_point}", style="dim"), highlight=False)
    console.print(
        f"\n[bold]{result.seconds} seconds to midnight[/] (band {result.band}, {result.mapping} mapping); {level} interval "
        f"{result.seconds_interval[0]}–{result.seconds_interval[1]} s"
    )
    beside = f"linear mapping {result.seconds_linear} s"
    if result.seconds_calibrated is not None:
        beside = f"calibrated clock {result.seconds_calibrated} s · " + beside
    console.print(beside + f" (headline: {result.mapping})", highlight=False)
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
        console.print("most common pathway: " + " → ".join(e.most_common_pathway), markup=False)
    console.print(
        "highest escalation rung reached: "
        + ", ".join(f"{rung}: {share:.1%}" for rung, share in e.highest_rung.items()),
        highlight=False,
    )


def print_backfill(summary: BackfillSummary) -> None:
    """The reconstruction, one line a year, then the peak P(use) year and the expected uses."""
    table = Table("year", "score", "seconds", "calibrated (in sample)", "linear", "P(use)", box=None, pad_edge=False)
    for y in summary.years:
        table.add_row(
            str(y.year),
            f"{y.score:.3f}",
            str(y.seconds_to_midnight),
            "-" if y.seconds_calibrated is None else str(y.seconds_calibrated),
            "-" if y.seconds_linear is None else str(y.seconds_linear),
            f"{y.p_nuclear_use_365d:.2%}",
        )
    console.print(table)
    console.print(
        f"{len(summary.years)} years in {summary.lake_path} (view `reconstruction`); highest P(use): "
        f"{summary.peak_p_use_year}; expected uses summed: {summary.expected_uses:.3f}",
        markup=False,
        highlight=False,
    )


def print_calibration(result: Calibration, clock_path: Path | None = None) -> None:
    """The fitted clock and its held-out figures beside the two baselines in one table, the targets."""
    from joshua.calibration import SPLIT_LAST_FIT_YEAR, TARGET_MAE, TARGET_SPEARMAN

    m = result.mapping
    console.print(
        f"seconds = exp({m.intercept:.3f} − {m.slope:.3f} × clock score); clock score = "
        + " + ".join(f"{w:.3f}·{c.value}" for c, w in m.weights.items() if w > 0)
        + f" ({result.fitted_parameters} fitted parameters, {len(result.points)} settings)",
        markup=False,
        highlight=False,
    )
    table = Table(
        "",
        "LOO Spearman",
        "LOO MAE",
        "split Spearman",
        "split MAE",
        box=None,
        pad_edge=False,
        caption=f"leave-one-out over the settings; time split: fit ≤ {SPLIT_LAST_FIT_YEAR}, predict later",
    )
    for name, loo, split in (
        ("calibrated clock", result.loo, result.time_split),
        ("ridge, 5 raw indicators", result.ridge_loo, result.ridge_time_split),
        ("warheads alone", result.warheads_loo, result.warheads_time_split),
    ):
        table.add_row(name, f"{loo.spearman:.3f}", f"{loo.mae:.1f} s", f"{split.spearman:.3f}", f"{split.mae:.1f} s")
    table.add_row("target", f"≥ {TARGET_SPEARMAN:.2f}", f"≤ {TARGET_MAE:.0f} s", "", "")
    console.print(table)
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
    if clock_path is None:
        return
    console.print(f"wrote {clock_path} and the lake table behind the view calibration_loo", markup=False, highlight=False)
