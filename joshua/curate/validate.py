"""The raw_items and articles contracts: the expectation suites in `schemas/expectations/`, checked
with polars expressions.

The suites are Great Expectations suites (JSON), and Great Expectations stays the reference: a
test runs every suite through it and through this module and compares the failures. A run checks
them here instead, because Great Expectations costs seconds of start-up and about 100 MB of
memory per process for five kinds of column checks that are one polars expression each. The
semantics follow Great Expectations': column map expectations ignore nulls (except not-null),
bounds are inclusive unless `strict_min`/`strict_max`, a non-unique value counts every row holding
it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

from joshua.errors import ConfigError, SchemaViolation
from schemas import EXPECTATIONS_DIR
from schemas.records import Category

SAMPLE_SIZE = 3  # offending values quoted per failed expectation


def category_regex() -> str:
    """A comma-joined list of one or more of the eight category names."""
    one = "(?:" + "|".join(category.value for category in Category) + ")"
    return f"^{one}(?:,{one})*$"


@cache
def load_suite(table: str) -> tuple[dict, ...]:
    """The expectations of `schemas/expectations/<table>.json`."""
    suite = json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text(encoding="utf-8"))
    return tuple(suite["expectations"])


@dataclass(frozen=True)
class Check:
    """One expectation as a polars expression that is true on each row breaking it."""

    kind: str
    column: str
    unexpected: pl.Expr

    @property
    def label(self) -> str:
        return f"{self.kind}({self.column})"


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """A kwarg's value, with `{"$PARAMETER": name}` replaced by the run's value."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def _outside(value: pl.Expr, kwargs: dict[str, Any]) -> pl.Expr:
    """True where a non-null value lies outside [min_value, max_value] (strict bounds on request)."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    broken = pl.lit(False)
    if low is not None:
        broken = broken | (value <= low if kwargs.get("strict_min") else value < low)
    if high is not None:
        broken = broken | (value >= high if kwargs.get("strict_max") else value > high)
    return value.is_not_null() & broken


def compile_expectation(expectation: dict, parameters: dict[str, Any]) -> Check:
    """An expectation of the suite as a Check; ConfigError for a kind this module does not know."""
    kind = expectation["type"]
    kwargs = {key: _resolve(value, parameters) for key, value in expectation["kwargs"].items()}
    column = kwargs["column"]
    value = pl.col(column)
    if kind == "expect_column_values_to_not_be_null":
        unexpected = value.is_null()
    elif kind == "expect_column_values_to_be_unique":
        unexpected = value.is_not_null() & value.is_duplicated()
    elif kind == "expect_column_values_to_be_between":
        unexpected = _outside(value, kwargs)
    elif kind == "expect_column_value_lengths_to_be_between":
        unexpected = _outside(value.str.len_chars(), kwargs)
    elif kind == "expect_column_values_to_match_regex":
        unexpected = value.is_not_null() & ~value.str.contains(kwargs["regex"])
    else:
        raise ConfigError(f"expectation {kind} is not supported at run time (joshua/curate/validate.py)")
    return Check(kind=kind, column=column, unexpected=unexpected.fill_null(False))


def prepared(table: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    """A table as its suite reads it: lists joined, evidence-only columns derived."""
    if table != "articles":
        return frame
    evidence = pl.col("evidence").fill_null(False)
    return frame.with_columns(
        evidence_published_at=pl.when(evidence).then(pl.col("published_at")),
        evidence_categories=pl.when(evidence).then(pl.col("categories").list.join(",")),
    ).drop("categories")


def validate_table(table: str, frame: pl.DataFrame | pl.LazyFrame, parameters: dict[str, Any]) -> tuple[int, int]:
    """Check a frame against `schemas/expectations/<table>.json`; (expectations checked, rows).

    One pass computes every expectation's count (a lazy frame is streamed, never held whole).
    Raises SchemaViolation listing every failed expectation with its count and a few offending values.
    """
    checks = [compile_expectation(expectation, parameters) for expectation in load_suite(table)]
    frame = prepared(table, frame.lazy())
    rows, *counts = (
        frame.select(pl.len(), *[check.unexpected.sum().alias(str(n)) for n, check in enumerate(checks)]).collect().row(0)
    )
    failures = []
    for check, count in zip(checks, counts, strict=True):
        if count:
            sample = frame.filter(check.unexpected).select(check.column).head(SAMPLE_SIZE).collect().to_series()
            failures.append(f"{check.label}: {count} unexpected, e.g. {[str(value) for value in sample]}")
    if failures:
        raise SchemaViolation(table, failures)
    return len(checks), rows


def validate_articles(articles: pl.DataFrame | pl.LazyFrame, as_of: datetime) -> tuple[int, int]:
    """Validate an articles frame against its suite; raise SchemaViolation listing what failed."""
    return validate_table("articles", articles, {"as_of": as_of, "category_regex": category_regex()})


def validate_raw_items(raw_items: pl.DataFrame | pl.LazyFrame, max_text_chars: int) -> tuple[int, int]:
    """Validate a raw_items frame against its suite; raise SchemaViolation listing what failed."""
    return validate_table("raw_items", raw_items, {"max_text_chars": max_text_chars})


def validate_run(
    raw_items: pl.LazyFrame, articles: pl.DataFrame, as_of: datetime, max_text_chars: int
) -> list[str]:
    """Validate a run's raw items and articles; one summary line per table, or SchemaViolation."""
    checked, rows = validate_raw_items(raw_items, max_text_chars)
    lines = [f"raw_items: {checked} expectations passed on {rows} rows"]
    checked, rows = validate_articles(articles, as_of)
    lines.append(f"articles: {checked} expectations passed on {rows} rows")
    return lines
