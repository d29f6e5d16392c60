"""Column contracts of the lake's tables, as polars schemas (see DESIGN.md, "The lake")."""

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

RAW_ITEMS = pl.Schema(
    {
        "run_id": pl.String,
        "source_id": pl.String,
        "fetched_at": UTC_TS,
        "http_status": pl.Int32,
        "etag": pl.String,
        "last_modified": pl.String,
        "url": pl.String,
        "guid": pl.String,
        "title": pl.String,
        "body": pl.String,
        "published_at": UTC_TS,
        "language": pl.String,
    }
)

SIGNALS = pl.Schema(
    {
        "run_id": pl.String,
        "source_id": pl.String,
        "series": pl.String,
        "at": UTC_TS,
        "value": pl.Float64,
    }
)

SOURCES = pl.Schema(
    {
        "run_id": pl.String,
        "source_id": pl.String,
        "kind": pl.String,
        "url": pl.String,
        "categories": pl.List(pl.String),
        "base_reliability": pl.Float64,
        "current_reliability": pl.Float64,
        "rate_limit_s": pl.Float64,
        "cache_ttl_s": pl.Float64,
        "needs_credential": pl.String,
        "status": pl.String,
        "error": pl.String,
        "error_type": pl.String,
        "consecutive_failures": pl.Int32,
        "last_success_at": UTC_TS,
        "last_failure_at": UTC_TS,
        "attempts": pl.Int64,
        "successes": pl.Int64,
        "articles_seen": pl.Int64,
        "articles_corroborated": pl.Int64,
        "updated_at": UTC_TS,
    }
)

ARTICLES = pl.Schema(
    {
        "article_id": pl.String,
        "run_id": pl.String,
        "source_id": pl.String,
        "canonical_url": pl.String,
        "title": pl.String,
        "text": pl.String,
        "published_at": UTC_TS,
        "content_hash": pl.String,
        "simhash": pl.UInt64,
        "duplicate_of": pl.String,
        "corroboration": pl.Int32,
        "evidence": pl.Boolean,
        "relevance": pl.Float64,
        "categories": pl.List(pl.String),
        "escalation": pl.Float64,
        "quality": pl.Float64,
        "quality_source": pl.Float64,
        "quality_timeliness": pl.Float64,
        "quality_verifiability": pl.Float64,
        "quality_completeness": pl.Float64,
        "language": pl.String,
    }
)

ASSESSMENTS = pl.Schema(
    {
        "assessment_id": pl.String,
        "run_id": pl.String,
        "assessed_at": UTC_TS,
        "as_of": UTC_TS,
        "seconds_to_midnight": pl.Int32,
        "score": pl.Float64,
        "base_score": pl.Float64,
        "adjusted_score": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "ci_seconds_low": pl.Int32,
        "ci_seconds_high": pl.Int32,
        "mc_seed": pl.Int64,
        "mc_iterations": pl.Int64,
        "band": pl.String,
        "confidence": pl.String,
        "confidence_score": pl.Float64,
        "trend": pl.String,
        "trend_slope": pl.Float64,
        "trend_p_value": pl.Float64,
        "change_points": pl.Int32,
        "delta_seconds": pl.Int32,
        "analyst_seconds": pl.Int32,
        "change_explanation": pl.String,
        "p_nuclear_use_365d": pl.Float64,
        "p_use_ci_low": pl.Float64,
        "p_use_ci_high": pl.Float64,
        "escalation_runs": pl.Int64,
        "escalation_pathway": pl.List(pl.String),
        "most_sensitive_category": pl.String,
        "sensitivity": pl.List(
            pl.Struct(
                {
                    "category": pl.String,
                    "max_elasticity": pl.Float64,
                    "score_delta_minus_20": pl.Float64,
                    "score_delta_plus_20": pl.Float64,
                }
            )
        ),
        "correlations": pl.List(pl.String),
        "analyzer": pl.String,
        "model": pl.String,
        "executive_summary": pl.String,
        "data_label": pl.String,
        "sample_data": pl.Boolean,
        # Issue 16, additive: the spec's linear seconds (always), the calibrated clock's reading,
        # the structural level the score is anchored on and the mapping the headline used.
        "seconds_linear": pl.Int32,
        "seconds_calibrated": pl.Int32,
        "clock_score": pl.Float64,
        "structural_score": pl.Float64,
        "mapping": pl.String,
    }
)

RISK_FACTORS = pl.Schema(
    {
        "assessment_id": pl.String,
        "run_id": pl.String,
        "category": pl.String,
        "name": pl.String,
        "value": pl.Float64,
        "adjusted_value": pl.Float64,
        "confidence": pl.String,
        "weight": pl.Float64,
        "contribution": pl.Float64,
        "rank": pl.Int32,
        "evidence": pl.List(pl.String),
        "reasoning": pl.String,
    }
)

ALERTS = pl.Schema(
    {
        "assessment_id": pl.String,
        "run_id": pl.String,
        "level": pl.String,
        "kind": pl.String,
        "message": pl.String,
        "threshold": pl.Float64,
        "value": pl.Float64,
        "channels": pl.List(pl.String),  # where it was delivered (notifications arrive with their issue)
    }
)

NOTIFICATIONS = pl.Schema(
    {
        "run_id": pl.String,
        "event": pl.String,
        "event_id": pl.String,
        "channel": pl.String,
        "ok": pl.Boolean,
        "attempts": pl.Int32,
        "error": pl.String,
        "sent_at": UTC_TS,
    }
)

SOURCE_OUTCOME = pl.Struct(
    {
        "source_id": pl.String,
        "status": pl.String,
        "items": pl.Int64,
        "http_status": pl.Int64,
        "bytes": pl.Int64,
        "seconds": pl.Float64,
        "error": pl.String,
        "error_type": pl.String,
        "fetches": pl.Int64,
        "requests": pl.Int64,
        "not_modified": pl.Int64,
        "cache_hits": pl.Int64,
        "retries": pl.Int64,
    }
)

STAGES = ("collect", "curate", "analyze", "score", "store", "report")

RUNS = pl.Schema(
    {
        "run_id": pl.String,
        "flow": pl.String,
        "started_at": UTC_TS,
        "ended_at": UTC_TS,
        "status": pl.String,
        "analyzer": pl.String,
        "model": pl.String,
        "data_label": pl.String,
        "sources_ok": pl.Int32,
        "sources_failed": pl.Int32,
        "sources_skipped": pl.Int32,
        "sources": pl.List(SOURCE_OUTCOME),
        **{f"{stage}_seconds": pl.Float64 for stage in STAGES},
        **{f"{stage}_items_in": pl.Int64 for stage in STAGES},
        **{f"{stage}_items_out": pl.Int64 for stage in STAGES},
        "requests": pl.Int64,
        "not_modified": pl.Int64,
        "bytes": pl.Int64,
        "claude_calls": pl.Int64,
        "tokens_in": pl.Int64,
        "tokens_out": pl.Int64,
        "cache_read_tokens": pl.Int64,
        "cache_write_tokens": pl.Int64,
        "claude_cache_hits": pl.Int64,
        "cache_hits": pl.Int64,
        "cache_hit_rate": pl.Float64,
        "cost_usd": pl.Float64,
        "fallback_reason": pl.String,
        "errors": pl.List(pl.String),
    }
)

# One row per Bulletin setting of the latest `joshua calibrate` (a single file, replaced each time).
CALIBRATION = pl.Schema(
    {
        "year": pl.Int32,
        "announced": pl.Date,
        "as_of": pl.Date,
        "bulletin_seconds": pl.Int32,
        "loo_seconds": pl.Int32,
        "fitted_seconds": pl.Int32,
        "clock_score": pl.Float64,
        "fitted_on": pl.Date,
    }
)

# The compaction log (joshua/compaction.py): one file per compaction, its commit point. One row per
# run it covers in a partition, or per replaced file that held no visible rows (run_id null).
COMPACTIONS = pl.Schema(
    {
        "compaction_id": pl.String,
        "table_name": pl.String,
        "partition": pl.String,
        "compact_file": pl.String,
        "run_id": pl.String,
        "run_ended_at": UTC_TS,
        "run_committed_at": pl.Float64,
        "source_file": pl.String,
        "committed_at": UTC_TS,
    }
)

TABLES: dict[str, pl.Schema] = {
    "sources": SOURCES,
    "raw_items": RAW_ITEMS,
    "signals": SIGNALS,
    "articles": ARTICLES,
    "assessments": ASSESSMENTS,
    "risk_factors": RISK_FACTORS,
    "alerts": ALERTS,
    "notifications": NOTIFICATIONS,
    "runs": RUNS,
    "calibration": CALIBRATION,
    "compactions": COMPACTIONS,
}
