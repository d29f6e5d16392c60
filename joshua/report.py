"""Reports: the Markdown report of an assessment and the rows of the run's stage table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from schemas.records import Assessment, EvidenceRef, SourceOutcome, StageMetrics

TOP_DRIVERS = 5


def load_evidence(articles_path: Path, assessment: Assessment) -> dict[str, EvidenceRef]:
    """Title, source and link of every article the assessment's factors cite."""
    cited = {article_id for factor in assessment.factors for article_id in factor.rating.evidence}
    rows = (
        pl.scan_parquet(articles_path)
        .filter(pl.col("article_id").is_in(list(cited)))
        .select("article_id", "source_id", "title", pl.col("canonical_url").alias("url"))
        .collect()
    )
    return {row["article_id"]: EvidenceRef(**row) for row in rows.iter_rows(named=True)}


def _md(text: str) -> str:
    """Text from a source made inert in Markdown: no tags, no table breaks, no link syntax."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("[", "\\[")
        .replace("]", "\\]")
        .replace("\n", " ")
    )


def _label(category: str) -> str:
    return category.replace("_", " ").capitalize()


def _change(assessment: Assessment) -> str:
    if assessment.delta_seconds is None:
        return "first assessment, no change to report"
    if assessment.delta_seconds == 0:
        return "unchanged since the previous assessment"
    direction = "closer to" if assessment.delta_seconds < 0 else "further from"
    return f"{abs(assessment.delta_seconds)} s {direction} midnight than the previous assessment"


def data_notice(assessment: Assessment) -> list[str]:
    """The warnings a reader must see first: sample data, heuristic analyzer."""
    notices = []
    if assessment.sample_data:
        notices.append(
            f"> **Sample data.** Built from the bundled {assessment.data_label}. It demonstrates the "
            "pipeline and says nothing about the real world."
        )
    if assessment.analyzer == "heuristic":
        notices.append(
            "> **Offline heuristic analyzer.** Factor ratings come from transparent keyword signals in the "
            "curated articles, not from an analyst model."
        )
    return notices


def render_markdown(
    assessment: Assessment,
    evidence: Mapping[str, EvidenceRef],
    outcomes: Sequence[SourceOutcome],
    stages: Sequence[StageMetrics],
) -> str:
    """The assessment as a Markdown report."""
    a = assessment
    lines = [
        f"# JOSHUA nuclear-risk assessment, {a.assessed_at:%Y-%m-%d %H:%M} UTC",
        "",
        *[line for notice in data_notice(a) for line in (notice, "")],
        f"**{a.seconds_to_midnight} seconds to midnight** · band **{a.band}** · confidence "
        f"**{a.confidence.value}** ({a.confidence_score:.2f}) · trend **{a.trend}**",
        "",
        "## Executive summary",
        "",
        _md(a.executive_summary),
        "",
        "## Risk level",
        "",
        f"- Seconds to midnight: {a.seconds_to_midnight} (95 % interval {a.ci_seconds_low}–{a.ci_seconds_high} s; "
        f"score {a.score:.4f}, interval {a.ci_low:.4f}–{a.ci_high:.4f}, {a.mc_iterations:,} Monte Carlo draws, "
        f"seed {a.mc_seed})",
        f"- Base score {a.base_score:.4f}, adjusted toward history {a.adjusted_score:.4f}",
        f"- Band: {a.band}",
        f"- Change: {_change(a)}",
        f"- Trend: {a.trend}" + (f" (Sen's slope {a.trend_slope:+.1f} s per assessment, p = {a.trend_p_value:.3f})"
                                 if a.trend_slope is not None and a.trend_p_value is not None else ""),
        f"- Confidence: {a.confidence.value} ({a.confidence_score:.2f})",
        f"- Data: {a.data_label}; evidence as of {a.as_of:%Y-%m-%d %H:%M} UTC",
        f"- Analyzer: {a.analyzer}" + (f" ({a.model})" if a.model else ""),
        *([f"- Claude's own estimate: {a.analyst_seconds} seconds (recorded beside the headline, never instead)"]
          if a.analyst_seconds is not None else []),
        *([f"- What moved since the previous assessment: {_md(a.change_explanation)}"] if a.change_explanation else []),
        "",
        "## Alerts",
        "",
        *([f"- **{alert.level}** ({alert.kind}): {_md(alert.message)}" for alert in a.alerts] or ["None."]),
        "",
        "## Escalation outlook",
        "",
        f"P(nuclear use within 365 days) = {a.p_nuclear_use_365d:.2%} (95 % Wilson interval "
        f"{a.p_use_ci_low:.2%}–{a.p_use_ci_high:.2%}, {a.escalation_runs:,} simulated years). "
        + (f"Most common path to use: {' → '.join(a.escalation_pathway)}." if a.escalation_pathway else "No simulated year reached use.")
        + " Published expert estimates of the yearly probability range from about 0.35 % to 1.1 %.",
        "",
        "## Top drivers",
        "",
    ]
    for factor in a.factors[:TOP_DRIVERS]:
        rating = factor.rating
        lines += [
            f"{factor.rank}. **{_label(rating.category.value)}**: value {rating.value:.2f}, confidence "
            f"{rating.confidence.value}, contribution {factor.contribution:.4f}",
            f"   {_md(rating.reasoning)}",
        ]
        for article_id in rating.evidence:
            ref = evidence.get(article_id)
            if ref is not None:
                link = f" <{ref.url}>" if ref.url else ""
                lines.append(f"   - {_md(ref.title)} ({ref.source_id}){link}")
    lines += [
        "",
        "## Categories",
        "",
        "| Category | Weight | Value | Confidence | Contribution | Rank |",
        "|---|---:|---:|---|---:|---:|",
        *[
            f"| {_label(f.rating.category.value)} | {f.weight:.2f} | {f.rating.value:.2f} | "
            f"{f.rating.confidence.value} | {f.contribution:.4f} | {f.rank} |"
            for f in sorted(a.factors, key=lambda f: f.rating.category.value)
        ],
        "",
        "## Sources",
        "",
        "| Source | Status | Items | Note |",
        "|---|---|---:|---|",
        *[f"| {o.source_id} | {o.status} | {o.items} | {_md(o.error or '')} |" for o in outcomes],
        "",
        "## Sensitivity",
        "",
        "| Category | Max elasticity | Score change at −20 % weight | at +20 % |",
        "|---|---:|---:|---:|",
        *[
            f"| {_label(x.category.value)} | {x.max_elasticity:.3f} | {x.score_delta_minus_20:+.4f} | "
            f"{x.score_delta_plus_20:+.4f} |"
            for x in a.sensitivity
        ],
        "",
        *(["Notable factor correlations over the stored history:", "", *[f"- {c}" for c in a.correlations], ""]
          if a.correlations else []),
        "## Methodology",
        "",
        "Base score = Σ W·S·C / Σ W·C over the eight categories (weights from joshua.toml, C the numeric "
        "confidence), shrunk toward the history of base scores (Normal–Normal, observation precision 10, "
        "variance floor 0.05); seconds to midnight = floor((1 − score) × 1440); bands critical < 100 ≤ "
        "severe < 200 ≤ high < 400 ≤ moderate < 600 ≤ low < 900 ≤ minimal. The interval comes from "
        "Beta draws of every factor around its value, tighter with higher confidence. P(nuclear use) "
        "comes from a 365-day daily-hazard escalation model driven by the score. Overall confidence is "
        "the weighted category confidence times the share of sources that succeeded.",
        "",
        "## Run",
        "",
        f"Run `{a.run_id}`, assessment `{a.assessment_id}`.",
        "",
        "| Stage | Seconds | Items in | Items out |",
        "|---|---:|---:|---:|",
        *[f"| {s.stage} | {s.seconds:.2f} | {s.items_in} | {s.items_out} |" for s in stages],
        "",
    ]
    return "\n".join(lines)


def write_report(directory: Path, run_id: str, markdown: str) -> Path:
    """Write a report file atomically and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}.md"
    temporary = path.with_suffix(".md.tmp")
    temporary.write_text(markdown, encoding="utf-8")
    temporary.replace(path)
    return path


def stage_rows(stages: Sequence[StageMetrics]) -> list[dict[str, object]]:
    """The run's stage table (the Prefect table artifact)."""
    return [
        {
            "stage": s.stage,
            "seconds": round(s.seconds, 3),
            "items_in": s.items_in,
            "items_out": s.items_out,
            "claude_calls": s.calls,
            "tokens": s.tokens,
            "cache_read_tokens": s.cache_read_tokens,
            "cache_write_tokens": s.cache_write_tokens,
            "cache_hits": s.cache_hits,
            "cost_usd": round(s.cost_usd, 4),
        }
        for s in stages
    ]
