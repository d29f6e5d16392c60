"""Reference data: loaders, known-answer signals on small synthetic files, and the shipped files."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from joshua.analyze.prompt import reference_block, system_blocks
from joshua.errors import ConfigError
from joshua.reference import (
    ARMS_CONTROL_TREATIES,
    KEY_TREATY_WEIGHTS,
    NUCLEAR_FORCES,
    STATUS_SEVERITY,
    load_nuclear_forces,
    load_reference,
    load_treaties,
    reference_signals,
)
from schemas.records import Category

FORCES_HEADER = "country,iso2,year,total_warheads,source,published"
TREATY_HEADER = "treaty,parties,status,status_since,signed,entered_into_force,expires,source,source_date,notes"


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def forces_file(tmp_path: Path, rows: list[str] | None = None) -> Path:
    rows = rows or [
        "Alpha,AA,2024,1000,Yearbook 2024,2024-06-17",
        "Beta,BB,2024,50,Yearbook 2024,2024-06-17",
        "Gamma,GG,2024,200,Yearbook 2024,2024-06-17",
        "Alpha,AA,2025,900,Yearbook 2025,2025-06-16",
        "Beta,BB,2025,70,Yearbook 2025,2025-06-16",
        "Gamma,GG,2025,230,Yearbook 2025,2025-06-16",
    ]
    return write(tmp_path, "forces.csv", FORCES_HEADER, rows)


def treaties_file(tmp_path: Path, rows: list[str] | None = None) -> Path:
    rows = rows or [
        "Big,A; B,in_force,2000-01-01,1999-01-01,2000-01-01,,Registry,2026-01-01,",
        "Pair,A; B,suspended,2023-02-21,2010-04-08,2011-02-05,2026-02-05,Ministry,2026-01-01,Contested",
        "Pair,A; B,expired,2026-02-05,2010-04-08,2011-02-05,2026-02-05,Ministry,2026-02-06,",
        "Ban,many,not_in_force,1996-09-24,1996-09-24,,,Registry,2026-01-01,",
        "Zone,region,in_force,2009-07-15,1996-04-11,2009-07-15,,Registry,2026-01-01,",
    ]
    return write(tmp_path, "treaties.csv", TREATY_HEADER, rows)


WEIGHTS = {"Big": 2.0, "Pair": 1.0, "Ban": 1.0}


def signals(tmp_path: Path, as_of: date, **files):
    forces = load_nuclear_forces(files.get("forces") or forces_file(tmp_path))
    treaties = load_treaties(files.get("treaties") or treaties_file(tmp_path))
    return reference_signals(forces, treaties, as_of, WEIGHTS)


# Loaders -----------------------------------------------------------------------------------------


def test_loaders_type_good_files(tmp_path):
    forces = load_nuclear_forces(forces_file(tmp_path))
    assert forces.height == 6
    assert forces.schema["year"] == pl.Int32 and forces.schema["total_warheads"] == pl.Int64
    assert forces.schema["published"] == pl.Date
    treaties = load_treaties(treaties_file(tmp_path))
    assert treaties.height == 5
    assert all(treaties.schema[c] == pl.Date for c in ("status_since", "signed", "entered_into_force", "expires", "source_date"))
    assert treaties.filter(pl.col("treaty") == "Ban")["entered_into_force"].to_list() == [None]


def test_missing_column_is_a_config_error_naming_file_and_column(tmp_path):
    path = write(tmp_path, "forces.csv", "country,iso2,year,source,published", ["Alpha,AA,2025,Y,2025-06-16"])
    with pytest.raises(ConfigError, match=r"forces\.csv lacks column\(s\) total_warheads"):
        load_nuclear_forces(path)
    path = write(tmp_path, "treaties.csv", TREATY_HEADER.replace(",source_date", ""), ["Big,A,in_force,2000-01-01,,,,R,"])
    with pytest.raises(ConfigError, match=r"treaties\.csv lacks column\(s\) source_date"):
        load_treaties(path)


def test_bad_status_is_a_config_error(tmp_path):
    path = treaties_file(tmp_path, ["Big,A,terminated,2000-01-01,,,,Registry,2026-01-01,"])
    with pytest.raises(ConfigError, match=r"treaties\.csv: unknown status \['terminated'\].*allowed: in_force"):
        load_treaties(path)


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (["Alpha,AA,2025,many,Y,2025-06-16"], r"total_warheads \['many'\] in row\(s\) \[1\] does not parse"),
        (["Alpha,AA,2025,10,Y,16/06/2025"], r"published \['16/06/2025'\]"),
        (["Alpha,AA,2025,10,,2025-06-16"], r"empty source in row\(s\) \[1\]"),
        (["Alpha,AA,2025,-1,Y,2025-06-16"], "negative total_warheads"),
        (["Alpha,AA,2025,10,Y,2025-06-16", "Alpha,AA,2025,11,Y,2025-06-16"], "more than one row"),
    ],
    ids=["count", "date", "source", "negative", "duplicate"],
)
def test_bad_forces_rows_are_config_errors(tmp_path, rows, problem):
    with pytest.raises(ConfigError, match=problem):
        load_nuclear_forces(forces_file(tmp_path, rows))


def test_treaty_without_source_date_or_readable_file(tmp_path):
    with pytest.raises(ConfigError, match=r"empty source_date in row\(s\) \[1\]"):
        load_treaties(treaties_file(tmp_path, ["Big,A,in_force,2000-01-01,,,,Registry,,"]))
    with pytest.raises(ConfigError, match="cannot read arms-control treaties file"):
        load_treaties(tmp_path / "absent.csv")


# Signals -----------------------------------------------------------------------------------------


def test_forces_signals_known_answers(tmp_path):
    s = signals(tmp_path, date(2025, 7, 1))
    assert (s.forces_year, s.previous_year, s.global_warheads) == (2025, 2024, 1200)
    assert s.global_change == pytest.approx(1200 / 1250 - 1)  # −4 %
    changes = {c.country: c.change for c in s.countries}
    assert changes == pytest.approx({"Alpha": -0.1, "Beta": 0.4, "Gamma": 0.15})
    # Beta's +20 counts against the floor of 100 (0.2), Gamma's +30 against 200 (0.15)
    assert s.fastest_growing == "Beta" and s.fastest_growth == pytest.approx(0.2)
    assert s.arsenal_pressure == pytest.approx(0.5 + 5 * (-0.04) + 0.5 * 0.2, abs=1e-4)
    assert s.countries[0].country == "Alpha"  # largest first
    global_fact = s.facts_for(Category.NUCLEAR_ARSENAL)[0]
    assert global_fact.text == "Global inventory 1,200 warheads in January 2025, -4.0 % on January 2024 (1,250)"
    assert global_fact.source == "Yearbook 2025" and global_fact.source_date == date(2025, 6, 16)


def test_a_yearbook_counts_only_once_published(tmp_path):
    before = signals(tmp_path, date(2025, 6, 15))
    assert before.forces_year == 2024 and before.previous_year is None and before.global_change is None
    assert before.arsenal_pressure == 0.5  # one yearbook: no trend
    assert signals(tmp_path, date(2025, 6, 16)).forces_year == 2025
    nothing = signals(tmp_path, date(2024, 1, 1))
    assert nothing.forces_year is None and nothing.arsenal_pressure is None
    assert nothing.facts_for(Category.NUCLEAR_ARSENAL) == []


def test_arsenal_pressure_is_clipped(tmp_path):
    rows = ["Alpha,AA,2024,1000,Y,2024-06-17", "Alpha,AA,2025,2000,Y,2025-06-16"]
    assert signals(tmp_path, date(2026, 1, 1), forces=forces_file(tmp_path, rows)).arsenal_pressure == 1.0
    rows = ["Alpha,AA,2024,1000,Y,2024-06-17", "Alpha,AA,2025,500,Y,2025-06-16"]
    assert signals(tmp_path, date(2026, 1, 1), forces=forces_file(tmp_path, rows)).arsenal_pressure == 0.0


def test_treaty_status_before_and_after_a_change(tmp_path):
    before = signals(tmp_path, date(2023, 2, 20))
    statuses = {t.treaty: t.status for t in before.treaties}
    assert statuses == {"Big": "in_force", "Pair": "in_force", "Ban": "not_in_force", "Zone": "in_force"}
    # key: Big 2 × 0 + Pair 1 × 0 + Ban 1 × 0.5 over 4
    assert before.lapse_share == pytest.approx(0.125)
    assert before.key_treaties == 3 and before.key_not_in_force == ["Ban"]
    assert before.share_not_in_force == pytest.approx(1 / 3)
    assert before.arms_control_pressure == pytest.approx(0.25 + 0.75 * 0.125, abs=1e-4)
    inferred = next(t for t in before.treaties if t.treaty == "Pair")
    assert inferred.status_since == date(2011, 2, 5) and inferred.notes is None  # no look-ahead

    suspended = signals(tmp_path, date(2023, 2, 21))
    pair = next(t for t in suspended.treaties if t.treaty == "Pair")
    assert (pair.status, pair.status_since, pair.notes) == ("suspended", date(2023, 2, 21), "Contested")
    assert suspended.lapse_share == pytest.approx((0.75 + 0.5) / 4)

    expired = signals(tmp_path, date(2026, 2, 5))
    assert next(t.status for t in expired.treaties if t.treaty == "Pair") == "expired"
    assert expired.lapse_share == pytest.approx((1.0 + 0.5) / 4)
    assert expired.arms_control_pressure == pytest.approx(0.25 + 0.75 * 0.375, abs=1e-4)
    summary = expired.facts_for(Category.COMMUNICATION_ARMS_CONTROL)[0]
    assert summary.text == (
        "2 of 3 key arms-control treaties not in force: Ban (not in force since 1996-09-24), Pair (expired since 2026-02-05)"
    )
    assert summary.source_date == date(2026, 2, 6)


def test_treaties_before_signature_do_not_count(tmp_path):
    s = signals(tmp_path, date(1998, 1, 1))
    assert {t.treaty for t in s.treaties} == {"Ban", "Zone"}  # Zone signed 1996, Big 1999, Pair 2010
    assert s.key_treaties == 1 and s.arms_control_pressure == pytest.approx(0.25 + 0.75 * 0.5, abs=1e-4)
    assert next(t.status for t in s.treaties if t.treaty == "Zone") == "not_in_force"


def test_the_reference_block_is_trusted_system_text_without_the_run_date(tmp_path):
    s = signals(tmp_path, date(2026, 3, 1))
    blocks = system_blocks(s)
    assert len(blocks) == 2 and all(b["cache_control"] == {"type": "ephemeral"} for b in blocks)
    text = blocks[1]["text"]
    assert text.startswith("<reference_data>") and text.endswith("</reference_data>")
    assert "Global inventory 1,200 warheads" in text and "[Yearbook 2025; as of 2025-06-16]" in text
    assert "Note: Contested" not in text  # Pair's note belongs to its suspended row, not the expired one
    assert "2026-03-01" not in text  # the block changes with the data, not with every run
    assert reference_block(signals(tmp_path, date(2026, 3, 2))) == text
    assert len(system_blocks()) == 1 and len(system_blocks(None)) == 1


# The shipped files -------------------------------------------------------------------------------


def test_shipped_forces_load_with_sources_and_dates():
    forces = load_nuclear_forces(NUCLEAR_FORCES)
    assert sorted(set(forces["year"])) == list(range(2020, 2026))
    assert forces.group_by("year").len()["len"].to_list() == [9] * 6
    assert forces["source"].str.starts_with("SIPRI Yearbook").all() and forces["published"].is_not_null().all()
    assert (forces["published"].dt.year() == forces["year"]).all() and (forces["published"].dt.month() == 6).all()
    totals = dict(forces.group_by("year").agg(pl.col("total_warheads").sum()).iter_rows())
    assert totals[2025] == 12241 and totals[2024] == 12121 and totals[2023] == 12512 and totals[2022] == 12705


def test_shipped_treaties_load_with_sources_and_dates():
    treaties = load_treaties(ARMS_CONTROL_TREATIES)
    assert treaties["source"].str.len_chars().min() > 0 and treaties["source_date"].is_not_null().all()
    assert set(treaties["status"]) <= set(STATUS_SEVERITY)
    assert set(KEY_TREATY_WEIGHTS) <= set(treaties["treaty"])  # every weighted treaty is in the file
    assert {"TPNW"} <= set(treaties["treaty"])


def test_shipped_reference_signals():
    now = load_reference(date(2026, 3, 1))
    assert now.global_warheads == 12241 and now.forces_year == 2025 and now.fastest_growing == "China"
    statuses = {t.treaty: t.status for t in now.treaties}
    assert statuses["New START"] == "expired" and statuses["NPT"] == "in_force" and statuses["CTBT"] == "not_in_force"
    assert statuses["Open Skies Treaty"] == "withdrawn" and statuses["TPNW"] == "in_force"
    assert 0.5 < now.arms_control_pressure <= 1 and 0 <= now.arsenal_pressure <= 1
    assert all(f.source and f.source_date for f in now.facts)
    mid_2024 = load_reference(date(2024, 7, 1))
    assert {t.treaty: t.status for t in mid_2024.treaties}["New START"] == "suspended"
    assert mid_2024.forces_year == 2024 and mid_2024.arms_control_pressure < now.arms_control_pressure
    before_suspension = load_reference(date(2023, 2, 20))
    assert {t.treaty: t.status for t in before_suspension.treaties}["New START"] == "in_force"
