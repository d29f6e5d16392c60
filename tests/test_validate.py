"""Run-time validation against Great Expectations, the reference for the expectation suites.

A run checks the suites in `schemas/expectations/` with polars expressions
(joshua/curate/validate.py); here the same suites also run through Great Expectations (a dev
dependency) on frames breaking every expectation, and both must name the same failures with the
same counts.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from joshua.curate.validate import category_regex, compile_expectation, load_suite, prepared, validate_table
from joshua.errors import ConfigError, SchemaViolation
from schemas import EXPECTATIONS_DIR
from schemas.tables import RAW_ITEMS

AS_OF = datetime(2026, 11, 20, 6, tzinfo=UTC)
PARAMETERS = {
    "articles": {"as_of": AS_OF, "category_regex": category_regex()},
    "raw_items": {"max_text_chars": 10},
}


def gx_failures(table: str, frame: pl.DataFrame) -> dict[str, int]:
    """{expectation(column): unexpected count} of the failures Great Expectations finds."""
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
        .get_batch(batch_parameters={"dataframe": prepared(table, frame.lazy()).collect().to_pandas()})
    )
    outcome = batch.validate(suite, expectation_parameters=PARAMETERS[table])
    return {
        f"{r.expectation_config.type}({r.expectation_config.kwargs['column']})": (r.result or {}).get("unexpected_count", 0)
        for r in outcome.results
        if not r.success
    }


def polars_failures(table: str, frame: pl.DataFrame) -> dict[str, int]:
    try:
        validate_table(table, frame, PARAMETERS[table])
    except SchemaViolation as violation:
        return {line.split(":")[0]: int(line.split(": ")[1].split()[0]) for line in violation.failures}
    return {}


def articles(**overrides) -> pl.DataFrame:
    rows = 4
    columns = {
        "article_id": ["a", "b", "c", "d"],
        "run_id": ["r"] * rows,
        "source_id": ["s"] * rows,
        "title": ["t"] * rows,
        "relevance": [0.5] * rows,
        "quality": [0.5] * rows,
        "escalation": [0.5] * rows,
        "published_at": [AS_OF] * rows,
        "categories": [["economic"], ["economic", "regional_conflict"], [], ["economic"]],
        "simhash": pl.Series([1, 2, 3, 4], dtype=pl.UInt64),
        "evidence": [True, True, False, True],
        "corroboration": [1, 2, 1, 1],
    }
    return pl.DataFrame(columns | overrides)


def raw_items(**overrides) -> pl.DataFrame:
    rows = [
        {"run_id": "r", "source_id": "s", "fetched_at": AS_OF, "http_status": 200, "url": f"https://x.org/{n}",
         "title": "t", "body": "b"}
        for n in range(4)
    ]
    return pl.DataFrame(rows, schema=RAW_ITEMS).with_columns(**{k: pl.Series(v) for k, v in overrides.items()})


CASES = {
    "articles: valid": ("articles", articles()),
    "articles: duplicates, nulls and bounds": (
        "articles",
        articles(
            article_id=["a", "a", None, "a"],
            title=["t", None, None, "t"],
            relevance=[-0.1, 1.0, None, 1.5],
            quality=[0.0, 1.0, 1.01, None],
            escalation=[None, 2.0, 0.5, 0.5],
            corroboration=[0, 1, None, 3],
        ),
    ),
    "articles: evidence from the future, unknown categories": (
        "articles",
        articles(
            published_at=[AS_OF + timedelta(days=1), AS_OF, AS_OF + timedelta(days=9), AS_OF],
            categories=[["economic"], ["bogus"], ["bogus"], ["economic", "nope"]],
            simhash=pl.Series([1, None, 3, 4], dtype=pl.UInt64),
        ),
    ),
    "raw_items: valid": ("raw_items", raw_items()),
    "raw_items: status, lengths, schemes, nulls": (
        "raw_items",
        raw_items(
            http_status=pl.Series([200, 304, 199, None], dtype=pl.Int32),
            url=["ftp://x.org/1", "https://x.org/2", None, "javascript:alert(1)"],
            title=["t" * 11, "t" * 10, None, "ok"],
            body=["b", "é" * 11, "b", None],
            source_id=[None, "s", "s", "s"],
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_polars_validation_finds_what_great_expectations_finds(case):
    table, frame = CASES[case]
    expected = gx_failures(table, frame)
    assert polars_failures(table, frame) == expected
    assert bool(expected) == ("valid" not in case)


def test_every_expectation_of_the_suites_compiles():
    for table, parameters in PARAMETERS.items():
        assert len([compile_expectation(e, parameters) for e in load_suite(table)]) == len(load_suite(table))


def test_an_unknown_expectation_is_refused_clearly():
    with pytest.raises(ConfigError, match="expect_table_row_count_to_equal is not supported"):
        compile_expectation({"type": "expect_table_row_count_to_equal", "kwargs": {"column": "x", "value": 3}}, {})


def test_failures_quote_a_few_offending_values_and_lazy_frames_are_streamed():
    frame = raw_items(url=["ftp://a", "ftp://b", "ftp://c", "ftp://d"]).lazy()
    with pytest.raises(SchemaViolation) as caught:
        validate_table("raw_items", frame, {"max_text_chars": 10})
    assert caught.value.failures == [
        "expect_column_values_to_match_regex(url): 4 unexpected, e.g. ['ftp://a', 'ftp://b', 'ftp://c']"
    ]
