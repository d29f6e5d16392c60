"""The self-contained HTML report: inline styles, clock and charts; every source text escaped."""

from __future__ import annotations

from pathlib import Path

import jinja2

from joshua.reporting.clock import BAND_COLOURS, clock_svg
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

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # article titles, reasoning and summaries are data: a <script> in them shows as text
    undefined=jinja2.StrictUndefined,
)


def render_html(data: ReportData, charts: dict[str, str]) -> str:
    """The report as one HTML document; `charts` maps chart names to their SVG markup."""
    a = data.assessment
    return TEMPLATES.get_template("report.html.j2").render(
        a=a,
        notices=notices(a),
        colour=BAND_COLOURS.get(a.band, "#495057"),
        clock_svg=clock_svg(a.seconds_to_midnight, a.band),
        change=change_text(a),
        averages=averages(data),
        bulletin=bulletin_comparison(data),
        clock_caption=clock_caption(data) if data.reconstruction or data.calibration else "",
        top=top_factors(a),
        categories=sorted(a.factors, key=lambda f: f.rating.category.value),
        evidence=data.evidence,
        considered=data.considered,
        advice=recommendations(data),
        sources=data.sources,
        methodology=METHODOLOGY,
        recent=data.history[-10:],
        statistics=statistics_rows(data),
        stages=data.stages,
        charts=charts,
        label=label,
        trend=data.category_trend,
    )
