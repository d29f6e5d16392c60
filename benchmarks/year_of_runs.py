"""A year of runs in one lake: one more assessment and the history queries, at 10 runs and at a year, before and after compaction.

    .venv/bin/python benchmarks/year_of_runs.py [--days 365] [--assessments 3] [--repeat 100]
        [--workdir DIR [--reuse-compacted]] [--skip-uncompacted | --skip-uncompacted-assessment]

First one real collection run and one real assessment (the flows, in this process, against a
temporary Prefect server) write a template lake from the bundled sample. From their files the
benchmark writes, through the lake's own `table_path`/`write_parquet_atomic` and with a `runs` row
per run written last, the shipped schedules' runs: an hourly collection (raw items of nine sources,
signals, ~200 articles, sources) and a daily assessment (the same plus assessments, risk factors,
alerts) for `--days` days up to yesterday, each run with its own id, timestamps and article ids.
A lake of 10 of those runs, the schedule's last assessment and the nine collections before it, is
the baseline (the last 10 runs of the day would hold no assessment: nothing for history to read).

On the 10-run lake, the year lake, and the year lake after `compact_lake` (what `joshua db compact`
and the weekly maintenance flow do), it prints: the wall time of one more real assessment (the
assessment flow, median of `--assessments`), the history queries' P50/P95 through the catalog file,
the lake's file count, and the compaction's wall time; then the ratios year / 10 runs. The lakes
take turns, one assessment or one query at a time, so a shared machine's changing load weighs on
each alike.

Building the year takes minutes and compacting it minutes more. With `--workdir DIR` the built lakes
are kept in DIR and reused by the next run with the same DIR (`--days` must match): `DIR/ten` and
`DIR/year` as written, `DIR/year-compacted` the year after compaction (recompacted each run unless
`--reuse-compacted`). Each measurement runs on a hard-linked copy (`DIR/measured/`), so the
assessments it adds never reach the kept lakes (the lake only ever renames new files into place and
deletes old ones, so a hard link is never written through).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joshua.catalog import build_catalog  # noqa: E402
from joshua.compaction import compact_lake  # noqa: E402
from joshua.history import HISTORY_SQL  # noqa: E402
from joshua.lake import new_run_id, table_path, write_parquet_atomic  # noqa: E402
from joshua.run import COLLECTION_FLOW_NAME, FLOW_NAME  # noqa: E402

COLLECTION_HOURS = range(24)
ASSESSMENT_AT = timedelta(hours=6, minutes=30)
# Each history query runs `--repeat` times, or fewer once this long has passed (at least MIN_SAMPLES).
QUERY_BUDGET_S, MIN_SAMPLES = 20.0, 5


@dataclass(frozen=True)
class TemplateFile:
    """One file a real run wrote: its table, its partitions other than date, its rows."""

    table: str
    partitions: dict[str, str]
    frame: pl.DataFrame


def template_files(lake: Path, run_id: str) -> list[TemplateFile]:
    """The files one real run wrote, `runs` last (the commit point)."""
    found = []
    for path in sorted(lake.rglob(f"{run_id}.parquet")):
        parts = path.relative_to(lake).parts
        partitions = dict(part.split("=", 1) for part in parts[1:-2])
        found.append(TemplateFile(parts[0], partitions, pl.read_parquet(path, glob=False)))
    return sorted(found, key=lambda f: f.table == "runs")


def write_run(lake: Path, files: list[TemplateFile], started_at: datetime) -> str:
    """Write one synthetic run in the real layout, from a real run's files; returns its id."""
    run_id = new_run_id(started_at)
    tag = run_id[-6:] + run_id[:15]
    for template in files:
        frame = template.frame.with_columns(run_id=pl.lit(run_id))
        if "article_id" in frame.columns and template.table == "articles":
            frame = frame.with_columns(article_id=pl.col("article_id") + tag)
        if "assessment_id" in frame.columns:
            frame = frame.with_columns(assessment_id=pl.lit(f"a-{run_id}"))
        if template.table == "assessments":
            frame = frame.with_columns(assessed_at=pl.lit(started_at), as_of=pl.lit(started_at))
        if template.table == "runs":
            frame = frame.with_columns(started_at=pl.lit(started_at), ended_at=pl.lit(started_at + timedelta(seconds=4)))
        write_parquet_atomic(frame, table_path(lake, template.table, run_id, **template.partitions))
    return run_id


def template_runs(lake: Path) -> dict[str, list[TemplateFile]]:
    """The files of the template lake's collection run and assessment run, by kind."""
    runs = pl.read_parquet(lake / "runs" / "**" / "*.parquet").select("run_id", "flow")
    kinds = {COLLECTION_FLOW_NAME: "collection", FLOW_NAME: "assessment"}
    return {kinds[flow]: template_files(lake, run_id) for run_id, flow in runs.iter_rows()}


def ten_runs(plan: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """The baseline: the schedule's 10 runs up to its last assessment (nine collections and it), so
    the history it is queried for is not empty."""
    last = max(index for index, (_, kind) in enumerate(plan) if kind == "assessment")
    return plan[last - 9 : last + 1]


def schedule(days: int, today: date) -> list[tuple[datetime, str]]:
    """(start, kind) of every scheduled run over `days` days up to yesterday, in order."""
    first = datetime.combine(today - timedelta(days=days), datetime.min.time(), UTC)
    runs = []
    for day in range(days):
        midnight = first + timedelta(days=day)
        runs += [(midnight + timedelta(hours=hour), "collection") for hour in COLLECTION_HOURS]
        runs.append((midnight + ASSESSMENT_AT, "assessment"))
    return sorted(runs)


def file_count(lake: Path) -> int:
    return sum(1 for _ in lake.rglob("*.parquet"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def history_queries(data_dirs: dict[str, Path], repeat: int) -> dict[str, dict[str, tuple[float, float]]]:
    """P50/P95 milliseconds of the history queries through each data directory's catalog file, by
    lake. The lakes take turns, one query run each, so a change in the machine's load reaches all
    of them alike; a lake stops after `repeat` runs of a query, or QUERY_BUDGET_S once it has MIN_SAMPLES."""
    now = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        connections, queries = {}, {}
        for name, data_dir in data_dirs.items():
            catalog = build_catalog(data_dir / "lake", data_dir / "joshua.duckdb")
            con = connections[name] = stack.enter_context(duckdb.connect(str(catalog), read_only=True))
            con.execute("SET parquet_metadata_cache = true")
            latest = con.execute("SELECT assessment_id FROM latest_assessment").fetchone()[0]
            queries[name] = {
                "history (last 10)": (HISTORY_SQL, {"start": datetime(1900, 1, 1, tzinfo=UTC), "end": now, "count": 10}),
                "period (one year)": (f"FROM assessments_between('{(now - timedelta(days=365)).date()}', '{now.date()}')", {}),
                "top-N factors": (f"FROM top_factors('{latest}', 10)", {}),
                "rolling 30 days": ("FROM rolling_30d", {}),
            }
        figures: dict[str, dict[str, tuple[float, float]]] = {name: {} for name in data_dirs}
        for query in queries[next(iter(data_dirs))]:
            samples: dict[str, list[float]] = {name: [] for name in data_dirs}
            budget = {name: time.perf_counter() + QUERY_BUDGET_S for name in data_dirs}
            taking = set(data_dirs)
            while taking:
                for name in sorted(taking):
                    sql, params = queries[name][query]
                    started = time.perf_counter()
                    connections[name].execute(sql, params).fetchall()
                    samples[name].append((time.perf_counter() - started) * 1000)
                    count = len(samples[name])
                    if count >= repeat or (count >= MIN_SAMPLES and time.perf_counter() > budget[name]):
                        taking.discard(name)
            for name in data_dirs:
                figures[name][query] = percentiles(samples[name])
    return figures


def linked_copy(source: Path, target: Path) -> Path:
    """A copy of a data directory whose files are hard links to the source's (seconds for a year's files)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, copy_function=os.link)
    return target


def one_more_assessment(data_dirs: dict[str, Path], counts: dict[str, int]) -> dict[str, tuple[float, dict[str, float]]]:
    """Median wall seconds of `counts[name]` real assessments on each lake, and the median of each
    stage, by lake. The lakes take turns, one assessment each, like the queries."""
    from flows.assessment import assess

    walls: dict[str, list[float]] = {name: [] for name in data_dirs}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in data_dirs}
    for turn in range(max(counts.values(), default=0)):
        for name, data_dir in data_dirs.items():
            if turn >= counts[name]:
                continue
            started = time.perf_counter()
            summary = assess(data_dir=str(data_dir))
            walls[name].append(time.perf_counter() - started)
            for stage in summary.stages:
                stages[name].setdefault(stage.stage, []).append(stage.seconds)
    return {
        name: (statistics.median(walls[name]), {stage: statistics.median(values) for stage, values in stages[name].items()})
        if walls[name] else (math.nan, {})
        for name in data_dirs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days of hourly collections and daily assessments")
    parser.add_argument("--assessments", type=int, default=3, help="assessments timed on each lake (median)")
    parser.add_argument("--repeat", type=int, default=100, help="runs of each history query")
    parser.add_argument(
        "--skip-uncompacted-assessment", action="store_true", help="do not time an assessment on the uncompacted year (minutes)"
    )
    parser.add_argument("--skip-uncompacted", action="store_true", help="measure nothing on the uncompacted year")
    parser.add_argument("--workdir", help="keep the built lakes here and reuse them on the next run (see the docstring)")
    parser.add_argument(
        "--reuse-compacted", action="store_true", help="with --workdir: reuse the compacted year instead of compacting again"
    )
    args = parser.parse_args()
    from prefect.testing.utilities import prefect_test_harness

    from flows.assessment import assess
    from flows.collection import collect_and_curate

    with contextlib.ExitStack() as stack:
        root = Path(args.workdir) if args.workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        stack.enter_context(prefect_test_harness(server_startup_timeout=180))
        built_marker, template = root / f"built-{args.days}-days", root / "template"
        plan = schedule(args.days, datetime.now(UTC).date())
        if not built_marker.exists():
            for stale in ("template", "year", "year-compacted", "measured"):
                shutil.rmtree(root / stale, ignore_errors=True)
            for marker in root.glob("built-*-days"):
                marker.unlink()
            collect_and_curate(data_dir=str(template))
            assess(data_dir=str(template))
        kinds = template_runs(template / "lake")
        shutil.rmtree(root / "ten", ignore_errors=True)
        for when, kind in ten_runs(plan):
            write_run(root / "ten" / "lake", kinds[kind], when)
        if not built_marker.exists():
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=4) as pool:  # file writes wait on the disk, not the GIL
                list(pool.map(lambda run: write_run(root / "year" / "lake", kinds[run[1]], run[0]), plan))
            built = time.perf_counter() - started
            print(f"wrote {len(plan):,} runs ({sum(k == 'assessment' for _, k in plan)} assessments) in {built:.0f} s", flush=True)
            built_marker.touch()
        else:
            print(f"reusing the year in {root}", flush=True)

        kept = {"10 runs": root / "ten"}
        counts = {"10 runs": args.assessments}
        if not args.skip_uncompacted:  # minutes on the uncompacted lake, its assessment most of all
            kept["year"] = root / "year"
            counts["year"] = 0 if args.skip_uncompacted_assessment else 1
        compacted, compaction_s = root / "year-compacted", None
        if not (args.reuse_compacted and compacted.is_dir()):
            linked_copy(root / "year", compacted)
            started = time.perf_counter()
            compact_lake(compacted / "lake", datetime.now(UTC), before=datetime.now(UTC).date())
            compaction_s = time.perf_counter() - started
        kept["year, compacted"] = compacted
        counts["year, compacted"] = args.assessments

        data_dirs = {name: linked_copy(path, root / "measured" / path.name) for name, path in kept.items()}
        files = {name: file_count(data_dir / "lake") for name, data_dir in data_dirs.items()}
        assessments = one_more_assessment(data_dirs, counts)
        print("measured the assessments", flush=True)
        queries = history_queries(data_dirs, args.repeat)
        columns: dict[str, dict[str, str]] = {}
        raw: dict[str, dict[str, float]] = {}
        for name, data_dir in data_dirs.items():
            wall, stages = assessments[name]
            raw[name] = {"assessment": wall, **{f"{q} P95": p95 for q, (_, p95) in queries[name].items()}}
            columns[name] = {
                "lake files": f"{files[name]:,}",
                "compaction wall s": f"{compaction_s:.1f}" if compaction_s is not None and name == "year, compacted" else "-",
                "one more assessment s": f"{wall:.2f}",
                **{f"  {stage} s": f"{seconds:.2f}" for stage, seconds in stages.items()},
                **{f"{q} P50/P95 ms": f"{p50:.1f} / {p95:.1f}" for q, (p50, p95) in queries[name].items()},
            }
            shutil.rmtree(data_dir)

    rows = list(columns["10 runs"])
    print(f"\n{'':<30}" + "".join(f"{name:>20}" for name in columns))
    for row in rows:
        print(f"{row:<30}" + "".join(f"{columns[name].get(row, '-'):>20}" for name in columns))
    print("\nratio year / 10 runs (target ≤ 1.1 after compaction)")
    for name in [name for name in ("year", "year, compacted") if name in raw]:
        print(f"  {name:<18}" + "  ".join(f"{key} {raw[name][key] / raw['10 runs'][key]:.2f}×" for key in raw[name]))


if __name__ == "__main__":
    main()
