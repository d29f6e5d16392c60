"""What a run tells its log (the Prefect UI's run logs): one line per source and per stage result.

Pure: each function turns a stage's typed result into a level and a line; the task logs it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from joshua.curate.stage import CurateResult
from joshua.notify import Delivery
from schemas.records import Analysis, Assessment, SourceOutcome


def source_line(outcome: SourceOutcome) -> tuple[int, str]:
    """A collected source: items, requests and cache use; a failure is a WARNING naming its error type."""
    if outcome.status == "failed":
        kind = outcome.error_type or "error"
        return logging.WARNING, f"{outcome.source_id} failed ({kind}): {outcome.error}"
    line = (
        f"{outcome.source_id}: {outcome.items} items from {outcome.fetches} URL(s), {outcome.requests} request(s), "
        f"cache {outcome.cache_hits} hit(s) ({outcome.not_modified} not modified), {outcome.retries} retries, "
        f"{outcome.bytes:,} bytes in {outcome.seconds:.2f} s"
    )
    if outcome.error:  # some of a source's URLs failed, the others gave items
        return logging.WARNING, f"{line}; partly failed ({outcome.error_type or 'error'}): {outcome.error}"
    return logging.INFO, line


def skipped_line(outcome: SourceOutcome) -> str:
    """A source the run could not collect (no credential, nothing recorded)."""
    return f"{outcome.source_id} skipped: {outcome.error}"


def curate_line(curated: CurateResult) -> str:
    return (
        f"curated {curated.raw_items} raw items into {curated.articles} articles "
        f"({curated.duplicates} duplicates, {curated.evidence} usable as evidence)"
    )


def analysis_lines(analysis: Analysis, analyzer: str) -> list[tuple[int, str]]:
    """Which analyzer rated the factors, at what cost, and why Claude was not used when it was asked."""
    lines = [
        (
            logging.INFO,
            f"{analysis.analyzer} analyzer rated {len(analysis.factors)} risk factors from "
            f"{analysis.articles_considered} articles",
        )
    ]
    if analysis.calls:
        cost = f"{analysis.tokens_in:,} input and {analysis.tokens_out:,} output tokens, ${analysis.cost_usd:.4f}"
        lines.append((logging.INFO, f"Claude: {analysis.calls} call(s), {cost}, {analysis.cache_hits} cached reply(ies)"))
    if analysis.fallback_reason:
        lines.append((logging.WARNING, f"Claude was not used ({analyzer} asked): {analysis.fallback_reason}"))
    return lines


def headline_line(a: Assessment) -> str:
    """The run's headline, as the CLI prints it."""
    return (
        f"Headline: {a.seconds_to_midnight} seconds to midnight (95% interval {a.ci_seconds_low}-{a.ci_seconds_high} s), "
        f"band {a.band}, confidence {a.confidence.value}, trend {a.trend}, "
        f"P(nuclear use within 365 days) {a.p_nuclear_use_365d:.2%}; {a.data_label}"
    )


def report_line(paths: dict[str, Path]) -> str:
    """Where the report files are (on the machine that ran the flow)."""
    return "Report written: " + ", ".join(str(path) for path in paths.values())


def source_rows(outcomes: list[SourceOutcome]) -> list[dict[str, object]]:
    """One row per source for the collection's table artifact."""
    return [
        {
            "source": o.source_id,
            "status": o.status,
            "items": o.items,
            "requests": o.requests,
            "cache hits": o.cache_hits,
            "seconds": round(o.seconds, 2),
            "error": f"{o.error_type}: {o.error}" if o.error_type else (o.error or ""),
        }
        for o in outcomes
    ]


def delivery_lines(deliveries: list[Delivery]) -> list[tuple[int, str]]:
    """Each notification sent or not; errors stay in the `notifications` table, since they may quote
    a webhook URL, which is a secret."""
    return [
        (logging.INFO, f"{d.event} sent to {d.channel}")
        if d.ok
        else (logging.WARNING, f"{d.event} not delivered to {d.channel} after {d.attempts} attempt(s)")
        for d in deliveries
    ]
