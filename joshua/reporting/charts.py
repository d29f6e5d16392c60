"""Charts with altair (Vega-Lite), rendered offline to SVG or PNG by vl-convert."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import polars as pl

from joshua.reporting.data import ReportData
from joshua.settings import RiskSettings

WIDTH, HEIGHT = 640, 260
MAX_POINTS = 400  # longer timelines are drawn as weekly means


def _weekly(frame: pl.DataFrame, columns: list[str], by: list[str] | None = None) -> pl.DataFrame:
    """Weekly means of a long timeline (a chart of thousands of marks reads no better)."""
    if frame.height <= MAX_POINTS:
        return frame
    return (
        frame.with_columns(pl.col("date").str.to_datetime(time_zone="UTC"))
        .sort("date")
        .group_by_dynamic("date", every="1w", group_by=by)
        .agg([pl.col(c).mean() for c in columns])
        .with_columns(pl.col("date").dt.to_string("%Y-%m-%dT%H:%M:%S%z"))
    )


def risk_over_time(data: ReportData) -> alt.LayerChart:
    """Seconds to midnight over time with the 95 % interval band and alert markers."""
    frame = pl.DataFrame(
        [
            {
                "date": p.assessed_at.isoformat(),
                "seconds": p.seconds,
                "low": p.ci_seconds_low if p.ci_seconds_low is not None else p.seconds,
                "high": p.ci_seconds_high if p.ci_seconds_high is not None else p.seconds,
                "alerts": p.alerts,
            }
            for p in data.history
        ]
    ).pipe(_weekly, ["seconds", "low", "high", "alerts"])
    base = alt.Chart(frame).encode(x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y-%m-%d")))
    band = base.mark_area(opacity=0.2, color="#f08c00").encode(
        y=alt.Y("low:Q", title="seconds to midnight", scale=alt.Scale(zero=False)), y2="high:Q"
    )
    line = base.mark_line(point=frame.height <= 60, color="#b00020").encode(y="seconds:Q", tooltip=["date:T", "seconds:Q"])
    alerts = (
        base.transform_filter(alt.datum.alerts > 0)
        .mark_point(shape="triangle-up", size=120, color="#212529", filled=True)
        .encode(y="seconds:Q", tooltip=["date:T", "alerts:Q"])
    )
    return (band + line + alerts).properties(width=WIDTH, height=HEIGHT, title="Risk over time")


def category_breakdown(data: ReportData) -> alt.Chart:
    """Each category's contribution to the score."""
    frame = pl.DataFrame(
        [
            {"category": f.rating.category.value, "contribution": f.contribution, "value": f.rating.value}
            for f in data.assessment.factors
        ]
    )
    return (
        alt.Chart(frame)
        .mark_bar(color="#d9480f")
        .encode(
            x=alt.X("contribution:Q", title="contribution to the score"),
            y=alt.Y("category:N", sort="-x", title=None),
            tooltip=["category:N", "value:Q", "contribution:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT, title="Category breakdown")
    )


def top_factors(data: ReportData) -> alt.Chart:
    """The ten largest factor contributions."""
    frame = pl.DataFrame(
        [
            {"factor": f"{f.rating.category.value}/{f.rating.name}", "value": f.rating.value, "rank": f.rank}
            for f in data.assessment.factors[:10]
        ]
    )
    return (
        alt.Chart(frame)
        .mark_bar(color="#b00020")
        .encode(
            x=alt.X("value:Q", title="factor value (0 no risk … 1 imminent)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("factor:N", sort=alt.EncodingSortField("rank"), title=None),
        )
        .properties(width=WIDTH, height=HEIGHT, title="Top factors")
    )


def monte_carlo(data: ReportData, risk: RiskSettings) -> alt.LayerChart:
    """The distribution of the score over the Monte Carlo draws, with the 95 % interval marked."""
    draws = data.score_draws(risk)
    counts, edges = np.histogram(draws, bins=40)
    frame = pl.DataFrame({"start": edges[:-1], "end": edges[1:], "draws": counts})
    a = data.assessment
    bars = (
        alt.Chart(frame)
        .mark_bar(color="#495057")
        .encode(x=alt.X("start:Q", title="score", bin="binned", scale=alt.Scale(zero=False)), x2="end:Q", y="draws:Q")
    )
    marks = pl.DataFrame({"score": [a.ci_low, a.ci_high], "label": ["2.5 %", "97.5 %"]})
    rules = alt.Chart(marks).mark_rule(color="#b00020", strokeDash=[4, 4]).encode(x="score:Q")
    return (bars + rules).properties(width=WIDTH, height=HEIGHT, title="Monte Carlo distribution of the score")


def category_heatmap(data: ReportData) -> alt.Chart:
    """Category values over time."""
    frame = pl.DataFrame(
        [
            {"date": p.assessed_at.isoformat(), "category": category, "value": value}
            for p in data.history
            for category, value in p.categories.items()
        ],
        schema={"date": pl.String, "category": pl.String, "value": pl.Float64},
    ).pipe(_weekly, ["value"], by=["category"])
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("category:N", title=None),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="orangered", domain=[0, 1])),
            tooltip=["date:T", "category:N", "value:Q"],
        )
        .properties(width=WIDTH, height=HEIGHT, title="Categories over time")
    )


def clock_history(data: ReportData) -> alt.LayerChart:
    """The reconstruction year by year against the Bulletin's settings and the held-out predictions."""
    rows = [
        {"year": r.year, "series": "JOSHUA reconstruction (calibrated clock)", "seconds": r.seconds_calibrated}
        for r in data.reconstruction
        if r.seconds_calibrated is not None
    ]
    if not rows:  # no fitted clock when the reconstruction ran: its linear reading
        rows = [
            {"year": r.year, "series": "JOSHUA reconstruction (linear mapping)", "seconds": r.seconds_linear}
            for r in data.reconstruction
            if r.seconds_linear is not None
        ]
    rows += [{"year": c.year, "series": "Bulletin setting", "seconds": c.bulletin_seconds} for c in data.calibration]
    rows += [{"year": c.year, "series": "leave-one-out prediction", "seconds": c.loo_seconds} for c in data.calibration]
    frame = pl.DataFrame(rows, schema={"year": pl.Int32, "series": pl.String, "seconds": pl.Int32})
    colours = alt.Scale(
        domain=[
            "JOSHUA reconstruction (calibrated clock)",
            "JOSHUA reconstruction (linear mapping)",
            "Bulletin setting",
            "leave-one-out prediction",
        ],
        range=["#b00020", "#b00020", "#212529", "#1c7ed6"],
    )
    base = alt.Chart(frame).encode(
        x=alt.X("year:Q", title=None, axis=alt.Axis(format="d"), scale=alt.Scale(domain=[1945, 2030])),
        y=alt.Y("seconds:Q", title="seconds to midnight", scale=alt.Scale(domain=[0, 1440])),
        color=alt.Color("series:N", scale=colours, title=None, legend=alt.Legend(orient="top")),
        tooltip=["year:Q", "series:N", "seconds:Q"],
    )
    line = base.transform_filter(alt.FieldOneOfPredicate("series", ["JOSHUA reconstruction (calibrated clock)", "JOSHUA reconstruction (linear mapping)"])).mark_line()
    bulletin = base.transform_filter(alt.datum.series == "Bulletin setting").mark_line(interpolate="step-after", point=True)
    loo = base.transform_filter(alt.datum.series == "leave-one-out prediction").mark_point(size=50, filled=False)
    return (line + bulletin + loo).properties(
        width=WIDTH, height=HEIGHT, title="Reconstruction 1947 onward against the Bulletin's Doomsday Clock"
    )


def all_charts(data: ReportData, risk: RiskSettings) -> dict[str, alt.TopLevelMixin]:
    """Every chart of a report, by file name (the clock history once there is one to draw)."""
    charts = {
        "risk_over_time": risk_over_time(data),
        "category_breakdown": category_breakdown(data),
        "top_factors": top_factors(data),
        "monte_carlo": monte_carlo(data, risk),
        "category_heatmap": category_heatmap(data),
    }
    if data.reconstruction or data.calibration:
        charts["clock_history"] = clock_history(data)
    return charts


def to_svg(chart: alt.TopLevelMixin) -> str:
    """A chart as SVG, rendered offline."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())


def write_charts(charts: dict[str, alt.TopLevelMixin], directory: Path, formats: tuple[str, ...] = ("svg",)) -> list[Path]:
    """Write charts as SVG and/or PNG files; returns the paths."""
    import vl_convert

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, chart in charts.items():
        spec = chart.to_json()
        if "svg" in formats:
            path = directory / f"{name}.svg"
            path.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8")
            written.append(path)
        if "png" in formats:
            path = directory / f"{name}.png"
            path.write_bytes(vl_convert.vegalite_to_png(spec, scale=2))
            written.append(path)
    return written
