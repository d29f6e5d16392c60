"""The historical record behind the structural analyzer, loaded from `data/reference/history/`.

Copies of the project's historical indicator files (README there: sources, caveats) plus two
files JOSHUA derives from them: `treaty_events.csv` (each treaty's dated status changes, quoted
from `arms_control_treaties.csv`) and `crisis_kinds.csv` (which kind of event each crisis was).

Dates are read conservatively, so an as-of date never sees an event before it could be known:
`YYYY-MM` is the last day of that month and `YYYY` the last day of that year; a yearly indicator
labelled Y is known from 31 December Y.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl

from joshua.errors import ConfigError

HISTORY_DIR = Path(__file__).resolve().parents[2] / "data" / "reference" / "history"
CRISIS_KINDS = ("confrontation", "false_alarm", "posture", "nuclear_safety")
T = TypeVar("T")
TREATY_EVENTS = ("signed", "in_force", "suspended", "withdrawal_notice", "ended")


@dataclass(frozen=True)
class YearRow:
    """One year's indicators (known from 31 December of that year)."""

    year: int
    world_inventory: int  # FAS total inventory, retired warheads included
    military_stockpiles: int  # sum of the states' military stockpiles
    armed_states: int
    tests: int | None  # None where no yearly count exists (2020 on)


@dataclass(frozen=True)
class TreatyEvent:
    """A dated change of a treaty's status; `shock` weighs how much the change hurt (0..1)."""

    treaty: str
    on: date
    event: str
    shock: float


@dataclass(frozen=True)
class Crisis:
    """A crisis with its compiler-assigned severity (1..5) and kind; `end` None while ongoing."""

    name: str
    start: date
    end: date | None
    severity: int
    kind: str


@dataclass(frozen=True)
class HistoricalRecord:
    """Everything the structural analyzer reads."""

    years: tuple[YearRow, ...]
    treaty_events: tuple[TreatyEvent, ...]
    crises: tuple[Crisis, ...]
    first_tests: tuple[date, ...]


@dataclass(frozen=True)
class BulletinSetting:
    """One Doomsday Clock setting and the day it was announced (1 January where unknown)."""

    year: int
    seconds: int
    announced: date


def parse_known_date(text: str) -> date:
    """The day a `YYYY-MM-DD`, `YYYY-MM` or `YYYY` date is certainly past (end of the period)."""
    parts = [int(p) for p in text.strip().split("-")]
    if len(parts) == 3:
        return date(*parts)
    if len(parts) == 2:
        return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    if len(parts) == 1:
        return date(parts[0], 12, 31)
    raise ValueError(text)


def _first_day(text: str) -> date:
    """The first day a `YYYY-MM-DD` or `YYYY-MM` announcement date can mean (a setting is paired
    with the day before it, so the earliest reading keeps later events out)."""
    return date.fromisoformat(text if len(text.strip()) == 10 else f"{text.strip()}-01")


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str | None]]:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"cannot read history file {path}: {exc}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"history file {path} lacks column(s) {', '.join(missing)}")
    return frame.select(columns).to_dicts()


def _field(path: Path, row: int, column: str, parse: Callable[[str], T], value: str | None) -> T:
    """`parse(value)`, or ConfigError naming the file, row and column."""
    try:
        return parse(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"history file {path}: row {row} has an unusable {column} {value!r}") from None


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _load_years(directory: Path) -> tuple[YearRow, ...]:
    warheads = directory / "warheads_by_year.csv"
    states = directory / "nuclear_states_by_year.csv"
    by_year = {
        _field(states, i, "year", int, r["year"]): (
            _field(states, i, "states_with_warheads_fas", _non_negative, r["states_with_warheads_fas"]),
            _field(states, i, "tests_total_aca", _non_negative, r["tests_total_aca"]) if r["tests_total_aca"] else None,
        )
        for i, r in enumerate(_read(states, ("year", "states_with_warheads_fas", "tests_total_aca")), 1)
    }
    years = []
    for i, r in enumerate(_read(warheads, ("year", "world_total_inventory", "sum_country_stockpiles")), 1):
        year = _field(warheads, i, "year", int, r["year"])
        if year not in by_year:
            raise ConfigError(f"history file {states}: no row for {year}")
        inventory = _field(warheads, i, "world_total_inventory", _non_negative, r["world_total_inventory"])
        stockpiles = _field(warheads, i, "sum_country_stockpiles", _non_negative, r["sum_country_stockpiles"])
        years.append(YearRow(year, inventory, stockpiles, *by_year[year]))
    return tuple(sorted(years, key=lambda y: y.year))


def _load_treaty_events(path: Path) -> tuple[TreatyEvent, ...]:
    events = []
    for i, r in enumerate(_read(path, ("short_name", "date", "event", "shock")), 1):
        if r["event"] not in TREATY_EVENTS:
            raise ConfigError(f"history file {path}: row {i} has an unknown event {r['event']!r}")
        shock = _field(path, i, "shock", float, r["shock"])
        if not 0 <= shock <= 1:
            raise ConfigError(f"history file {path}: row {i} has a shock outside 0..1")
        events.append(TreatyEvent(str(r["short_name"]), _field(path, i, "date", parse_known_date, r["date"]), str(r["event"]), shock))
    return tuple(events)


def _load_crises(path: Path, kinds_path: Path) -> tuple[Crisis, ...]:
    kinds = {r["name"]: r["kind"] for r in _read(kinds_path, ("name", "kind"))}
    crises = []
    for i, r in enumerate(_read(path, ("name", "start_date", "end_date", "severity_1to5")), 1):
        kind = kinds.get(r["name"])
        if kind not in CRISIS_KINDS:
            raise ConfigError(f"history file {kinds_path}: no known kind for crisis {r['name']!r}")
        severity = _field(path, i, "severity_1to5", int, r["severity_1to5"])
        if not 1 <= severity <= 5:
            raise ConfigError(f"history file {path}: row {i} has a severity outside 1..5")
        start = _field(path, i, "start_date", parse_known_date, r["start_date"])
        end = _field(path, i, "end_date", parse_known_date, r["end_date"]) if r["end_date"] else None
        crises.append(Crisis(str(r["name"]), start, end, severity, str(kind)))
    return tuple(crises)


def load_record(directory: Path = HISTORY_DIR) -> HistoricalRecord:
    """Load and validate the record; ConfigError naming the file and row of any bad value."""
    tests_path = directory / "nuclear_first_tests.csv"
    first_tests = sorted(
        _field(tests_path, i, "first_test_date", parse_known_date, r["first_test_date"])
        for i, r in enumerate(_read(tests_path, ("first_test_date",)), 1)
        if r["first_test_date"]
    )
    return HistoricalRecord(
        years=_load_years(directory),
        treaty_events=_load_treaty_events(directory / "treaty_events.csv"),
        crises=_load_crises(directory / "crises.csv", directory / "crisis_kinds.csv"),
        first_tests=tuple(first_tests),
    )


def load_bulletin_settings(path: Path = HISTORY_DIR / "doomsday_clock_history.csv") -> list[BulletinSetting]:
    """The Bulletin's settings; a blank `announced` is 1 January of the year (issue 16)."""
    settings = []
    for i, r in enumerate(_read(path, ("year", "seconds", "announced")), 1):
        year = _field(path, i, "year", int, r["year"])
        announced = _field(path, i, "announced", _first_day, r["announced"]) if r["announced"] else date(year, 1, 1)
        settings.append(BulletinSetting(year, _field(path, i, "seconds", int, r["seconds"]), announced))
    return settings
