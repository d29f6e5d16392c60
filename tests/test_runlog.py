"""The lines a run logs to Prefect: levels, error types, and no secrets."""

import logging

from joshua.notify import Delivery
from joshua.runlog import delivery_lines, source_line, source_rows
from schemas.records import SourceOutcome


def test_a_source_line_says_items_requests_and_cache_use():
    ok = SourceOutcome(
        source_id="tass", status="ok", items=19, fetches=1, requests=2, cache_hits=1, not_modified=1, retries=1,
        bytes=16551, seconds=0.12,
    )
    level, line = source_line(ok)
    assert level == logging.INFO
    assert line == "tass: 19 items from 1 URL(s), 2 request(s), cache 1 hit(s) (1 not modified), 1 retries, 16,551 bytes in 0.12 s"


def test_a_failed_source_is_a_warning_naming_its_error_type():
    failed = SourceOutcome(source_id="bbc-world", status="failed", error="bbc-world: HTTP 503", error_type="SourceError")
    assert source_line(failed) == (logging.WARNING, "bbc-world failed (SourceError): bbc-world: HTTP 503")
    partly = SourceOutcome(source_id="reddit", status="ok", items=3, error="reddit: HTTP 429", error_type="SourceError")
    level, line = source_line(partly)
    assert level == logging.WARNING and line.endswith("partly failed (SourceError): reddit: HTTP 429")
    assert source_rows([failed])[0]["error"] == "SourceError: bbc-world: HTTP 503"


def test_delivery_lines_never_quote_the_error_which_may_hold_a_webhook_url():
    secret = "https://hooks.example/services/T0/B0/s3cret"
    lines = delivery_lines(
        [
            Delivery("assessment.completed", "e1", "slack", False, 3, f"HTTP 500 for url '{secret}'"),
            Delivery("assessment.completed", "e1", "webhook", True, 1, None),
        ]
    )
    assert lines == [
        (logging.WARNING, "assessment.completed not delivered to slack after 3 attempt(s)"),
        (logging.INFO, "assessment.completed sent to webhook"),
    ]


def test_a_fallback_from_claude_is_a_warning_with_its_reason():
    from joshua.runlog import analysis_lines
    from schemas.records import Analysis

    analysis = Analysis(
        analyzer="heuristic", factors=[], executive_summary="", articles_considered=12, fallback_reason="BudgetExceeded: $0.25"
    )
    assert analysis_lines(analysis, "claude") == [
        (logging.INFO, "heuristic analyzer rated 0 risk factors from 12 articles"),
        (logging.WARNING, "Claude was not used (claude asked): BudgetExceeded: $0.25"),
    ]
