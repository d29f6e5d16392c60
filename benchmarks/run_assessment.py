"""Wall time and peak memory of one assessment on the bundled sample, cold and warm.

    .venv/bin/python benchmarks/run_assessment.py [--warm 3]

Each measurement is a fresh Python process that runs `joshua assess --json` in-process, so the
figures include imports and Prefect's temporary server start-up. "Cold" uses a new, empty
PREFECT_HOME (the server creates its database); "warm" reuses it. Peak RSS is reported for the
flow process itself and, separately, for the temporary Prefect server (a child process that has
exited by the time it is read). benchmarks/footprint.py samples the whole process tree instead.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure_once(data_dir: str) -> dict:
    """Run one assessment in this process and return its figures."""
    started = time.perf_counter()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        from joshua.cli import app

        app(["assess", "--json", "--data-dir", data_dir], standalone_mode=False)
    finished = time.perf_counter()
    summary = json.loads(buffer.getvalue())
    return {
        "cli_s": round(finished - started, 2),
        "stages": {stage["stage"]: round(stage["seconds"], 2) for stage in summary["stages"]},
        "flow_process_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "children_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "seconds_to_midnight": summary["assessment"]["seconds_to_midnight"],
    }


def run_child(prefect_home: str, data_dir: str) -> dict:
    """Measure one assessment in a new process; wall time includes interpreter start-up."""
    env = {
        **os.environ,
        "PREFECT_HOME": prefect_home,
        "PREFECT_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--once", data_dir], env=env, capture_output=True, text=True, check=True
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall_s"] = round(time.perf_counter() - started, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm runs after the cold one")
    parser.add_argument("--once", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(measure_once(args.once)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        home, data = str(Path(scratch) / "prefect"), str(Path(scratch) / "data")
        rows = [("cold", run_child(home, data))]
        rows += [(f"warm {n}", run_child(home, data)) for n in range(1, args.warm + 1)]
    print(f"{'run':<8} {'wall s':>7} {'in CLI s':>8} {'flow RSS MB':>11} {'server MB':>9}  stages (s)")
    for name, r in rows:
        stages = " ".join(f"{k}={v}" for k, v in r["stages"].items())
        print(
            f"{name:<8} {r['wall_s']:>7} {r['cli_s']:>8} {r['flow_process_peak_mb']:>11} "
            f"{r['children_peak_mb']:>9}  {stages}"
        )


if __name__ == "__main__":
    main()
