"""The analyze stage's I/O edge: a run's staged articles in, an `Analysis` out."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from joshua.analyze.heuristic import analyze_heuristic
from joshua.run import RunContext
from schemas.records import Analysis


def analyze_run(run: RunContext, articles_path: Path) -> Analysis:
    """Rate the eight categories from a run's articles with the run's analyzer."""
    articles = pl.read_parquet(articles_path)
    settings = run.settings.analyze
    return analyze_heuristic(articles, settings.reference_volume, settings.evidence_per_factor)
