"""Curated reference data (SIPRI warhead estimates, arms-control treaty status) and what it signals.

Two hand-curated CSV files in `data/reference/` (described in its README) are loaded and validated
here, and reduced to `ReferenceSignals` as of a date: figures with their sources, short facts for
the analyzers, and two pressures in [0, 1] that the heuristic analyzer blends into the
`nuclear_arsenal` and `communication_arms_control` categories.

Only what was public on `as_of` counts: a yearbook from its `published` date (the January 2025
estimates exist from June 2025), a treaty status from its `status_since` date.

Arsenal pressure, from the latest yearbook y and the one before it, p:

    g = T_y / T_p − 1                                    (global inventory, year on year)
    f = max_c max(0, (N_c,y − N_c,p) / max(N_c,p, ARSENAL_FLOOR)), at most GROWTH_CAP
    arsenal_pressure = clip(0.5 + GLOBAL_SCALE · g + FASTEST_SCALE · f, 0, 1)

0.5 is "elevated" on the analyzers' scale: some twelve thousand warheads with no trend. A global
change of ±10 % a year reaches 0 or 1 alone; the fastest-growing arsenal adds up to 0.25 (China's
+20 % in 2025 adds 0.10). The floor of 100 warheads in f keeps a small arsenal's few new warheads
(North Korea 30 → 50) from reading as the fastest growth in the world. With one yearbook only,
g = f = 0.

Arms-control pressure, over the key treaties (`KEY_TREATY_WEIGHTS`) that had been signed by as_of:

    L = Σ_t w_t · s(status_t) / Σ_t w_t
    arms_control_pressure = PEACETIME + (1 − PEACETIME) · L

with s = 0 in force, 0.5 not in force (never ratified into force), 0.75 suspended, 1 withdrawn or
expired (`STATUS_SEVERITY`). All key treaties in force gives the 0.25 peacetime anchor; all of
them gone gives 1. Before a treaty's first recorded status it counts as in force from its entry
into force and as not in force from its signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict

from joshua.errors import ConfigError
from schemas.records import Category

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
NUCLEAR_FORCES = REFERENCE_DIR / "nuclear_forces.csv"
ARMS_CONTROL_TREATIES = REFERENCE_DIR / "arms_control_treaties.csv"

FORCES_COLUMNS = ("country", "iso2", "year", "total_warheads", "source", "published")
TREATY_COLUMNS = (
    "treaty",
    "parties",
    "status",
    "status_since",
    "signed",
    "entered_into_force",
    "expires",
    "source",
    "source_date",
    "notes",
)
TREATY_DATES = ("status_since", "signed", "entered_into_force", "expires", "source_date")
REQUIRED_TREATY_DATES = ("status_since", "source_date")

# How far each status takes a treaty from doing its job (0 in force … 1 gone).
STATUS_SEVERITY = {"in_force": 0.0, "not_in_force": 0.5, "suspended": 0.75, "withdrawn": 1.0, "expired": 1.0}
STATUS_WORDS = {
    "in_force": "in force",
    "not_in_force": "not in force",
    "suspended": "suspended",
    "withdrawn": "withdrawn",
    "expired": "expired",
}
# The treaties that bear on nuclear risk, by how much (names as in the CSV's `treaty` column).
# TPNW and the regional zones bind no nuclear-armed state and are not counted.
KEY_TREATY_WEIGHTS: dict[str, float] = {
    "NPT": 3.0,
    "New START": 3.0,
    "INF Treaty": 2.0,
    "CTBT": 2.0,
    "ABM Treaty": 1.0,
    "Open Skies Treaty": 1.0,
    "JCPOA": 1.0,
    "CFE Treaty": 0.5,
}

PEACETIME = 0.25
NEUTRAL_ARSENAL = 0.5
GLOBAL_SCALE = 5.0
FASTEST_SCALE = 0.5
GROWTH_CAP = 0.5
ARSENAL_FLOOR = 100
CURATED_TREATIES = "JOSHUA's curated treaty table (UNODA, US State Department, Arms Control Association and others, per treaty)"


class CountryForces(BaseModel):
    """One country's inventory in the latest yearbook and its change on the one before."""

    model_config = ConfigDict(frozen=True)

    country: str
    iso2: str
    warheads: int
    previous: int | None = None
    change: float | None = None  # fraction, e.g. 0.2 for +20 %


class TreatyStatus(BaseModel):
    """A treaty's status on the as-of date, with its source."""

    model_config = ConfigDict(frozen=True)

    treaty: str
    parties: str | None = None
    status: str
    status_since: date
    weight: float  # 0 for a treaty outside KEY_TREATY_WEIGHTS
    source: str
    source_date: date
    notes: str | None = None


class ReferenceFact(BaseModel):
    """A short, sourced statement for an analyzer; `detail` adds caveats where a reader needs them."""

    model_config = ConfigDict(frozen=True)

    category: Category
    text: str
    source: str
    source_date: date
    detail: str | None = None


class ReferenceSignals(BaseModel):
    """What the reference data says on one date (formulas in the module docstring)."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    forces_year: int | None = None
    forces_source: str | None = None
    previous_year: int | None = None
    global_warheads: int | None = None
    global_change: float | None = None
    countries: list[CountryForces] = []
    fastest_growing: str | None = None
    fastest_growth: float | None = None
    treaties: list[TreatyStatus] = []
    key_treaties: int = 0
    key_not_in_force: list[str] = []
    share_not_in_force: float | None = None
    lapse_share: float | None = None
    arsenal_pressure: float | None = None
    arms_control_pressure: float | None = None
    facts: list[ReferenceFact] = []

    def pressure_for(self, category: Category) -> float | None:
        """The pressure the reference data puts on a category, or None when it says nothing."""
        if category == Category.NUCLEAR_ARSENAL:
            return self.arsenal_pressure
        if category == Category.COMMUNICATION_ARMS_CONTROL:
            return self.arms_control_pressure
        return None

    def facts_for(self, category: Category) -> list[ReferenceFact]:
        """The facts about one category, most general first."""
        return [fact for fact in self.facts if fact.category == category]


# Loading ----------------------------------------------------------------------------------------


def _read_csv(path: Path, required: tuple[str, ...], kind: str) -> pl.DataFrame:
    """A CSV file as strings (empty fields null), with at least one row and its required columns."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(f"cannot read {kind} file {path}: {exc}") from exc
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ConfigError(f"{kind} file {path} lacks column(s) {', '.join(missing)}")
    if frame.height == 0:
        raise ConfigError(f"{kind} file {path} has no rows")
    return frame


def _require_values(frame: pl.DataFrame, columns: tuple[str, ...], path: Path, kind: str) -> None:
    """ConfigError naming the first rows (1-based, after the header) that leave a column empty."""
    for column in columns:
        empty = frame.with_row_index("row", offset=1).filter(
            pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")
        )
        if empty.height:
            raise ConfigError(f"{kind} file {path}: empty {column} in row(s) {empty['row'].head(5).to_list()}")


def _cast(frame: pl.DataFrame, column: str, target: pl.Expr, path: Path, kind: str) -> pl.DataFrame:
    """Replace a string column by its typed value; ConfigError naming rows that do not parse."""
    typed = frame.with_columns(target.alias(column))
    unparsed = frame[column].is_not_null() & typed[column].is_null()
    bad = frame.with_row_index("row", offset=1).filter(unparsed)
    if bad.height:
        values = bad[column].head(3).to_list()
        raise ConfigError(f"{kind} file {path}: {column} {values} in row(s) {bad['row'].head(5).to_list()} does not parse")
    return typed


def _as_date(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)


def load_nuclear_forces(path: Path = NUCLEAR_FORCES) -> pl.DataFrame:
    """The warhead inventories file, typed and checked (one row per country and year, sourced)."""
    kind = "nuclear forces"
    frame = _read_csv(path, FORCES_COLUMNS, kind)
    _require_values(frame, FORCES_COLUMNS, path, kind)
    frame = _cast(frame, "year", pl.col("year").str.strip_chars().cast(pl.Int32, strict=False), path, kind)
    frame = _cast(frame, "total_warheads", pl.col("total_warheads").str.strip_chars().cast(pl.Int64, strict=False), path, kind)
    frame = _cast(frame, "published", _as_date("published"), path, kind)
    negative = frame.filter(pl.col("total_warheads") < 0)
    if negative.height:
        raise ConfigError(f"{kind} file {path}: negative total_warheads for {negative['country'].to_list()}")
    duplicates = frame.filter(pl.struct("country", "year").is_duplicated())
    if duplicates.height:
        pairs = sorted(set(zip(duplicates["country"], duplicates["year"], strict=True)))
        raise ConfigError(f"{kind} file {path}: more than one row for {pairs}")
    return frame


def load_treaties(path: Path = ARMS_CONTROL_TREATIES) -> pl.DataFrame:
    """The treaty-status file, typed and checked: one row per treaty and status period, sourced."""
    kind = "arms-control treaties"
    frame = _read_csv(path, TREATY_COLUMNS, kind)
    _require_values(frame, ("treaty", "status", *REQUIRED_TREATY_DATES, "source"), path, kind)
    bad = frame.filter(~pl.col("status").is_in(list(STATUS_SEVERITY)))
    if bad.height:
        found = sorted(set(bad["status"].to_list()))
        raise ConfigError(
            f"{kind} file {path}: unknown status {found} (treaties {bad['treaty'].to_list()}); "
            f"allowed: {', '.join(STATUS_SEVERITY)}"
        )
    for column in TREATY_DATES:
        frame = _cast(frame, column, _as_date(column), path, kind)
    duplicates = frame.filter(pl.struct("treaty", "status_since").is_duplicated())
    if duplicates.height:
        raise ConfigError(f"{kind} file {path}: two statuses from the same date for {sorted(set(duplicates['treaty']))}")
    return frame


# Signals ----------------------------------------------------------------------------------------


def forces_published_by(forces: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """The yearbook rows that were public on `as_of`."""
    return forces.filter(pl.col("published") <= as_of)


def treaty_status_at(treaties: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Each treaty's status on `as_of`: its latest recorded status, else inferred from its dates.

    A treaty with no status recorded by `as_of` is in force from its entry into force and not in
    force from its signature; before its signature it does not appear.
    """
    recorded = pl.col("status_since") <= as_of
    columns = ("status", "status_since", "parties", "source", "source_date", "notes")
    latest = {c: pl.col(c).filter(recorded).last() for c in columns}
    inferred_status = (
        pl.when(pl.col("entered_into_force") <= as_of)
        .then(pl.lit("in_force"))
        .when(pl.col("signed") <= as_of)
        .then(pl.lit("not_in_force"))
    )
    inferred_since = (
        pl.when(pl.col("entered_into_force") <= as_of)
        .then(pl.col("entered_into_force"))
        .when(pl.col("signed") <= as_of)
        .then(pl.col("signed"))
    )
    return (
        treaties.sort("status_since")
        .group_by("treaty", maintain_order=True)
        .agg(
            **{f"recorded_{c}": e for c, e in latest.items()},
            first_parties=pl.col("parties").first(),
            signed=pl.col("signed").first(),
            entered_into_force=pl.col("entered_into_force").first(),
            first_source=pl.col("source").first(),
            first_source_date=pl.col("source_date").first(),
        )
        .with_columns(
            status=pl.coalesce("recorded_status", inferred_status),
            status_since=pl.coalesce("recorded_status_since", inferred_since),
            parties=pl.coalesce("recorded_parties", "first_parties"),
            source=pl.coalesce("recorded_source", "first_source"),
            source_date=pl.coalesce("recorded_source_date", "first_source_date"),
            notes=pl.when(pl.col("recorded_status").is_not_null()).then(pl.col("recorded_notes")),
        )
        .filter(pl.col("status").is_not_null())
        .select("treaty", "parties", "status", "status_since", "source", "source_date", "notes")
    )


def _change(now: int, before: int | None) -> float | None:
    return None if not before else now / before - 1


def _percent(change: float) -> str:
    return f"{change:+.1%}".replace("%", " %")


def forces_signals(forces: pl.DataFrame, as_of: date) -> dict[str, object]:
    """The forces part of the signals: latest public yearbook, changes, arsenal pressure, facts."""
    known = forces.lazy().pipe(forces_published_by, as_of).collect()
    if known.height == 0:
        return {}
    year = int(known["year"].max())
    latest = known.filter(pl.col("year") == year)
    earlier = known.filter(pl.col("year") < year)
    previous_year = int(earlier["year"].max()) if earlier.height else None
    previous = earlier.filter(pl.col("year") == previous_year) if previous_year is not None else earlier
    before = dict(zip(previous["country"], previous["total_warheads"], strict=True))
    countries = [
        CountryForces(
            country=row["country"],
            iso2=row["iso2"],
            warheads=row["total_warheads"],
            previous=before.get(row["country"]),
            change=_change(row["total_warheads"], before.get(row["country"])),
        )
        for row in latest.sort(["total_warheads", "country"], descending=[True, False]).iter_rows(named=True)
    ]
    total = int(latest["total_warheads"].sum())
    previous_total = int(previous["total_warheads"].sum()) if previous_year is not None else None
    global_change = _change(total, previous_total)
    growth = {
        c.country: (c.warheads - c.previous) / max(c.previous, ARSENAL_FLOOR) for c in countries if c.previous is not None
    }
    fastest = max(growth, key=lambda country: (growth[country], country)) if growth else None
    f = min(max(growth[fastest], 0.0), GROWTH_CAP) if fastest else 0.0
    g = global_change or 0.0
    pressure = min(max(NEUTRAL_ARSENAL + GLOBAL_SCALE * g + FASTEST_SCALE * f, 0.0), 1.0)
    source = latest["source"].mode().sort()[0]  # the yearbook's own wording, not one row's caveat
    published = latest["published"].max()
    arsenal = Category.NUCLEAR_ARSENAL
    text = f"Global inventory {total:,} warheads in January {year}"
    if previous_total:
        text += f", {_percent(global_change)} on January {previous_year} ({previous_total:,})"
    facts = [
        ReferenceFact(
            category=arsenal,
            text=text,
            source=source,
            source_date=published,
            detail="SIPRI revises earlier estimates as information emerges, so a change between yearbooks mixes real change with revision.",
        )
    ]
    if fastest and growth[fastest] > 0:
        c = next(c for c in countries if c.country == fastest)
        facts.append(
            ReferenceFact(
                category=arsenal,
                text=f"Fastest-growing arsenal: {c.country}, {c.warheads:,} warheads, {c.warheads - c.previous:+,} ({_percent(c.change)}) on {previous_year}",
                source=source,
                source_date=published,
            )
        )
    by_country = ", ".join(
        f"{c.country} {c.warheads:,}" + (f" ({_percent(c.change)})" if c.change is not None else "") for c in countries
    )
    suffix = f" (change on {previous_year})" if previous_year is not None else ""
    facts.append(ReferenceFact(category=arsenal, text=f"By country, January {year}{suffix}: {by_country}", source=source, source_date=published))
    return {
        "forces_year": year,
        "forces_source": source,
        "previous_year": previous_year,
        "global_warheads": total,
        "global_change": global_change,
        "countries": countries,
        "fastest_growing": fastest,
        "fastest_growth": growth.get(fastest) if fastest else None,
        "arsenal_pressure": round(pressure, 4),
        "facts": facts,
    }


def treaty_signals(treaties: pl.DataFrame, as_of: date, key_weights: Mapping[str, float]) -> dict[str, object]:
    """The treaty part of the signals: statuses on as_of, lapse shares, arms-control pressure, facts."""
    rows = treaties.lazy().pipe(treaty_status_at, as_of).collect()
    statuses = [TreatyStatus(weight=key_weights.get(row["treaty"], 0.0), **row) for row in rows.iter_rows(named=True)]
    statuses.sort(key=lambda t: (-t.weight, t.treaty))
    key = [t for t in statuses if t.weight > 0]
    if not statuses:
        return {}
    control = Category.COMMUNICATION_ARMS_CONTROL
    facts = []
    result: dict[str, object] = {"treaties": statuses, "key_treaties": len(key)}
    if key:
        lapsed = [t for t in key if t.status != "in_force"]
        weight = sum(t.weight for t in key)
        lapse = sum(t.weight * STATUS_SEVERITY[t.status] for t in key) / weight
        result |= {
            "key_not_in_force": [t.treaty for t in lapsed],
            "share_not_in_force": len(lapsed) / len(key),
            "lapse_share": round(lapse, 4),
            "arms_control_pressure": round(PEACETIME + (1 - PEACETIME) * lapse, 4),
        }
        listing = ", ".join(f"{t.treaty} ({STATUS_WORDS[t.status]} since {t.status_since})" for t in lapsed)
        facts.append(
            ReferenceFact(
                category=control,
                text=f"{len(lapsed)} of {len(key)} key arms-control treaties not in force" + (f": {listing}" if lapsed else ""),
                source=CURATED_TREATIES,
                source_date=max(t.source_date for t in key),
            )
        )
    facts += [
        ReferenceFact(
            category=control,
            text=f"{t.treaty}{f' ({t.parties})' if t.parties else ''}: {STATUS_WORDS[t.status]} since {t.status_since}",
            source=t.source,
            source_date=t.source_date,
            detail=t.notes,
        )
        for t in statuses
    ]
    return result | {"facts": facts}


def reference_signals(
    forces: pl.DataFrame,
    treaties: pl.DataFrame,
    as_of: date,
    key_weights: Mapping[str, float] = KEY_TREATY_WEIGHTS,
) -> ReferenceSignals:
    """What the reference data says on `as_of` (formulas in the module docstring)."""
    arsenal = forces_signals(forces, as_of)
    control = treaty_signals(treaties, as_of, key_weights)
    facts = [*arsenal.pop("facts", []), *control.pop("facts", [])]
    return ReferenceSignals(as_of=as_of, **arsenal, **control, facts=facts)


def load_reference(
    as_of: date, forces_path: Path = NUCLEAR_FORCES, treaties_path: Path = ARMS_CONTROL_TREATIES
) -> ReferenceSignals:
    """Read both reference files and reduce them to the signals of `as_of` (the I/O edge)."""
    return reference_signals(load_nuclear_forces(forces_path), load_treaties(treaties_path), as_of)
