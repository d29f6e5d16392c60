"""Words shared by every report format: notices, labels, recommendations, methodology."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from joshua.reporting.data import ReportData
from schemas.records import Assessment, ScoredFactor, StageMetrics

TOP_FACTORS = 10
SAMPLE_NOTICE = (
    "Sample data. Built from the bundled {label}. It demonstrates the pipeline and says nothing about the real world."
)
HEURISTIC_NOTICE = (
    "Offline heuristic analyzer. Factor ratings come from transparent keyword signals in the curated articles, "
    "not from an analyst model."
)
METHODOLOGY = (
    "Base score = Σ W·S·C / Σ W·C over the eight categories (weights from joshua.toml; S the category's value; "
    "C its numeric confidence 0.40/0.60/0.775/0.90/0.975), shrunk toward the history of base scores "
    "(Normal–Normal, observation precision 10, variance floor 0.05). Seconds to midnight = floor((1 − score) × "
    "1440); bands critical < 100 ≤ severe < 200 ≤ high < 400 ≤ moderate < 600 ≤ low < 900 ≤ minimal. The 95 % "
    "interval comes from Beta draws of every factor around its value, tighter with higher confidence. "
    "P(nuclear use) comes from a 365-day daily-hazard escalation model driven by the score. Trends are "
    "Mann–Kendall tests with Sen's slope. Overall confidence is the weighted category confidence times the share "
    "of sources that succeeded."
)
# What to watch when a category drives the score: monitoring priorities, not policy advice.
WATCH = {
    "nuclear_arsenal": "new deployments, warhead-count estimates and delivery-system tests",
    "doctrine_posture": "statements on use thresholds, alert levels and strategic-force exercises",
    "regional_conflict": "fighting near nuclear-armed states' borders and strikes near nuclear facilities",
    "leadership_rhetoric": "explicit nuclear threats and signs of leadership instability",
    "technical_incident": "false alarms, safety incidents at nuclear plants and cyber intrusions",
    "communication_arms_control": "treaty status, inspections, data exchanges and crisis hotlines",
    "emerging_technology": "AI in command and control, hypersonic and counter-space tests",
    "economic": "sanctions and export controls on nuclear materials and the stability of nuclear states",
}


def label(category: str) -> str:
    return category.replace("_", " ").capitalize()


def change_text(a: Assessment) -> str:
    if a.delta_seconds is None:
        return "first assessment, no change to report"
    if a.delta_seconds == 0:
        return "unchanged since the previous assessment"
    direction = "closer to" if a.delta_seconds < 0 else "further from"
    return f"{abs(a.delta_seconds)} s {direction} midnight than the previous assessment"


def notices(a: Assessment) -> list[str]:
    """The warnings a reader must see first."""
    found = []
    if a.sample_data:
        found.append(SAMPLE_NOTICE.format(label=a.data_label))
    if a.analyzer == "heuristic":
        found.append(HEURISTIC_NOTICE)
    return found


def bulletin_comparison(data: ReportData) -> str:
    """The Bulletin's latest setting beside JOSHUA's reading, with which mapping gave the headline."""
    a = data.assessment
    parts = [f"JOSHUA reads {a.seconds_to_midnight} s ({'calibrated clock' if a.mapping == 'calibrated' else 'linear mapping'})"]
    if a.seconds_calibrated is not None and a.mapping != "calibrated":
        parts.append(f"{a.seconds_calibrated} s on the clock calibrated against the Bulletin (not this run's headline: its mapping was linear)")
    elif a.seconds_linear is not None and a.mapping == "calibrated":
        parts.append(f"{a.seconds_linear} s on the spec's linear mapping")
    if data.bulletin is None:
        return "; ".join(parts)
    b = data.bulletin
    return (
        f"The Bulletin of the Atomic Scientists' latest setting: {b.seconds} s ({b.announced:%d %B %Y}). "
        + "; ".join(parts)
        + "."
    )


def clock_caption(data: ReportData) -> str:
    """Under the clock history: which of its readings are out of sample, with their error."""
    text = (
        "The reconstruction's calibrated seconds are in sample: the clock was fitted on every Bulletin "
        "setting, that year's included. Only the leave-one-out predictions (circles) are out of sample, "
        "each made by a clock fitted without that year"
    )
    if not data.calibration:
        return text + "."
    errors = [abs(c.loo_seconds - c.bulletin_seconds) for c in data.calibration]
    return text + f": mean absolute error {sum(errors) / len(errors):.1f} s over {len(errors)} settings."


def averages(data: ReportData) -> list[tuple[str, str]]:
    """(label, value) of the 30-, 90- and 365-day average seconds."""
    out = []
    for days in (30, 90, 365):
        value = data.average(days)
        out.append((f"{days}-day average", "n/a" if value is None else f"{value:.0f} s"))
    return out


@dataclass(frozen=True)
class Recommendations:
    immediate: list[str]
    medium_term: list[str]
    long_term: list[str]


def recommendations(data: ReportData) -> Recommendations:
    """Monitoring priorities derived from the data: what drives the score, what is rising, what is thin."""
    factors = data.assessment.factors
    top = factors[:2]
    rising = [f for f in factors if data.category_trend(f.rating.category.value) == "rising"]
    thin = [f for f in factors if f.rating.confidence.value in ("VeryLow", "Low")]
    return Recommendations(
        immediate=[
            f"Watch {label(f.rating.category.value).lower()} (largest contribution, {f.contribution:.3f}): "
            f"{WATCH[f.rating.category.value]}."
            for f in top
        ],
        medium_term=[
            f"Track {label(f.rating.category.value).lower()}, whose value has been rising across assessments."
            for f in rising
        ]
        or ["No category shows a significant rising trend yet; keep the daily assessments running."],
        long_term=[
            f"Improve coverage of {label(f.rating.category.value).lower()}: its rating rests on thin evidence "
            f"(confidence {f.rating.confidence.value})."
            for f in thin
        ]
        or ["Evidence is adequate in every category; widen the sources to reduce single-outlet dependence."],
    )


def statistics_rows(data: ReportData) -> list[tuple[str, str]]:
    """Appendix D: the engine's statistics as (name, value)."""
    a = data.assessment
    slope = data.seconds_trend_slope()
    rows = [
        ("Score (adjusted) / base", f"{a.adjusted_score:.4f} / {a.base_score:.4f}"),
        ("95 % interval (score)", f"{a.ci_low:.4f}–{a.ci_high:.4f}"),
        ("95 % interval (seconds)", f"{a.ci_seconds_low}–{a.ci_seconds_high}"),
        ("Monte Carlo", f"{a.mc_iterations:,} draws, seed {a.mc_seed}"),
        ("P(nuclear use within 365 days)", f"{a.p_nuclear_use_365d:.2%} ({a.p_use_ci_low:.2%}–{a.p_use_ci_high:.2%})"),
        ("Escalation runs / pathway", f"{a.escalation_runs:,} / " + (" → ".join(a.escalation_pathway or []) or "none")),
        ("Trend", f"{a.trend}" + ("" if slope is None else f", Sen's slope {slope:+.1f} s per assessment")),
        ("CUSUM change points", str(a.change_points)),
        ("Most sensitive weight", a.most_sensitive_category.value if a.most_sensitive_category else "n/a"),
    ]
    if a.analyst_seconds is not None:
        rows.append(("Claude's own estimate", f"{a.analyst_seconds} s (never the headline)"))
    return rows


def top_factors(a: Assessment) -> list[ScoredFactor]:
    return a.factors[:TOP_FACTORS]


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
