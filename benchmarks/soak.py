"""A soak: many assessments back to back in one process, watching time per run and memory.

    .venv/bin/python benchmarks/soak.py [--runs 200]

Runs the assessment flow `runs` times on the bundled sample in one Python process (one temporary
Prefect server), all writing to one temporary data directory, and prints wall time per run and the
resident memory of the flow process as the runs accumulate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    from flows.assessment import assess

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(1, args.runs + 1):
            started = time.perf_counter()
            summary = assess(data_dir=scratch)
            wall = time.perf_counter() - started
            rows.append((number, wall, rss_mb(os.getpid()), summary.assessment.seconds_to_midnight))
            if number == 1 or number % 20 == 0:
                print(f"run {number:>4}: {wall:5.2f} s, flow process {rows[-1][2]:6.1f} MB", flush=True)
    walls = [r[1] for r in rows]
    print(f"\n{args.runs} runs in {sum(walls):.0f} s; per run median {statistics.median(walls):.2f} s, "
          f"first 10 mean {statistics.fmean(walls[:10]):.2f} s, last 10 mean {statistics.fmean(walls[-10:]):.2f} s")
    half = rows[len(rows) // 2 :]
    growth = (half[-1][2] - half[0][2]) / max(1, len(half) - 1)
    print(f"flow process RSS: run 1 {rows[0][2]:.0f} MB, run {len(rows) // 2} {rows[len(rows) // 2 - 1][2]:.0f} MB, "
          f"run {len(rows)} {rows[-1][2]:.0f} MB; over the second half {growth * 100:+.1f} MB per 100 runs")


if __name__ == "__main__":
    main()
