"""Prometheus metrics computed from the lake (the spec's §3.3 metrics that apply to a batch system)."""

from __future__ import annotations

import duckdb
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

PREFIX = "joshua"
DURATION_BUCKETS = (10, 20, 30, 60, 120, 300, 600)

RUNS_SQL = """
SELECT status, flow, epoch(ended_at) - epoch(started_at) AS seconds, claude_calls, tokens_in, tokens_out,
       cost_usd, claude_cache_hits, cache_hits, requests
FROM runs
"""
LATEST_SQL = "SELECT seconds_to_midnight, score, confidence_score, band FROM latest_assessment"
SOURCES_SQL = """
SELECT s.source_id, sum(s.items) AS items, count(*) FILTER (WHERE s.status = 'failed') AS failures
FROM (SELECT unnest(sources) AS s FROM runs)
GROUP BY ALL
"""
BANDS_SQL = "SELECT band, count(*) FROM assessments GROUP BY band"


def render_metrics(con: duckdb.DuckDBPyConnection) -> bytes:
    """The Prometheus text exposition of the lake's metrics."""
    disable_created_metrics()  # the lake, not this process, knows when things happened
    registry = CollectorRegistry()
    assessments = Counter(f"{PREFIX}_assessments", "Assessment runs by outcome", ["status"], registry=registry)
    collections = Counter(f"{PREFIX}_collections", "Collection-only runs by outcome", ["status"], registry=registry)
    duration = Histogram(
        f"{PREFIX}_assessment_duration_seconds", "Wall time of assessment runs", buckets=DURATION_BUCKETS, registry=registry
    )
    claude_requests = Counter(f"{PREFIX}_claude_requests", "Claude API calls", registry=registry)
    tokens = Counter(f"{PREFIX}_claude_tokens", "Claude tokens", ["direction"], registry=registry)
    cost = Counter(f"{PREFIX}_claude_cost_usd", "Claude spend in dollars", registry=registry)
    cache = Counter(f"{PREFIX}_cache", "Cache lookups by cache and result", ["cache", "result"], registry=registry)
    for status, flow, seconds, calls, t_in, t_out, usd, claude_hits, http_hits, requests in con.execute(RUNS_SQL).fetchall():
        if flow == "nuclear-risk-collection":
            collections.labels(status).inc()
            continue
        assessments.labels(status).inc()
        if seconds is not None:
            duration.observe(seconds)
        claude_requests.inc(calls or 0)
        tokens.labels("input").inc(t_in or 0)
        tokens.labels("output").inc(t_out or 0)
        cost.inc(usd or 0.0)
        cache.labels("claude", "hit").inc(claude_hits or 0)
        cache.labels("claude", "miss").inc(calls or 0)
        cache.labels("http", "hit").inc(http_hits or 0)
        cache.labels("http", "miss").inc(max(0, (requests or 0) - (http_hits or 0)))
    latest = con.execute(LATEST_SQL).fetchone()
    if latest:
        Gauge(f"{PREFIX}_seconds_to_midnight", "Latest assessment", registry=registry).set(latest[0])
        Gauge(f"{PREFIX}_risk_score", "Latest assessment's score (0..1)", registry=registry).set(latest[1])
        Gauge(f"{PREFIX}_risk_confidence", "Latest assessment's confidence (0..1)", registry=registry).set(latest[2])
    by_band = Gauge(f"{PREFIX}_assessments_by_band", "Stored assessments by band", ["band"], registry=registry)
    for band, count in con.execute(BANDS_SQL).fetchall():
        by_band.labels(band).set(count)
    items = Counter(f"{PREFIX}_source_items", "Items collected per source", ["source"], registry=registry)
    failures = Counter(f"{PREFIX}_source_failures", "Failed collections per source", ["source"], registry=registry)
    for source, collected, failed in con.execute(SOURCES_SQL).fetchall():
        items.labels(source).inc(collected or 0)
        failures.labels(source).inc(failed or 0)
    return generate_latest(registry)
