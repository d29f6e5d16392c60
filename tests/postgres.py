"""A real PostgreSQL server for tests: Debian's `postgresql` package, a throwaway cluster in a
temporary directory, listening on 127.0.0.1 and a free port only.

`initdb` and `postgres` refuse to run as root, so under root the cluster belongs to the unprivileged
`postgres` user the package creates (the directory is made in the system's temporary directory, which
that user can reach, and handed to it); any other user runs it as itself. The postmaster runs in the
foreground as a child of the test (so its memory counts in the test's process tree) and is stopped by
its process id with a fast shutdown, also when a test fails. `.ci/run` installs the package when it is
missing; without it the tests that need it are skipped and say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

SYSTEM_USER = "postgres"  # created by Debian's postgresql-common
SUPERUSER = "joshua"
DATABASE = "prefect"
DRIVER = "postgresql+asyncpg"  # the SQLAlchemy driver Prefect's server connects with
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed."""


@dataclass(frozen=True)
class Postgres:
    """A running server: where it listens, who may log in, and its postmaster's process id."""

    host: str
    port: int
    user: str
    password: str
    database: str
    pid: int

    def url(self, driver: str = DRIVER) -> str:
        """The SQLAlchemy URL of the database (Prefect's PREFECT_API_DATABASE_CONNECTION_URL)."""
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


def bindir() -> Path:
    """The directory of `initdb` and `postgres`: on the PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise PostgresMissing("PostgreSQL is not installed (Debian: `apt-get install postgresql`, as `.ci/run` does)")
    return versions[-1].parent


def _owner() -> pwd.struct_passwd | None:
    """The account the cluster runs as: `postgres` under root, else None (this user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresMissing(f"running as root and there is no '{SYSTEM_USER}' user to run PostgreSQL as") from None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as(owner: pwd.struct_passwd | None) -> dict:
    """Popen arguments that drop to the cluster's owner (no groups of root's kept)."""
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": [], "env": {**os.environ, "HOME": owner.pw_dir}}


async def _create_database(server: Postgres) -> None:
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, password=server.password, database="postgres"
    )
    try:
        await connection.execute(f'CREATE DATABASE "{server.database}"')
    finally:
        await connection.close()


def _stop(process: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT: roll back sessions, stop); a postmaster that hangs is killed with its group."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A fresh cluster with one database, for the duration of the block."""
    programs, owner = bindir(), _owner()
    root = Path(tempfile.mkdtemp(prefix="joshua-postgres-"))  # not under pytest's 0700 directories
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        password = secrets.token_urlsafe(16)
        (root / "pwfile").write_text(password)
        if owner is not None:
            os.chown(root / "pwfile", owner.pw_uid, owner.pw_gid)
        initdb = subprocess.run(
            [programs / "initdb", "-D", root / "cluster", "-U", SUPERUSER, "--pwfile", root / "pwfile",
             "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            capture_output=True, text=True, timeout=120, **_run_as(owner),
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr[-2000:]}")
        port = _free_port()
        with (root / "postgres.log").open("w") as log:
            process = subprocess.Popen(
                [programs / "postgres", "-D", root / "cluster", "-h", "127.0.0.1", "-p", str(port),
                 "-k", root, "-c", "fsync=off"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **_run_as(owner),
            )  # fmt: skip
        try:
            server = Postgres("127.0.0.1", port, SUPERUSER, password, DATABASE, process.pid)
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    asyncio.run(_create_database(server))
                    break
                except (OSError, asyncpg.CannotConnectNowError):  # not listening, or still starting
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"PostgreSQL did not start: {(root / 'postgres.log').read_text()[-2000:]}")
                    time.sleep(0.2)
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)
