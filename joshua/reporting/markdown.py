"""The Markdown report, in the spec's section order; text from sources is made inert."""

from __future__ import annotations

import re

from joshua.reporting.clock import clock_ascii
from joshua.reporting.data import ReportData
from joshua.reporting.text import (
    METHODOLOGY,
    averages,
    bulletin_comparison,
    change_text,
    clock_caption,
    label,
    notices,
    recommendations,
    statistics_rows,
    top_factors,
)
from joshua.urls import safe_url

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # CR as well as LF ends a Markdown line
_BLOCK_MARKER = re.compile(r"^(\s*)([#+*-]|\d+(?=[.)]))")  # would start a heading, rule or list


def md(text: str) -> str:
    """Text from a source made inert in Markdown: one line (no CR, LF or other control character),
    no tags, no table breaks, no link syntax, and no heading, quote or list marker where it starts."""
    escaped = (
        _CONTROL.sub(" ", text)
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("[", "\\[")
        .replace("]", "\\]")
    )
    return _BLOCK_MARKER.sub(_escape_marker, escaped, count=1)


def _escape_marker(match: re.Match[str]) -> str:
    """`# x` → `\\# x`, `1. x` → `1\\. x` (CommonMark escapes the punctuation)."""
    indent, marker = match.group(1), match.group(2)
    return f"{indent}{marker}\\" if marker.isdigit() else f"{indent}\\{marker}"


def summary_markdown(data: ReportData) -> str:
    """The short summary with the ASCII clock (the Prefect markdown artifact)."""
    a = data.assessment
    lines = [
        f"# {a.seconds_to_midnight} seconds to midnight",
        "",
        *[f"> **{md(n)}**" for n in notices(a)],
        "",
        "```",
        clock_ascii(a.seconds_to_midnight, a.band),
        "```",
        "",
        f"Band **{a.band}** · confidence **{a.confidence.value}** ({a.confidence_score:.2f}) · trend **{a.trend}** · "
        f"95 % interval {a.ci_seconds_low}–{a.ci_seconds_high} s · P(nuclear use within 365 days) "
        f"{a.p_nuclear_use_365d:.2%}",
        "",
        md(a.executive_summary),
        "",
        "Top drivers: " + "; ".join(f"{label(f.rating.category.value)} ({f.rating.value:.2f})" for f in a.factors[:3]),
    ]
    return "\n".join(lines)


def render_markdown(data: ReportData, chart_dir: str | None = None) -> str:
    """The full report; `chart_dir` (relative to the report) links the clock and chart files."""
    a = data.assessment
    advice = recommendations(data)
    lines = [
        "# JOSHUA nuclear-risk assessment",
        "",
        *[line for n in notices(a) for line in (f"> **{md(n)}**", "")],
        f"Assessment `{a.assessment_id}` · run `{a.run_id}` · assessed {a.assessed_at:%Y-%m-%d %H:%M} UTC · "
        f"evidence as of {a.as_of:%Y-%m-%d %H:%M} UTC · analyzer {a.analyzer}" + (f" ({a.model})" if a.model else ""),
        "",
        *([f"![Doomsday Clock]({chart_dir}/clock.svg)", ""] if chart_dir else []),
        "## Executive summary",
        "",
        md(a.executive_summary),
        "",
        "## Risk level",
        "",
        f"- **{a.seconds_to_midnight} seconds to midnight** (95 % interval {a.ci_seconds_low}–{a.ci_seconds_high} s), "
        f"band **{a.band}**",
        f"- {bulletin_comparison(data)}",
        f"- Change: {change_text(a)}",
        f"- Trend: {a.trend}",
        f"- Confidence: {a.confidence.value} ({a.confidence_score:.2f})",
        *[f"- {name}: {value}" for name, value in averages(data)],
        f"- P(nuclear use within 365 days): {a.p_nuclear_use_365d:.2%} (95 % interval {a.p_use_ci_low:.2%}–"
        f"{a.p_use_ci_high:.2%}); published expert estimates range from about 0.35 % to 1.1 % a year",
        *([f"- What moved: {md(a.change_explanation)}"] if a.change_explanation else []),
        "",
        "### Alerts",
        "",
        *([f"- **{alert.level}** ({alert.kind}): {md(alert.message)}" for alert in a.alerts] or ["None."]),
        "",
        *([f"![Risk over time]({chart_dir}/risk_over_time.svg)", ""] if chart_dir else []),
        *(
            [f"![Reconstruction against the Bulletin's settings]({chart_dir}/clock_history.svg)", "", md(clock_caption(data)), ""]
            if chart_dir and (data.reconstruction or data.calibration)
            else []
        ),
        "## Top risk factors",
        "",
    ]
    for factor in top_factors(a):
        rating = factor.rating
        lines.append(
            f"{factor.rank}. **{label(rating.category.value)}** ({rating.name}): value {rating.value:.2f}, "
            f"confidence {rating.confidence.value}, contribution {factor.contribution:.4f}, trend "
            f"{data.category_trend(rating.category.value)}"
        )
        for article_id in rating.evidence:
            ref = data.evidence.get(article_id)
            if ref is not None:
                target = safe_url(ref.url)  # percent-encoded: no `<`, `>` or space ends the autolink
                link = f" <{target}>" if target else ""
                lines.append(f"   - {md(ref.title)} ({ref.source_id}){link}")
    lines += [
        "",
        "## Categories",
        "",
        "| Category | Weight | Score | Contribution | Trend | Articles considered | Cited |",
        "|---|---:|---:|---:|---|---:|---:|",
        *[
            f"| {label(f.rating.category.value)} | {f.weight:.2f} | {f.rating.value:.2f} | {f.contribution:.4f} | "
            f"{data.category_trend(f.rating.category.value)} | {data.considered.get(f.rating.category.value, 0)} | "
            f"{len(f.rating.evidence)} |"
            for f in sorted(a.factors, key=lambda f: f.rating.category.value)
        ],
        "",
        *([f"![Category breakdown]({chart_dir}/category_breakdown.svg)", ""] if chart_dir else []),
        "## Detailed analysis",
        "",
        *[
            f"- **{label(f.rating.category.value)}** ({f.rating.value:.2f}, {f.rating.confidence.value}): "
            f"{md(f.rating.reasoning)}"
            for f in sorted(a.factors, key=lambda f: f.rating.category.value)
        ],
        "",
        "## Recommendations",
        "",
        "Monitoring priorities derived from the data (what drives the score, what is rising, where evidence is thin).",
        "",
        "**Immediate**",
        "",
        *[f"- {item}" for item in advice.immediate],
        "",
        "**Medium term**",
        "",
        *[f"- {item}" for item in advice.medium_term],
        "",
        "**Long term**",
        "",
        *[f"- {item}" for item in advice.long_term],
        "",
        "## Appendix A: data sources",
        "",
        f"Data: {md(a.data_label)}.",
        "",
        "| Source | Status | Items | Note |",
        "|---|---|---:|---|",
        *[f"| {s.source_id} | {s.status} | {s.items} | {md(s.error or '')} |" for s in data.sources],
        "",
        "## Appendix B: methodology",
        "",
        METHODOLOGY,
        "",
        "## Appendix C: historical comparison",
        "",
        "| Assessed | Seconds | Interval |",
        "|---|---:|---|",
        *[
            f"| {p.assessed_at:%Y-%m-%d %H:%M} | {p.seconds} | "
            + (f"{p.ci_seconds_low}–{p.ci_seconds_high}" if p.ci_seconds_low is not None else "")
            + " |"
            for p in data.history[-10:]
        ],
        "",
        *([f"![Categories over time]({chart_dir}/category_heatmap.svg)", ""] if chart_dir else []),
        "## Appendix D: statistics",
        "",
        "| Statistic | Value |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in statistics_rows(data)],
        "",
        "| Category | Max elasticity | Score change at −20 % weight | at +20 % |",
        "|---|---:|---:|---:|",
        *[
            f"| {label(x.category.value)} | {x.max_elasticity:.3f} | {x.score_delta_minus_20:+.4f} | "
            f"{x.score_delta_plus_20:+.4f} |"
            for x in a.sensitivity
        ],
        "",
        *(["Factor correlations (|r| > 0.3, n ≥ 30):", "", *[f"- {c}" for c in a.correlations], ""] if a.correlations else []),
        *([f"![Monte Carlo distribution]({chart_dir}/monte_carlo.svg)", ""] if chart_dir else []),
        "| Stage | Seconds | Items in | Items out |",
        "|---|---:|---:|---:|",
        *[f"| {s.stage} | {s.seconds:.2f} | {s.items_in} | {s.items_out} |" for s in data.stages],
        "",
    ]
    return "\n".join(lines)
