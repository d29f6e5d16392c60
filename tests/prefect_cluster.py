"""Real Prefect processes for the deployment tests: `prefect server start`, the `joshua` work pool
and the deployments of prefect.yaml, `prefect worker start`, and runs through the Prefect client.

Every process is started on 127.0.0.1 with the environment the test gives it, in its own process
group, and stopped by its process id (its whole group), also when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from joshua.settings import PROJECT_ROOT

PREFECT = str(Path(sys.executable).parent / "prefect")
BOOTSTRAP = PROJECT_ROOT / "deploy" / "bootstrap.sh"
SERVER_COMMAND = ["prefect", "server", "start"]  # deploy/docker-compose.yml runs the same
POOL = "joshua"
AD_HOC = "nuclear-risk-assessment/ad-hoc-assessment"
HOURLY = "nuclear-risk-collection/hourly-collection"
# A live request from a worker's flow runs would go to this closed local port, never off the machine.
PROXY_TRAP = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens_on(pids: set[int], port: int) -> bool:
    """Whether one of these processes holds the socket listening on 127.0.0.1:`port` (from /proc): a
    port found free can be taken by another process before our server binds it, and that process
    may answer the same requests."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            listening.add(f"socket:[{inode}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in listening:
                        return True
    return False


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Prefect process: its own PREFECT_HOME, no telemetry (add PREFECT_API_URL)."""
    return {
        **{name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"},
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        **extra,
    }


def stop(process: subprocess.Popen) -> None:
    """Stop a process and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def process_tree(root: int) -> set[int]:
    """A process and all its descendants (whatever their process group or session), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def memory_of_tree(root: int) -> tuple[int, int]:
    """Resident and proportional memory (RSS, PSS; bytes) of a process and all its descendants."""
    rss = pss = 0
    for pid in process_tree(root):
        try:
            rollup = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            rss += int(rollup["Rss"].split()[0]) * 1024
            pss += int(rollup["Pss"].split()[0]) * 1024
        except (OSError, ValueError, KeyError):
            continue
    return rss, pss


@contextlib.contextmanager
def prefect_server(env: dict[str, str], log: Path, timeout: float = 300) -> Iterator[str]:
    """`prefect server start` on a free 127.0.0.1 port with `env` (its database: the environment's
    PREFECT_API_DATABASE_CONNECTION_URL, else SQLite under PREFECT_HOME); yields the API URL."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    with log.open("w") as output:  # the child keeps its own descriptor
        server = subprocess.Popen(
            [PREFECT, *SERVER_COMMAND[1:], "--host", "127.0.0.1", "--port", str(port)],
            env={**env, "PREFECT_API_URL": api}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout  # a busy two-core machine imports Prefect slowly
        while True:
            try:  # our server, not another process that took the port after `free_port` found it free
                if listens_on(process_tree(server.pid), port) and httpx.get(f"{api}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"the Prefect server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield api
    finally:
        stop(server)


def deploy(env: dict[str, str]) -> None:
    """deploy/bootstrap.sh: the `joshua` process pool, its queues, every deployment of prefect.yaml
    and the automations, as the README and deploy/docker-compose.yml set a server up."""
    path = f"{Path(PREFECT).parent}{os.pathsep}{env.get('PATH', os.defpath)}"  # this environment's `prefect`
    result = subprocess.run(
        ["sh", str(BOOTSTRAP)], env={**env, "PATH": path}, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def worker_command(name: str | None = None, limit: int | None = None) -> list[str]:
    """The worker's command line (deploy/docker-compose.yml runs the same)."""
    command = ["prefect", "worker", "start", "--pool", POOL]
    if name:
        command += ["--name", name]
    if limit:
        command += ["--limit", str(limit)]
    return command


def start_worker(env: dict[str, str], cwd: Path, log: Path, name: str | None = None, limit: int | None = None):
    """A process worker on pool `joshua`, in its own process group; the deployments' pull step finds
    the checkout through JOSHUA_HOME, so it may run anywhere."""
    with log.open("w") as output:
        return subprocess.Popen(
            [PREFECT, *worker_command(name, limit)[1:]],
            env={**env, **PROXY_TRAP, "JOSHUA_HOME": str(PROJECT_ROOT)}, cwd=cwd, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_for_workers(api: str, workers: dict[str, subprocess.Popen], timeout: float = 300) -> None:
    """Wait until every named worker has polled the pool (Prefect records it on its first poll), so
    runs started next can go to any of them: a worker still importing Prefect on a loaded machine
    would otherwise leave the others to take every run."""
    deadline = time.monotonic() + timeout
    while True:
        polled = {w.name for w in client_call(api, lambda client: client.read_workers_for_work_pool(POOL))}
        if set(workers) <= polled:
            return
        exited = [name for name, process in workers.items() if process.poll() is not None]
        if exited or time.monotonic() > deadline:
            raise RuntimeError(f"workers not polling after {timeout} s: {sorted(set(workers) - polled)} (exited: {exited})")
        time.sleep(1)


def client_call(api: str, function):
    """Run an async Prefect client call against the test's server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def call():
        with temporary_settings(updates={PREFECT_API_URL: api}):
            async with get_client() as client:
                return await function(client)

    return asyncio.run(call())


def start_run(api: str, deployment: str, params: dict, job_variables: dict | None = None) -> str:
    async def create(client):
        found = await client.read_deployment_by_name(deployment)
        run = await client.create_flow_run_from_deployment(found.id, parameters=params, job_variables=job_variables)
        return run.id

    return client_call(api, create)


def read_runs(api: str, run_ids: list) -> list:
    return client_call(api, lambda client: asyncio.gather(*(client.read_flow_run(i) for i in run_ids)))


def wait_for(api: str, run_ids: list, timeout: float = 900) -> list:
    deadline = time.monotonic() + timeout
    while True:
        runs = read_runs(api, run_ids)
        if all(r.state and r.state.is_final() for r in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(2)


def read_logs(api: str, flow_run_id, containing: str | None = None, timeout: float = 120) -> list:
    """A run's logs. With `containing`, wait until a message has that text: a run's process ships
    its logs in batches, and the last batch can reach the server after the run's final state."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    while True:
        logs = client_call(api, lambda c: c.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))))
        if containing is None or any(containing in log.message for log in logs) or time.monotonic() > deadline:
            return logs
        time.sleep(1)
