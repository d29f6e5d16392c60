"""The clock's figures against the Bulletin's settings, beside the two baselines (issue 16).

    .venv/bin/python benchmarks/calibration.py      (also run by `make eval`)

Fits and evaluates exactly as `joshua calibrate` does (leave-one-out over the 33 settings with
everything fitted refitted in each fold; the time split fitting ≤ 1991 and predicting later), but
writes nothing: it prints the one table `joshua calibrate` prints, then each setting's
leave-one-out and in-sample seconds.
"""

from __future__ import annotations

from joshua.calibration import calibrate, calibration_points
from joshua.reporting.console import console, print_calibration
from joshua.structural.history import load_bulletin_settings, load_record


def main() -> None:
    result = calibrate(calibration_points(load_record(), load_bulletin_settings()))
    print_calibration(result)
    console.print("\nyear  Bulletin  leave-one-out  in-sample", highlight=False)
    for point, loo, fitted in zip(result.points, result.loo_seconds, result.fitted_seconds, strict=True):
        console.print(f"{point.year}  {point.bulletin_seconds:>8}  {loo:>13}  {fitted:>9}", highlight=False)


if __name__ == "__main__":
    main()
