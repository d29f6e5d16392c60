"""The report's charts, drawn directly as SVG (PNG on request, converted from the SVG).

Five fixed charts need axes, bars, a line, a band, a heat map and a few markers: a few dozen lines
of SVG each. Drawing them here costs nothing at import; a Vega-Lite stack (altair plus
vl-convert's embedded JavaScript engine) cost seconds and about 150 MB per process. Every text
that comes from data is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np
import polars as pl

from joshua.reporting.data import ReportData
from joshua.settings import RiskSettings

WIDTH, HEIGHT = 640, 260  # the plot area; margins hold the title, axes and labels
LEFT, TOP, RIGHT, BOTTOM = 190, 34, 44, 36
MAX_POINTS = 400  # longer timelines are drawn as weekly means
INK, GRID, FONT = "#212529", "#dee2e6", 'font-family="sans-serif" font-size="11"'
# The "orangered" sequential scheme, from 0 (pale) to 1 (deep red).
HEAT = ((255, 245, 235), (253, 174, 107), (241, 105, 19), (166, 54, 3))


def _weekly(frame: pl.DataFrame, columns: list[str], by: list[str] | None = None) -> pl.DataFrame:
    """Weekly means of a long timeline (a chart of thousands of marks reads no better)."""
    if frame.height <= MAX_POINTS:
        return frame
    return frame.sort("date").group_by_dynamic("date", every="1w", group_by=by).agg([pl.col(c).mean() for c in columns])


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def _padded(low: float, high: float) -> tuple[float, float]:
    """A non-empty range around [low, high]."""
    if high > low:
        return low, high
    pad = abs(low) * 0.05 or 1.0
    return low - pad, high + pad


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.2e}"


class Plot:
    """One chart: linear scales onto the plot area and the SVG elements drawn so far."""

    def __init__(self, title: str, x: tuple[float, float], y: tuple[float, float]):
        self.title = title
        self.x0, self.x1 = _padded(*x)
        self.y0, self.y1 = _padded(*y)
        self.parts: list[str] = []

    def sx(self, value: float) -> float:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * WIDTH

    def sy(self, value: float) -> float:
        return TOP + HEIGHT - (value - self.y0) / (self.y1 - self.y0) * HEIGHT

    def add(self, element: str) -> None:
        self.parts.append(element)

    def x_axis(self, ticks: Sequence[tuple[float, str]], title: str | None = None) -> None:
        base = TOP + HEIGHT
        self.add(f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + WIDTH}" y2="{base}" stroke="{INK}"/>')
        for value, text in ticks:
            x = self.sx(value)
            self.add(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{base}" stroke="{GRID}"/>')
            self.add(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="middle" {FONT}>{escape(text)}</text>')
        if title:
            self.add(f'<text x="{LEFT + WIDTH / 2}" y="{base + 30}" text-anchor="middle" {FONT}>{escape(title)}</text>')

    def y_axis(self, ticks: Sequence[tuple[float, str]], title: str | None = None) -> None:
        self.add(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + HEIGHT}" stroke="{INK}"/>')
        for value, text in ticks:
            y = self.sy(value)
            self.add(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + WIDTH}" y2="{y:.1f}" stroke="{GRID}"/>')
            self.add(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{escape(text)}</text>')
        if title:
            x, y = LEFT - 48, TOP + HEIGHT / 2
            self.add(f'<text x="{x}" y="{y}" text-anchor="middle" transform="rotate(-90 {x} {y})" {FONT}>{escape(title)}</text>')

    def svg(self) -> str:
        width, height = LEFT + WIDTH + RIGHT, TOP + HEIGHT + BOTTOM
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{escape(self.title)}"><title>{escape(self.title)}</title>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>'
            f'<text x="{LEFT}" y="20" font-family="sans-serif" font-size="14" font-weight="bold">{escape(self.title)}</text>'
            + "".join(self.parts)
            + "</svg>"
        )


def _time_axis(plot: Plot, times: Sequence[float]) -> None:
    """Date labels along the x axis (times in epoch seconds)."""
    if not times:
        plot.x_axis([])
        return
    low, high = plot.x0, plot.x1
    ticks = [low + (high - low) * i / 4 for i in range(5)] if high > low else [low]
    plot.x_axis([(t, f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d}") for t in ticks])


def _value_ticks(low: float, high: float) -> list[tuple[float, str]]:
    return [(tick, _label(tick)) for tick in nice_ticks(low, high)]


def _bars(plot: Plot, rows: list[tuple[str, float]], colour: str) -> None:
    """Horizontal bars from 0, one band per row (labels on the y axis)."""
    band = HEIGHT / max(1, len(rows))
    for index, (label, value) in enumerate(rows):
        top = TOP + index * band + band * 0.1
        x0, x1 = sorted((plot.sx(0.0), plot.sx(value)))
        plot.add(
            f'<rect x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{band * 0.8:.1f}" fill="{colour}">'
            f"<title>{escape(label)}: {value:.4g}</title></rect>"
        )
        plot.add(
            f'<text x="{LEFT - 6}" y="{top + band * 0.4 + 4:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>'
        )
    plot.add(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + HEIGHT}" stroke="{INK}"/>')


def risk_over_time(data: ReportData) -> str:
    """Seconds to midnight over time with the 95 % interval band and alert markers."""
    frame = pl.DataFrame(
        [
            {
                "date": p.assessed_at,
                "seconds": float(p.seconds),
                "low": float(p.ci_seconds_low if p.ci_seconds_low is not None else p.seconds),
                "high": float(p.ci_seconds_high if p.ci_seconds_high is not None else p.seconds),
                "alerts": float(p.alerts),
            }
            for p in data.history
        ],
        schema={"date": pl.Datetime("us", "UTC"), "seconds": pl.Float64, "low": pl.Float64, "high": pl.Float64, "alerts": pl.Float64},
    ).pipe(_weekly, ["seconds", "low", "high", "alerts"])
    times = [t.timestamp() for t in frame["date"]]
    low, high = (frame["low"].min(), frame["high"].max()) if frame.height else (0.0, 1.0)
    plot = Plot("Risk over time", (min(times, default=0.0), max(times, default=1.0)), (low, high))
    plot.y_axis(_value_ticks(plot.y0, plot.y1), "seconds to midnight")
    _time_axis(plot, times)
    if frame.height:
        upper = [f"{plot.sx(t):.1f},{plot.sy(v):.1f}" for t, v in zip(times, frame["high"], strict=True)]
        lower = [f"{plot.sx(t):.1f},{plot.sy(v):.1f}" for t, v in zip(times, frame["low"], strict=True)]
        plot.add(f'<polygon points="{" ".join(upper + lower[::-1])}" fill="#f08c00" fill-opacity="0.2"/>')
        line = [f"{plot.sx(t):.1f},{plot.sy(v):.1f}" for t, v in zip(times, frame["seconds"], strict=True)]
        plot.add(f'<polyline points="{" ".join(line)}" fill="none" stroke="#b00020" stroke-width="2"/>')
        for t, seconds, alerts, date in zip(times, frame["seconds"], frame["alerts"], frame["date"], strict=True):
            x, y = plot.sx(t), plot.sy(seconds)
            tip = f"<title>{date:%Y-%m-%d %H:%M}: {seconds:.0f} s</title>"
            if frame.height <= 60:
                plot.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#b00020">{tip}</circle>')
            if alerts > 0:
                plot.add(
                    f'<path d="M {x:.1f} {y - 9:.1f} L {x + 6:.1f} {y + 2:.1f} L {x - 6:.1f} {y + 2:.1f} Z" fill="{INK}">'
                    f"<title>{date:%Y-%m-%d}: {alerts:g} alert(s)</title></path>"
                )
    return plot.svg()


def category_breakdown(data: ReportData) -> str:
    """Each category's contribution to the score, largest first."""
    rows = sorted(((f.rating.category.value, f.contribution) for f in data.assessment.factors), key=lambda r: -r[1])
    values = [value for _, value in rows]
    plot = Plot("Category breakdown", (min(0.0, *values), max(0.0, *values)), (0.0, 1.0))
    plot.x_axis(_value_ticks(plot.x0, plot.x1), "contribution to the score")
    _bars(plot, rows, "#d9480f")
    return plot.svg()


def top_factors(data: ReportData) -> str:
    """The ten largest factor contributions, by rank, on the 0–1 factor scale."""
    factors = sorted(data.assessment.factors[:10], key=lambda f: f.rank)
    rows = [(f"{f.rating.category.value}/{f.rating.name}", f.rating.value) for f in factors]
    plot = Plot("Top factors", (0.0, 1.0), (0.0, 1.0))
    plot.x_axis(_value_ticks(0.0, 1.0), "factor value (0 no risk … 1 imminent)")
    _bars(plot, rows, "#b00020")
    return plot.svg()


def monte_carlo(data: ReportData, risk: RiskSettings) -> str:
    """The distribution of the score over the Monte Carlo draws, with the 95 % interval marked."""
    counts, edges = np.histogram(data.score_draws(risk), bins=40)
    a = data.assessment
    plot = Plot("Monte Carlo distribution of the score", (float(edges[0]), float(edges[-1])), (0.0, float(counts.max())))
    plot.y_axis(_value_ticks(0.0, plot.y1), "draws")
    plot.x_axis(_value_ticks(plot.x0, plot.x1), "score")
    for count, start, end in zip(counts, edges[:-1], edges[1:], strict=True):
        x0, x1, y = plot.sx(float(start)), plot.sx(float(end)), plot.sy(float(count))
        plot.add(
            f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" height="{TOP + HEIGHT - y:.1f}" '
            f'fill="#495057"><title>{start:.4f}–{end:.4f}: {count} draws</title></rect>'
        )
    for value, label in ((a.ci_low, "2.5 %"), (a.ci_high, "97.5 %")):
        x = plot.sx(value)
        plot.add(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + HEIGHT}" stroke="#b00020" stroke-dasharray="4 4">'
            f"<title>{label}: {value:.4f}</title></line>"
        )
    return plot.svg()


def heat_colour(value: float) -> str:
    """The heat-map colour of a value in [0, 1] (clamped)."""
    position = min(max(value, 0.0), 1.0) * (len(HEAT) - 1)
    index = min(int(position), len(HEAT) - 2)
    share = position - index
    rgb = [round(a + (b - a) * share) for a, b in zip(HEAT[index], HEAT[index + 1], strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def category_heatmap(data: ReportData) -> str:
    """Category values over time."""
    frame = pl.DataFrame(
        [
            {"date": p.assessed_at, "category": category, "value": value}
            for p in data.history
            for category, value in p.categories.items()
        ],
        schema={"date": pl.Datetime("us", "UTC"), "category": pl.String, "value": pl.Float64},
    ).pipe(_weekly, ["value"], by=["category"]).select("date", "category", "value")  # weekly means put `category` first
    dates = sorted(set(frame["date"]))
    categories = sorted(set(frame["category"]))
    plot = Plot("Categories over time", (0.0, float(WIDTH)), (0.0, 1.0))  # x in pixels: one column a date
    cell_w, cell_h = WIDTH / max(1, len(dates)), HEIGHT / max(1, len(categories))
    columns = {date: index for index, date in enumerate(dates)}
    rows = {category: index for index, category in enumerate(categories)}
    for category, row in rows.items():
        y = TOP + row * cell_h + cell_h / 2 + 4
        plot.add(f'<text x="{LEFT - 6}" y="{y:.1f}" text-anchor="end" {FONT}>{escape(category)}</text>')
    for date, category, value in frame.iter_rows():
        x, y = LEFT + columns[date] * cell_w, TOP + rows[category] * cell_h
        plot.add(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" fill="{heat_colour(value)}">'
            f"<title>{escape(category)} {date:%Y-%m-%d}: {value:.2f}</title></rect>"
        )
    step = max(1, len(dates) // 5)
    plot.x_axis([((i + 0.5) * cell_w, f"{dates[i]:%Y-%m-%d}") for i in range(0, len(dates), step)])
    return plot.svg()


def clock_series(calibrated: bool) -> tuple[tuple[str, str], ...]:
    """The clock history's legend: which readings are in sample and which out of sample."""
    reconstruction = "reconstruction, calibrated (in sample)" if calibrated else "reconstruction, linear mapping"
    return (("Bulletin setting", INK), (reconstruction, "#b00020"), ("held out: leave-one-out (out of sample)", "#1c7ed6"))


def clock_history(data: ReportData) -> str:
    """The reconstruction year by year (the calibrated clock's reading, else the linear one)
    against the Bulletin's settings (a step line) and the clock's held-out predictions. The
    calibrated reconstruction is in sample (the clock was fitted on every setting, that year's
    included); only the leave-one-out predictions are out of sample, and the legend says so."""
    calibrated = [(r.year, r.seconds_calibrated) for r in data.reconstruction if r.seconds_calibrated is not None]
    reconstruction = calibrated or [(r.year, r.seconds_linear) for r in data.reconstruction if r.seconds_linear is not None]
    settings = [(c.year, c.bulletin_seconds) for c in data.calibration]
    held_out = [(c.year, c.loo_seconds) for c in data.calibration]
    years = [year for year, _ in (*reconstruction, *settings)]
    span = (min(years, default=1945), max(years, default=2026))
    plot = Plot("Reconstruction against the Bulletin's Doomsday Clock", span, (0.0, 1440.0))
    plot.y_axis(_value_ticks(0.0, 1440.0), "seconds to midnight")
    plot.x_axis([(year, str(int(year))) for year in nice_ticks(plot.x0, plot.x1)])
    if reconstruction:
        line = " ".join(f"{plot.sx(y):.1f},{plot.sy(s):.1f}" for y, s in reconstruction)
        plot.add(f'<polyline points="{line}" fill="none" stroke="#b00020" stroke-width="2"/>')
    if settings:  # the Bulletin's setting holds until the next one
        ends = [year for year, _ in settings[1:]] + [plot.x1]
        steps = [(at, seconds) for (year, seconds), end in zip(settings, ends, strict=True) for at in (year, end)]
        line = " ".join(f"{plot.sx(y):.1f},{plot.sy(s):.1f}" for y, s in steps)
        plot.add(f'<polyline points="{line}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
        for year, seconds in settings:
            plot.add(
                f'<circle cx="{plot.sx(year):.1f}" cy="{plot.sy(seconds):.1f}" r="3" fill="{INK}">'
                f"<title>Bulletin {year}: {seconds} s</title></circle>"
            )
    for year, seconds in held_out:
        plot.add(
            f'<circle cx="{plot.sx(year):.1f}" cy="{plot.sy(seconds):.1f}" r="4" fill="none" stroke="#1c7ed6" stroke-width="1.5">'
            f"<title>{year} held out (leave-one-out, out of sample): {seconds} s</title></circle>"
        )
    for index, (name, colour) in enumerate(clock_series(bool(calibrated))):
        y = TOP + 12 + index * 14
        plot.add(f'<rect x="{LEFT - 150}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        plot.add(f'<text x="{LEFT - 136}" y="{y + 1}" {FONT}>{escape(name)}</text>')
    return plot.svg()


def all_charts(data: ReportData, risk: RiskSettings) -> dict[str, str]:
    """Every chart of a report as SVG, by file name (the clock history once there is one to draw)."""
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


def svg_to_png(svg: str, scale: float = 2) -> bytes:
    """An SVG rendered to PNG (vl-convert's SVG renderer, loaded only when a PNG is asked for)."""
    import vl_convert

    return vl_convert.svg_to_png(svg, scale=scale)


def write_charts(charts: dict[str, str], directory: Path, formats: tuple[str, ...] = ("svg",)) -> list[Path]:
    """Write charts (SVG markup by name) as SVG and/or PNG files; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, svg in charts.items():
        if "svg" in formats:
            written.append(directory / f"{name}.svg")
            written[-1].write_text(svg, encoding="utf-8")
        if "png" in formats:
            written.append(directory / f"{name}.png")
            written[-1].write_bytes(svg_to_png(svg))
    return written
