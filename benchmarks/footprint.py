"""The whole footprint of one `joshua assess` on the bundled sample: every process it starts.

    .venv/bin/python benchmarks/footprint.py [--old REF] [--runs 2]

Starts `joshua assess --json` as a child (a fresh data directory and PREFECT_HOME per code version)
and samples its whole process tree every 0.1 s from /proc: resident (RSS) and proportional (PSS,
shared pages split between the processes that map them) memory. The peak of the sum is reported for
the whole tree, for Prefect's server (the process serving `prefect.server.api.server:create_app`)
and for everything else, JOSHUA's own processes. With `--old REF` (default: the commit before this
benchmark, 5eace17) the same is measured on that commit's code, extracted with `git archive`, and
both are printed side by side. The last of `--runs` runs is reported (the first creates the
Prefect database).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_MARKS = ("prefect.server.api.server:create_app", "joshua.prefect_server")  # Prefect's, JOSHUA's
PAGE = os.sysconf("SC_PAGE_SIZE")


def children(pid: int) -> list[int]:
    """The direct children of a process (every thread's), from /proc."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return found


def tree(root: int) -> list[int]:
    """A process and all its descendants."""
    pids, frontier = [root], [root]
    while frontier:
        for child in children(frontier.pop()):
            pids.append(child)
            frontier.append(child)
    return pids


def memory(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in bytes of a live process, or None once it has gone."""
    try:
        rss = pss = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
        return rss, pss
    except (OSError, ValueError):
        return None


def is_server(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return False
    return any(mark in command for mark in SERVER_MARKS)


@dataclass
class Peaks:
    """Peak sums over the samples, in bytes: (RSS, PSS) for the whole tree, the server, the rest."""

    whole: list[int] = field(default_factory=lambda: [0, 0])
    server: list[int] = field(default_factory=lambda: [0, 0])
    own: list[int] = field(default_factory=lambda: [0, 0])
    processes: int = 0

    def sample(self, root: int) -> None:
        totals = {"whole": [0, 0], "server": [0, 0], "own": [0, 0]}
        pids = tree(root)
        self.processes = max(self.processes, len(pids))
        for pid in pids:
            figures = memory(pid)
            if figures is None:
                continue
            part = "server" if is_server(pid) else "own"
            for index in (0, 1):
                totals["whole"][index] += figures[index]
                totals[part][index] += figures[index]
        for name, values in totals.items():
            peak = getattr(self, name)
            for index in (0, 1):
                peak[index] = max(peak[index], values[index])


def sample_tree(command: list[str], cwd: Path, env: dict[str, str], interval: float = 0.1) -> tuple[Peaks, float, str]:
    """Run a command, sampling its process tree until it exits; (peaks, wall seconds, stdout)."""
    peaks = Peaks()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            peaks.sample(process.pid)
            time.sleep(interval)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}: {text[-2000:]}")
    return peaks, wall, text


def code_at(ref: str, directory: Path) -> Path:
    """The repository's files at a git ref, extracted into `directory`."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def measure(code: Path, scratch: Path, runs: int) -> tuple[Peaks, float]:
    """Peaks and wall time of the last of `runs` assessments with the code in `code`."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(scratch / "prefect"),
        "PREFECT_LOGGING_LEVEL": "CRITICAL",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # a busy machine starts it slowly
        "PYTHONPATH": str(code),  # the code under test, ahead of the editable install
    }
    for name in ("PREFECT_API_URL", "JOSHUA_DATA_DIR"):
        env.pop(name, None)
    command = [sys.executable, "-c", "from joshua.cli import app; app()", "assess", "--json", "--data-dir", str(scratch / "data")]
    result = None
    for _ in range(runs):
        result = sample_tree(command, code, env)
    assert result is not None
    return result[0], result[1]


def mb(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="5eace17", help="git ref of the code to compare with ('' to skip)")
    parser.add_argument("--no-new", action="store_true", help="measure only the old code")
    parser.add_argument("--runs", type=int, default=2, help="assessments per code version; the last is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        versions = {}
        if args.old:
            old = Path(scratch) / "old"
            versions[f"old ({args.old})"] = measure(code_at(args.old, old / "code"), old, args.runs)
        if not args.no_new:
            new = Path(scratch) / "new"
            new.mkdir()
            versions["new (working tree)"] = measure(ROOT, new, args.runs)
    names = list(versions)
    print(f"peak memory of one `joshua assess` on the sample, process tree sampled every 0.1 s (MB)")
    print(f"{'':<34}" + "".join(f"{name:>22}" for name in names))
    rows = [
        ("whole tree RSS", lambda p: mb(p.whole[0])),
        ("whole tree PSS", lambda p: mb(p.whole[1])),
        ("JOSHUA's own processes RSS", lambda p: mb(p.own[0])),
        ("JOSHUA's own processes PSS", lambda p: mb(p.own[1])),
        ("Prefect server RSS", lambda p: mb(p.server[0])),
        ("processes (most at once)", lambda p: str(p.processes)),
    ]
    for label, cell in rows:
        print(f"{label:<34}" + "".join(f"{cell(versions[name][0]):>22}" for name in names))
    print(f"{'wall time (s)':<34}" + "".join(f"{versions[name][1]:>22.1f}" for name in names))


if __name__ == "__main__":
    main()
