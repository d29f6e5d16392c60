"""The articles contract, checked with the Great Expectations suite in `schemas/expectations/`.

Great Expectations is imported inside `validate_articles` only, so the CLI starts fast; runs
validate in the sidecar process (`validate_articles_isolated`, see joshua/sidecar.py).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import polars as pl

from joshua import sidecar
from joshua.errors import SchemaViolation


from schemas import EXPECTATIONS_DIR
from schemas.records import Category

SUITE_FILE = EXPECTATIONS_DIR / "articles.json"


def category_regex() -> str:
    """A comma-joined list of one or more of the eight category names."""
    one = "(?:" + "|".join(category.value for category in Category) + ")"
    return f"^{one}(?:,{one})*$"


def describe_failure(result) -> str:
    """One line naming a failed expectation, its column and a few offending values."""
    config = result.expectation_config
    column = config.kwargs.get("column", "?")
    details = result.result or {}
    count = details.get("unexpected_count")
    sample = details.get("partial_unexpected_list") or []
    summary = f"{config.type}({column})"
    if count is not None:
        summary += f": {count} unexpected"
    if sample:
        summary += f", e.g. {[str(value) for value in sample[:3]]}"
    return summary


def validate_articles(articles: pl.DataFrame, as_of: datetime) -> None:
    """Validate an articles frame against the suite; raise SchemaViolation listing what failed."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(**json.loads(SUITE_FILE.read_text(encoding="utf-8")))
    frame = articles.with_columns(categories_joined=pl.col("categories").list.join(",")).drop("categories")
    batch = (
        context.data_sources.add_pandas("lake")
        .add_dataframe_asset("articles")
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": frame.to_pandas()})
    )
    outcome = batch.validate(suite, expectation_parameters={"as_of": as_of, "category_regex": category_regex()})
    failures = [describe_failure(result) for result in outcome.results if not result.success]
    if failures:
        raise SchemaViolation("articles", failures)


def articles_failures(path: Path, as_of: datetime) -> list[str]:
    """The failed expectations of an articles Parquet file (empty when it passes)."""
    try:
        validate_articles(pl.read_parquet(path), as_of)
    except SchemaViolation as violation:
        return violation.failures
    return []


def validate_articles_isolated(path: Path, as_of: datetime) -> None:
    """Validate an articles file in the sidecar process; raise SchemaViolation listing failures."""
    failures = sidecar.call(articles_failures, path, as_of)
    if failures:
        raise SchemaViolation("articles", failures)
