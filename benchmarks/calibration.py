"""The clock's figures against the Bulletin's settings, beside the two baselines (issue 16).

    .venv/bin/python benchmarks/calibration.py               (also run by `make eval`)
    .venv/bin/python benchmarks/calibration.py --ablation    (what each revision did, held out)

Fits and evaluates exactly as `joshua calibrate` does (leave-one-out over the 33 settings with
everything fitted refitted in each fold; the time split fitting ≤ 1991 and predicting later), but
writes nothing: it prints the one table `joshua calibrate` prints, then each setting's
leave-one-out and in-sample seconds.

`--ablation` refits the clock on earlier versions of the record and the analyzer: the version
before the second revision (`main`), each revision added in turn, the final version without each
one, the variants tried and not kept (the JCPOA rows; the structural values smoothed over the
preceding two years), and the final version without each agreement JOSHUA added to the record, one
at a time (how much the figures hang on any one row).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from joshua.calibration import Calibration, calibrate, calibration_points  # noqa: E402
from joshua.reporting.console import console, print_calibration  # noqa: E402
from joshua.structural import analyzer  # noqa: E402
from joshua.structural.analyzer import Indicators, category_values, indicators_as_of  # noqa: E402
from joshua.structural.history import (  # noqa: E402
    BulletinSetting,
    HistoricalRecord,
    TreatyEvent,
    load_bulletin_settings,
    load_record,
)
from schemas.records import Category  # noqa: E402

Rate = Callable[[Indicators], dict[Category, float]]
# Announcement months JOSHUA filled in from the Bulletin's covers (doomsday_clock_history.csv notes).
FILLED_MONTHS = (1949, 1963, 1969, 1972, 1974, 1990)
# Signatures quoted from arms_control_treaties.csv that the first treaty_events.csv left out.
SIGNATURES = {
    ("PTBT (LTBT)", date(1963, 8, 5)),
    ("OST", date(1967, 1, 27)),
    ("SALT I Interim Agreement", date(1972, 5, 26)),
    ("ABM Treaty", date(1972, 5, 26)),
}
ADDED_AGREEMENTS = (
    "Test moratorium",
    "Antarctic Treaty",
    "Seabed Treaty",
    "Prevention of Nuclear War Agreement",
    "Presidential Nuclear Initiatives",
    "De-targeting",
)
# Tried and left out: the Iran nuclear deal binds no nuclear-armed state's own forces (the scope
# rule, README of data/reference/history/). Dates: adopted 2015-07-14, implemented 2016-01-16, US
# withdrawal 2018-05-08 (https://www.armscontrol.org/factsheets/JCPOA-at-a-glance).
JCPOA = (
    TreatyEvent("JCPOA", date(2015, 7, 14), "signed", 0.0),
    TreatyEvent("JCPOA", date(2016, 1, 16), "in_force", 0.0),
    TreatyEvent("JCPOA", date(2018, 5, 8), "withdrawal_notice", 1.0),
)


def first_rate(smooth_momentum: bool, first_tests_in_arsenal: bool) -> Rate:
    """The analyzer with either of the second revision's formula changes undone."""

    def rate(ind: Indicators) -> dict[Category, float]:
        values = category_values(ind)
        if not smooth_momentum:
            momentum = min(1.0, max(0.0, 0.5 + analyzer.MOMENTUM_SCALE * (ind.losses - ind.gains)))
            missing = math.exp(-max(0.0, ind.treaties) / analyzer.TREATY_SCALE)
            values[Category.COMMUNICATION_ARMS_CONTROL] = 0.3 * missing + 0.7 * momentum
        if not first_tests_in_arsenal:
            values[Category.NUCLEAR_ARSENAL] = category_values(dataclasses.replace(ind, new_states=0.0))[Category.NUCLEAR_ARSENAL]
        return values

    return rate


def without_events(record: HistoricalRecord, drop: Callable[[TreatyEvent], bool]) -> HistoricalRecord:
    return dataclasses.replace(record, treaty_events=tuple(e for e in record.treaty_events if not drop(e)))


def january(settings: Sequence[BulletinSetting]) -> list[BulletinSetting]:
    """The settings with JOSHUA's announcement months undone (1 January, the spec's rule)."""
    return [dataclasses.replace(s, announced=date(s.year, 1, 1)) if s.year in FILLED_MONTHS else s for s in settings]


def smoothed(record: HistoricalRecord, settings: Sequence[BulletinSetting]) -> Calibration:
    """Each setting paired with the mean of the structural values now, a year and two years earlier
    (no earlier than the record's first yearly row)."""
    first = date(record.years[0].year, 12, 31)
    points = calibration_points(record, settings)
    for point in points:
        earlier = [
            category_values(indicators_as_of(record, max(first, point.as_of - timedelta(days=round(365.25 * lag)))))
            for lag in (1, 2)
        ]
        for category in point.values:
            point.values[category] = (point.values[category] + sum(v[category] for v in earlier)) / 3
    return calibrate(points)


def ablation() -> None:
    record, settings = load_record(), load_bulletin_settings()
    signatures = lambda e: (e.treaty, e.on) in SIGNATURES  # noqa: E731
    added = lambda e: e.treaty in ADDED_AGREEMENTS  # noqa: E731
    main_record = without_events(record, lambda e: signatures(e) or added(e))
    old = first_rate(smooth_momentum=False, first_tests_in_arsenal=False)
    rows: list[tuple[str, Calibration]] = []

    def fit(name: str, rec: HistoricalRecord, sets: Sequence[BulletinSetting], rate: Rate = category_values) -> None:
        rows.append((name, calibrate(calibration_points(rec, sets, rate))))

    fit("main (before this revision)", main_record, january(settings), old)
    fit("+ Bulletin announcement months", main_record, settings, old)
    fit("+ signatures of PTBT, OST, SALT I, ABM", without_events(record, added), settings, old)
    fit("+ six agreements added to the record", record, settings, old)
    fit("+ smooth arms-control momentum (tanh)", record, settings, first_rate(True, False))
    fit("+ first tests within the arsenal = final", record, settings)
    fit("final without the announcement months", record, january(settings))
    fit("final without the signatures", without_events(record, signatures), settings)
    fit("final without the six agreements", without_events(record, added), settings)
    fit("final without the smooth momentum", record, settings, first_rate(False, True))
    fit("final without first tests in the arsenal", record, settings, first_rate(True, False))
    for treaty in ADDED_AGREEMENTS:
        fit(f"final without {treaty}", without_events(record, lambda e, t=treaty: e.treaty == t), settings)
    fit("tried: final + JCPOA rows", dataclasses.replace(record, treaty_events=(*record.treaty_events, *JCPOA)), settings)
    rows.append(("tried: final, values smoothed over 2 years", smoothed(record, settings)))

    print("variant | LOO Spearman | LOO MAE | split Spearman | split MAE | fitted weights > 0")
    for name, result in rows:
        weights = ", ".join(f"{c.value} {w:.2f}" for c, w in result.mapping.weights.items() if w > 0)
        print(
            f"{name} | {result.loo.spearman:.3f} | {result.loo.mae:.1f} s | {result.time_split.spearman:.3f} | "
            f"{result.time_split.mae:.1f} s | {weights}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ablation", action="store_true", help="refit on earlier versions and variants")
    if parser.parse_args().ablation:
        ablation()
        return
    result = calibrate(calibration_points(load_record(), load_bulletin_settings()))
    print_calibration(result)
    console.print("\nyear  Bulletin  leave-one-out  in-sample", highlight=False)
    for point, loo, fitted in zip(result.points, result.loo_seconds, result.fitted_seconds, strict=True):
        console.print(f"{point.year}  {point.bulletin_seconds:>8}  {loo:>13}  {fitted:>9}", highlight=False)


if __name__ == "__main__":
    main()
