"""Trend views of the history: a period's slice and its statistics."""

from __future__ import annotations

from datetime import timedelta

from joshua.errors import ConfigError
from joshua.history import RELATIVE, DAYS_PER_UNIT
from joshua.reporting.data import ReportData
from joshua.risk.trend import cusum_change_points, mann_kendall
from schemas.records import Category


def restrict(data: ReportData, period: str, categories: list[str]) -> ReportData:
    """The report data with its history cut to a period (7d, 30d, 90d, 1y, all) and chosen categories."""
    unknown = sorted(set(categories) - {c.value for c in Category})
    if unknown:
        raise ConfigError(f"unknown categories {unknown}; choose from {', '.join(c.value for c in Category)}")
    history = data.history
    if period != "all":
        match = RELATIVE.match(period)
        if match is None:
            raise ConfigError(f"period {period!r} is not one of 7d, 30d, 90d, 1y, all")
        start = data.assessment.assessed_at - timedelta(days=int(match.group(1)) * DAYS_PER_UNIT[match.group(2)])
        history = [p for p in history if p.assessed_at >= start]
    if categories:
        history = [p.model_copy(update={"categories": {c: v for c, v in p.categories.items() if c in categories}}) for p in history]
    return data.model_copy(update={"history": history})


def trend_statistics(data: ReportData) -> list[tuple[str, str]]:
    """(name, value) lines: the period's trend test, slope, change points, averages, category trends."""
    seconds = [p.seconds for p in data.history]
    test = mann_kendall(seconds, window=None)  # the whole chosen period
    lines = [("assessments in the period", str(len(seconds)))]
    if test is None:
        lines.append(("trend", "insufficient (fewer than three assessments)"))
    else:
        direction = "rising (toward midnight)" if test.significant and test.tau < 0 else (
            "falling" if test.significant else "stable"
        )
        lines += [
            ("trend", direction),
            ("Mann–Kendall", f"tau {test.tau:+.3f}, p {test.p_value:.4f}"),
            ("Sen's slope", f"{test.slope:+.2f} seconds per assessment"),
        ]
    points = cusum_change_points(seconds)
    lines.append(("CUSUM change points", ", ".join(f"#{p.index} {p.direction}" for p in points) or "none"))
    for days in (30, 90, 365):
        value = data.average(days)
        lines.append((f"{days}-day average", "n/a" if value is None else f"{value:.0f} s"))
    categories = sorted({c for p in data.history for c in p.categories})
    lines += [(f"trend of {c}", data.category_trend(c)) for c in categories]
    return lines
