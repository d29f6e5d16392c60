"""Wall time of `joshua assess` run after run, as `make assess` runs it, old code beside new.

    .venv/bin/python benchmarks/second_run.py [--runs 3] [--old REF]

Each code version gets a fresh PREFECT_HOME and data directory, then runs the sample assessment
`--runs` times, each a new `joshua assess` process timed from start to exit. The old code (default
5eace17, extracted with `git archive`) starts Prefect's temporary server in every run; the new code
runs as `make assess` does (`--background-server`): the first run starts the background server,
the later ones reuse it. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from footprint import ROOT, code_at  # noqa: E402


def timed_runs(code: Path, scratch: Path, runs: int, extra: list[str]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of `runs` assessments with the code in `code`.

    CPU counts the command and the children it waited for (a temporary server), not a background server.
    """
    env = {
        **os.environ,
        "PREFECT_HOME": str(scratch / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PYTHONPATH": str(code),
    }
    for name in ("PREFECT_API_URL", "JOSHUA_DATA_DIR"):
        env.pop(name, None)
    cli = [sys.executable, "-c", "from joshua.cli import app; app()"]
    walls = []
    try:
        for _ in range(runs):
            started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [*cli, "assess", *extra, "--data-dir", str(scratch / "data")],
                cwd=code, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            walls.append((time.perf_counter() - started, cpu))
    finally:
        if extra:
            subprocess.run([*cli, "server", "stop"], cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--old", default="5eace17", help="git ref of the code to compare with ('' to skip)")
    args = parser.parse_args()
    columns = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.old:
            old = Path(scratch) / "old"
            columns[f"old ({args.old})"] = timed_runs(code_at(args.old, old / "code"), old, args.runs, [])
        new = Path(scratch) / "new"
        new.mkdir()
        columns["new (--background-server)"] = timed_runs(ROOT, new, args.runs, ["--background-server"])
    print("`joshua assess` on the sample, one run after another: wall seconds (CPU seconds)")
    print(f"{'run':<6}" + "".join(f"{name:>30}" for name in columns))
    for index in range(args.runs):
        print(f"{index + 1:<6}" + "".join(f"{f'{w[index][0]:.1f} ({w[index][1]:.1f})':>30}" for w in columns.values()))
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (this machine has {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
