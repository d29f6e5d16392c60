"""The Doomsday Clock: SVG (and PNG from it) with the minute hand the right distance before midnight,
and an ASCII version for the terminal."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

BAND_COLOURS = {
    "critical": "#b00020",
    "severe": "#d9480f",
    "high": "#f08c00",
    "moderate": "#e6b800",
    "low": "#2b8a3e",
    "minimal": "#1971c2",
}
SIZE = 400


def hand_angle(seconds: int) -> float:
    """Degrees clockwise from 12 of a minute hand `seconds` before midnight (one turn is an hour)."""
    return 360.0 - (seconds / 3600.0) * 360.0 if seconds else 0.0


def clock_svg(seconds: int, band: str) -> str:
    """An SVG clock face: the top quarter lit, the minute hand at `seconds` before midnight."""
    colour = BAND_COLOURS.get(band, "#495057")
    c, r = SIZE / 2, SIZE / 2 - 20
    ticks = []
    for minute in range(60):
        angle = math.radians(minute * 6)
        inner = r - (18 if minute % 5 == 0 else 8)
        x1, y1 = c + inner * math.sin(angle), c - inner * math.cos(angle)
        x2, y2 = c + r * math.sin(angle), c - r * math.cos(angle)
        width = 4 if minute % 5 == 0 else 1.5
        ticks.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#212529" stroke-width="{width}"/>')
    quarter_start = (c + r * math.sin(math.radians(270)), c - r * math.cos(math.radians(270)))
    wedge = (
        f'<path d="M {c} {c} L {quarter_start[0]:.1f} {quarter_start[1]:.1f} A {r} {r} 0 0 1 {c} {c - r} Z" '
        f'fill="{colour}" fill-opacity="0.15"/>'
    )
    angle = math.radians(hand_angle(seconds))
    minute_len, hour_len = r * 0.85, r * 0.55
    mx, my = c + minute_len * math.sin(angle), c - minute_len * math.cos(angle)
    # The hour hand sits just before 12 as well: `seconds` before midnight is seconds/43200 of a turn back.
    hour_angle = math.radians(360.0 - seconds / 43200.0 * 360.0)
    hx, hy = c + hour_len * math.sin(hour_angle), c - hour_len * math.cos(hour_angle)
    label = f"{seconds} seconds to midnight"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE + 50}" viewBox="0 0 {SIZE} {SIZE + 50}" '
        f'role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)} (band {escape(band)})</title>"
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<circle cx="{c}" cy="{c}" r="{r}" fill="#f8f9fa" stroke="#212529" stroke-width="6"/>'
        f"{wedge}{''.join(ticks)}"
        f'<line x1="{c}" y1="{c}" x2="{hx:.1f}" y2="{hy:.1f}" stroke="#212529" stroke-width="10" stroke-linecap="round"/>'
        f'<line x1="{c}" y1="{c}" x2="{mx:.1f}" y2="{my:.1f}" stroke="{colour}" stroke-width="6" stroke-linecap="round" '
        f'data-angle="{hand_angle(seconds):.2f}"/>'
        f'<circle cx="{c}" cy="{c}" r="9" fill="#212529"/>'
        f'<text x="{c}" y="{SIZE + 30}" text-anchor="middle" font-family="sans-serif" font-size="24" '
        f'fill="{colour}" font-weight="bold">{escape(label)}</text>'
        "</svg>"
    )


def write_clock(seconds: int, band: str, directory: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write the clock as `clock.svg` and/or `clock.png`; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if "svg" in formats:
        written.append(directory / "clock.svg")
        written[-1].write_text(clock_svg(seconds, band), encoding="utf-8")
    if "png" in formats:
        from joshua.reporting.charts import svg_to_png

        written.append(directory / "clock.png")
        written[-1].write_bytes(svg_to_png(clock_svg(seconds, band)))
    return written


def clock_ascii(seconds: int, band: str) -> str:
    """A terminal clock: the last quarter hour before midnight, the hand as a marker on the dial."""
    width = 45  # one column per 20 seconds of the last 15 minutes
    marker = max(0, width - 1 - min(width - 1, seconds // 20))
    dial = ["-"] * width
    dial[marker] = "V"
    position = "off this dial" if seconds >= 900 else f"{seconds // 60}:{seconds % 60:02d} before midnight"
    return "\n".join(
        [
            "  11:45" + " " * (width - 10) + "12:00",
            "  |" + "".join(dial) + "|",
            f"  {seconds} seconds to midnight ({position}), band {band.upper()}",
        ]
    )
