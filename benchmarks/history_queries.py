"""History queries and report building on a large synthetic lake.

    .venv/bin/python benchmarks/history_queries.py [--articles 5000000] [--years 10] [--repeat 200]

Builds, in a temporary directory, a lake of `years` of daily assessments (eight factors each) and
`articles` articles, then times, through the DuckDB catalog file, the queries behind
`joshua history` (as it was, then as it is), a one-year period, the top-N factors and the 30-day rolling average (P50/P95 over
`repeat` runs each, results fetched as NumPy arrays so Python object conversion is not counted), and
the time to build the full HTML report of the latest assessment. Item search: the `search_items`
macro's scan (ILIKE over every article), then `joshua.search` (its index's build time and size,
then P50/P95 of whole calls: opening the index included), and the cost of one more committed run
(a search before the index is updated, the in-place update, a search after).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joshua.catalog import build_catalog, connect_lake  # noqa: E402
from joshua.history import HISTORY_SQL  # noqa: E402
from joshua.lake import table_path, write_parquet_atomic  # noqa: E402
from joshua.reporting.data import load_report_data  # noqa: E402
from joshua.search import search_items, update_index  # noqa: E402
from joshua.reporting.write import write_report  # noqa: E402
from joshua.settings import load_settings  # noqa: E402
from schemas.records import Category  # noqa: E402
from schemas.tables import TABLES  # noqa: E402
from tests.lake_factory import full, write_lake  # noqa: E402

RUN = "20260101T000000Z-abcdef"
# Every article draws its words from nine, so two of them match about 70% of the lake (the worst
# case for an index: the best 50 of 3.6 M matches), a prefix too; then a rare word, and one no
# article holds.
SEARCHES = ["warhead treaty", "warhead tre", "strike reactor sanctions alert", "zaporizhzhia", "uranium"]
NEW_RUN = "20261128T000000Z-fedcba"
# `joshua history` before it listed a top-N: the change column windowed every assessment first.
OLD_HISTORY_SQL = """
WITH page AS (
    SELECT
        assessed_at, assessment_id, seconds_to_midnight, trend, confidence, band,
        seconds_to_midnight - lag(seconds_to_midnight) OVER (ORDER BY assessed_at) AS change
    FROM assessments
    QUALIFY assessed_at >= $start AND assessed_at <= $end
    ORDER BY assessed_at DESC
    LIMIT $count
),
top AS (
    SELECT assessment_id, arg_max(category, contribution) AS top_factor
    FROM risk_factors
    WHERE assessment_id IN (SELECT assessment_id FROM page)
    GROUP BY assessment_id
)
SELECT p.assessed_at, p.assessment_id, p.seconds_to_midnight, p.change, p.trend, p.confidence, p.band, t.top_factor
FROM page AS p LEFT JOIN top AS t USING (assessment_id)
ORDER BY p.assessed_at DESC
"""


def build(lake: Path, years: int, articles: int) -> str:
    rng = np.random.default_rng(0)
    start = datetime(2026, 11, 27, 6, tzinfo=UTC) - timedelta(days=365 * years)
    walk = np.clip(600 + np.cumsum(rng.normal(0, 8, 365 * years)), 60, 1400).astype(int)
    rows = [
        (start + timedelta(days=d), int(walk[d]), {c.value: float(rng.uniform()) for c in Category})
        for d in range(365 * years)
    ]
    ids = write_lake(lake, rows, run_id=RUN)
    # Give the synthetic rows what a real report needs (seed, interval, iterations).
    assessments = pl.read_parquet(table_path(lake, "assessments", RUN)).with_columns(
        mc_seed=pl.lit(1, pl.Int64), mc_iterations=pl.lit(10_000, pl.Int64), escalation_runs=pl.lit(10_000, pl.Int64),
        ci_seconds_low=pl.col("seconds_to_midnight") - 40, ci_seconds_high=pl.col("seconds_to_midnight") + 40,
        ci_low=pl.col("score") - 0.03, ci_high=pl.col("score") + 0.03, adjusted_score=pl.col("score"),
        p_nuclear_use_365d=pl.lit(0.006), p_use_ci_low=pl.lit(0.005), p_use_ci_high=pl.lit(0.007),
        change_points=pl.lit(0, pl.Int32), executive_summary=pl.lit("synthetic"), data_label=pl.lit("synthetic"),
        mapping=pl.lit("linear"),
    ).with_columns(pl.col(c).cast(TABLES["assessments"][c]) for c in ("ci_seconds_low", "ci_seconds_high"))
    write_parquet_atomic(assessments, table_path(lake, "assessments", RUN))
    words = np.array(["missile", "treaty", "warhead", "talks", "strike", "reactor", "sanctions", "drill", "alert"])
    per_file = 1_000_000
    for part in range(0, articles, per_file):
        n = min(per_file, articles - part)
        frame = pl.DataFrame(
            {
                "article_id": [f"x{part + i:08d}" for i in range(n)],
                "run_id": RUN,
                "source_id": rng.choice(["reuters", "bbc", "tass", "iaea"], n),
                # one article in 100,000 also names a place: a rare word (50 articles in 5 M)
                "title": [" ".join(t) + (" Zaporizhzhia" if (part + i) % 100_000 == 0 else "")
                          for i, t in enumerate(rng.choice(words, (n, 4)))],
                "text": [" ".join(t) for t in rng.choice(words, (n, 12))],
                "published_at": [start + timedelta(minutes=int(m)) for m in rng.integers(0, 525_600 * years, n)],
                "quality": rng.uniform(size=n),
                "relevance": rng.uniform(size=n),
            }
        )
        full_frame = frame
        for name, dtype in TABLES["articles"].items():
            if name not in full_frame.columns:
                full_frame = full_frame.with_columns(pl.lit(None, dtype).alias(name))
        path = lake / "articles" / f"date=2026-01-01" / f"{RUN}-{part // per_file:03d}.parquet"
        write_parquet_atomic(full_frame.select(TABLES["articles"].names()), path)
    return ids[-1]


def commit_new_run(lake: Path, run_id: str, articles: int) -> None:
    """A further committed run of `articles` articles (its own file and `runs` row)."""
    started = datetime(2026, 11, 28, tzinfo=UTC)
    rows = [
        {"article_id": f"n{i:05d}", "run_id": run_id, "title": "warhead treaty signed", "quality": 0.999,
         "published_at": started}
        for i in range(articles)
    ]
    write_parquet_atomic(full("articles", rows), table_path(lake, "articles", run_id))
    run = {"run_id": run_id, "status": "completed", "started_at": started, "ended_at": started + timedelta(minutes=1)}
    write_parquet_atomic(full("runs", [run]), table_path(lake, "runs", run_id))


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        lake = Path(scratch) / "lake"
        started = time.perf_counter()
        latest = build(lake, args.years, args.articles)
        print(f"built {args.years * 365} assessments and {args.articles:,} articles in {time.perf_counter() - started:.1f} s")
        catalog = build_catalog(lake, Path(scratch) / "joshua.duckdb")
        now = datetime(2026, 11, 28, tzinfo=UTC)
        page = {"start": datetime(1900, 1, 1, tzinfo=UTC), "end": now, "count": 10}
        queries = {
            "history, old SQL": (OLD_HISTORY_SQL, page),
            "history (last 10)": (HISTORY_SQL, page),
            "period (one year)": ("FROM assessments_between('2025-11-27', '2026-11-27')", {}),
            "top-N factors": (f"FROM top_factors('{latest}', 10)", {}),
            "rolling 30 days": ("FROM rolling_30d", {}),
            "item search": ("FROM search_items('warhead treaty')", {}),
        }
        print(f"{'query':<20} {'rows':>6} {'P50 ms':>8} {'P95 ms':>8}")
        with duckdb.connect(str(catalog), read_only=True) as con:
            con.execute("SET parquet_metadata_cache = true")
            for name, (sql, params) in queries.items():
                repeat = args.repeat if name != "item search" else max(5, args.repeat // 20)
                samples, rows = [], 0
                for _ in range(repeat):
                    t = time.perf_counter()
                    rows = len(next(iter(con.execute(sql, params).fetchnumpy().values())))
                    samples.append((time.perf_counter() - t) * 1000)
                p50, p95 = percentiles(samples)
                print(f"{name:<20} {rows:>6} {p50:>8.2f} {p95:>8.2f}")
        index = Path(scratch) / "search.duckdb"
        t = time.perf_counter()
        built = update_index(lake, index)
        print(f"search index of {built.articles:,} articles built in {time.perf_counter() - t:.1f} s, "
              f"{index.stat().st_size / 2**20:.0f} MiB")
        print(f"{'indexed search':<32} {'rows':>6} {'P50 ms':>8} {'P95 ms':>8}")
        for term in SEARCHES:
            samples, rows = [], 0
            for _ in range(max(20, args.repeat // 4)):
                t = time.perf_counter()
                rows = search_items(lake, index, term).height
                samples.append((time.perf_counter() - t) * 1000)
            p50, p95 = percentiles(samples)
            print(f"{term!r:<32} {rows:>6} {p50:>8.2f} {p95:>8.2f}")
        commit_new_run(lake, NEW_RUN, 200)
        for label in ("before its update", "after its update"):
            samples = []
            for _ in range(10):
                t = time.perf_counter()
                rows = search_items(lake, index, "warhead treaty").height
                samples.append((time.perf_counter() - t) * 1000)
            p50, p95 = percentiles(samples)
            print(f"{'a run committed, ' + label:<32} {rows:>6} {p50:>8.2f} {p95:>8.2f}")
            if label == "before its update":
                t = time.perf_counter()
                update = update_index(lake, index)
                print(f"updating the index with one run of 200 articles (in place: {not update.rebuilt}): "
                      f"{(time.perf_counter() - t) * 1000:.0f} ms")
        settings = load_settings()
        samples = []
        for _ in range(5):
            t = time.perf_counter()
            with connect_lake(lake) as con:
                data = load_report_data(con)
            write_report(data, Path(scratch) / "reports", settings.risk, ["html"])
            samples.append(time.perf_counter() - t)
        print(f"full HTML report of the latest assessment ({len(data.history)} points of history): "
              f"median {np.median(samples):.2f} s, worst {max(samples):.2f} s over {len(samples)} builds")


if __name__ == "__main__":
    main()
