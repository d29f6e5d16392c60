"""Synthetic lakes with known contents, for the catalog's tests and benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from joshua.lake import table_path, write_parquet_atomic
from schemas.records import Category
from schemas.tables import TABLES

WEIGHTS = dict(zip([c.value for c in Category], [0.15, 0.15, 0.20, 0.10, 0.15, 0.10, 0.10, 0.05], strict=True))


def full(table: str, rows: list[dict]) -> pl.DataFrame:
    """Rows completed to a table's whole schema (absent columns are null)."""
    schema = TABLES[table]
    return pl.DataFrame([{name: row.get(name) for name in schema.names()} for row in rows], schema=schema)


def write_lake(lake: Path, assessments: Sequence[tuple[datetime, int, dict[str, float]]], run_id: str | None = None) -> list[str]:
    """One file per table holding every given assessment (as one run); returns the assessment ids.

    Each assessment is (assessed_at, seconds_to_midnight, {category: value}).
    """
    run_id = run_id or f"20260101T000000Z-{uuid.uuid4().hex[:6]}"
    ids, assessment_rows, factor_rows = [], [], []
    for index, (when, seconds, values) in enumerate(assessments):
        aid = f"{run_id}-a{index:06d}"  # unique across runs: a lake may hold several
        ids.append(aid)
        assessment_rows.append(
            {
                "assessment_id": aid,
                "run_id": run_id,
                "assessed_at": when,
                "as_of": when,
                "seconds_to_midnight": seconds,
                "score": 1 - seconds / 1440,
                "base_score": 1 - seconds / 1440,
                "band": "moderate",
                "confidence": "High",
                "confidence_score": 0.9,
                "trend": "stable",
                "analyzer": "heuristic",
                "sample_data": False,
            }
        )
        ranked = sorted(values.items(), key=lambda kv: WEIGHTS[kv[0]] * kv[1], reverse=True)
        for rank, (category, value) in enumerate(ranked, start=1):
            factor_rows.append(
                {
                    "assessment_id": aid,
                    "run_id": run_id,
                    "category": category,
                    "name": "reporting_signal",
                    "value": value,
                    "confidence": "High",
                    "weight": WEIGHTS[category],
                    "contribution": WEIGHTS[category] * value,
                    "rank": rank,
                    "evidence": [],
                    "reasoning": "synthetic",
                }
            )
    write_parquet_atomic(full("assessments", assessment_rows), table_path(lake, "assessments", run_id))
    write_parquet_atomic(full("risk_factors", factor_rows), table_path(lake, "risk_factors", run_id))
    write_parquet_atomic(full("runs", [{"run_id": run_id, "status": "completed"}]), table_path(lake, "runs", run_id))
    return ids


def write_articles(lake: Path, rows: list[dict], run_id: str = "20260101T000000Z-aaaaaa") -> None:
    """An articles file of the given rows (other columns null)."""
    write_parquet_atomic(full("articles", [{"run_id": run_id, **row} for row in rows]), table_path(lake, "articles", run_id))
