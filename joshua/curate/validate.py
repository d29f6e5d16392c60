"""The raw_items and articles contracts, checked with the Great Expectations suites in `schemas/expectations/`.

Great Expectations is imported inside `validate_table` only, so the CLI starts fast; runs
validate in the sidecar process (`validate_isolated`, see joshua/sidecar.py).
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
from schemas.tables import RAW_ITEMS


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


def prepared(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """A table as its suite reads it: lists joined, evidence-only columns derived."""
    if table != "articles":
        return frame
    evidence = pl.col("evidence").fill_null(False)
    return frame.with_columns(
        evidence_published_at=pl.when(evidence).then(pl.col("published_at")),
        evidence_categories=pl.when(evidence).then(pl.col("categories").list.join(",")),
    ).drop("categories")


def validate_table(table: str, frame: pl.DataFrame, parameters: dict) -> int:
    """Validate a frame against `schemas/expectations/<table>.json`; the number of expectations checked.

    Raises SchemaViolation listing every failed expectation.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(**json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text(encoding="utf-8")))
    batch = (
        context.data_sources.add_pandas("lake")
        .add_dataframe_asset(table)
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": prepared(table, frame).to_pandas()})
    )
    outcome = batch.validate(suite, expectation_parameters=parameters)
    failures = [describe_failure(result) for result in outcome.results if not result.success]
    if failures:
        raise SchemaViolation(table, failures)
    return len(outcome.results)


def validate_articles(articles: pl.DataFrame, as_of: datetime) -> int:
    """Validate an articles frame against its suite; raise SchemaViolation listing what failed."""
    return validate_table("articles", articles, {"as_of": as_of, "category_regex": category_regex()})


def validate_raw_items(raw_items: pl.DataFrame, max_text_chars: int) -> int:
    """Validate a raw_items frame against its suite; raise SchemaViolation listing what failed."""
    return validate_table("raw_items", raw_items, {"max_text_chars": max_text_chars})


def run_validation(raw_paths: list[str], articles_path: Path, as_of: datetime, max_text_chars: int) -> list[str]:
    """Validate a run's staged raw items and articles; one summary line per table, or failures.

    Runs in the sidecar, so it returns failures as data rather than raising across processes.
    """
    lines = []
    try:
        raw = pl.read_parquet(raw_paths, glob=False) if raw_paths else pl.DataFrame(schema=RAW_ITEMS)
        checked = validate_raw_items(raw, max_text_chars)
        lines.append(f"raw_items: {checked} expectations passed on {raw.height} rows")
        articles = pl.read_parquet(articles_path, glob=False)
        checked = validate_articles(articles, as_of)
        lines.append(f"articles: {checked} expectations passed on {articles.height} rows")
    except SchemaViolation as violation:
        return [f"FAILED {violation.table}: {failure}" for failure in violation.failures]
    return lines


def validate_isolated(raw_paths: list[str], articles_path: Path, as_of: datetime, max_text_chars: int) -> list[str]:
    """Validate a run's tables in the sidecar; the summary lines, or SchemaViolation listing failures."""
    lines = sidecar.call(run_validation, raw_paths, articles_path, as_of, max_text_chars)
    failed = [line for line in lines if line.startswith("FAILED ")]
    if failed:
        table = failed[0].split()[1].rstrip(":")
        raise SchemaViolation(table, [line.split(": ", 1)[1] for line in failed])
    return lines
