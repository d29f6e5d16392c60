"""Prefect's server for the CLI: the temporary one never outlives the CLI (even under SIGKILL), the
background one is reused by later runs and stopped by `joshua server stop`.

Every server here listens on 127.0.0.1 with a temporary PREFECT_HOME, and each test stops what it
started, also when it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from joshua.lake import STALE_AFTER, sweep_staging, sweep_uncommitted
from joshua.prefect_server import (
    background_server,
    healthy,
    start_background_server,
    stop_background_server,
    temporary_server,
)
from joshua.settings import PROJECT_ROOT

JOSHUA = str(Path(sys.executable).parent / "joshua")


def cli_env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "CRITICAL",
    }
    env.pop("PREFECT_API_URL", None)
    return env


def identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) of a live process, None once it has gone (zombies count as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (pid, fields[19])


def descendants(root: int) -> set[tuple[int, str]]:
    """The live descendants of a process, each with its start time (process ids get reused)."""
    found, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                if (who := identity(child)) is not None:
                    found.add(who)
                    frontier.append(child)
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


def still_running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {p for p in processes if identity(p[0]) == p}


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_killing_the_cli_mid_run_leaves_no_process_running(tmp_path):
    data_dir = tmp_path / "data"
    cli = subprocess.Popen(
        [JOSHUA, "assess", "--json", "--data-dir", str(data_dir)],
        env=cli_env(tmp_path / "prefect"), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    started: set[tuple[int, str]] = set()
    try:
        # The flow has started (it stages files) once the temporary server answers.
        wait_until(lambda: cli.poll() is not None or (data_dir / "staging").is_dir(), 300, "the run to start")
        assert cli.poll() is None, "the run ended before it could be killed"
        started = descendants(cli.pid)
        assert any("joshua.prefect_server" in command_of(pid) for pid, _ in started)
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait()
        wait_until(lambda: not still_running(started), 60, f"the CLI's processes to end: {still_running(started)}")
        # What the killed run left is removed once it is older than any run can last.
        later = datetime.now(UTC) + STALE_AFTER + timedelta(minutes=1)
        sweep_staging(data_dir / "staging", later)
        sweep_uncommitted(data_dir / "lake", later)
        assert not any((data_dir / "staging").iterdir())
        assert not list((data_dir / "lake").rglob("*.parquet"))
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        for pid, _ in still_running(started):  # only if the test failed: leave nothing behind
            os.kill(pid, signal.SIGKILL)


def test_a_temporary_server_ends_with_its_block():
    with temporary_server() as url:
        assert healthy(url)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def test_a_background_server_is_started_once_reused_by_runs_and_stopped(tmp_path):
    home = tmp_path / "prefect"
    try:
        first, started = start_background_server(home, port=0)
        again, started_again = start_background_server(home, port=0)
        assert started and not started_again and again == first
        assert background_server(home) == first
        run = subprocess.Popen(
            [JOSHUA, "assess", "--json", "--data-dir", str(tmp_path / "data")],
            env=cli_env(home), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        commands, deadline = set(), time.monotonic() + 600
        while run.poll() is None:  # the run starts no server of its own
            commands |= {command_of(pid) for pid, _ in descendants(run.pid)}
            if time.monotonic() > deadline:
                run.kill()
                run.wait()
                pytest.fail("the run did not end within 10 minutes")
            time.sleep(0.2)
        with run.stderr:
            assert run.returncode == 0, run.stderr.read()
        assert not any("prefect_server" in command for command in commands)
        assert httpx.post(f"{first.url}/flow_runs/count", json={}, timeout=10).json() > 0
        status = subprocess.run([JOSHUA, "server", "status"], env=cli_env(home), capture_output=True, text=True)
        assert status.returncode == 0 and first.url in status.stdout
    finally:
        stopped = stop_background_server(home)
    assert stopped == first
    assert identity(first.pid) is None and not healthy(first.url)
    assert background_server(home) is None and stop_background_server(home) is None
    status = subprocess.run([JOSHUA, "server", "status"], env=cli_env(home), capture_output=True, text=True)
    assert status.returncode == 1 and "no background server" in status.stdout
