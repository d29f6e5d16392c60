"""A real S3-compatible server on 127.0.0.1 for tests: moto in server mode, in its own process.

`s3_server` (session) starts it on a port it holds from the start and stops it by its pid; `s3_bucket` (per test)
creates a fresh bucket and gives its `s3://` URL and the environment a JOSHUA process needs to use
it (credentials, endpoint, region; instance metadata lookups off, so nothing leaves 127.0.0.1).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

# Distinctive values, so a test can search the lake, logs and reports for them.
ACCESS_KEY_ID = "AKIAJOSHUATESTKEY01"
SECRET_ACCESS_KEY = "joshua-test-secret-9f3c1e7a5b"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its endpoint and the environment that reaches it."""

    endpoint: str
    pid: int
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the test server: `url` is a data directory below it."""

    server: S3Server
    bucket: str
    url: str
    env: dict[str, str]

    @property
    def endpoint(self) -> str:
        return self.server.endpoint


def server_env(endpoint: str) -> dict[str, str]:
    """The standard AWS environment a client of the test server needs."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",  # without credentials botocore would ask 169.254.169.254
    }


def start_moto(timeout_s: float = 60.0) -> tuple[subprocess.Popen[bytes], int]:
    """Start `moto.server` on a free 127.0.0.1 port and wait until it answers; returns it and its port.

    The listening socket is bound here and handed over (Werkzeug's reloader hand-off:
    WERKZEUG_RUN_MAIN, WERKZEUG_SERVER_FD), so no other process can take the port in between, and
    whatever answers on it is this server, not another one left on a port found free a moment ago.
    """
    import httpx

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "WERKZEUG_RUN_MAIN": "true", "WERKZEUG_SERVER_FD": str(listener.fileno())},
            pass_fds=(listener.fileno(),),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s  # a loaded two-core machine imports moto slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:  # the socket accepts at once; an HTTP answer means moto serves it
            httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=2, trust_env=False)
            return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    raise RuntimeError(f"moto server did not answer on port {port} within {timeout_s} s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on a free 127.0.0.1 port for the whole session, stopped by its pid."""
    process, port = start_moto()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield S3Server(endpoint=endpoint, pid=process.pid, env=server_env(endpoint))
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def create_bucket(server: S3Server, name: str) -> None:
    """Create a bucket on the server (boto3 from s3fs's own dependencies, credentials passed explicitly)."""
    import boto3

    env = server.env
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    client.create_bucket(Bucket=name)


# Clients forgotten by `forget_s3_clients`, kept alive until the process ends: a DuckDB connection
# that had one registered may still hold it, and freeing a filesystem under DuckDB has crashed the
# interpreter (duckdb/duckdb#11875; a CI run of this suite died of a segmentation fault here).
_FORGOTTEN_CLIENTS: list[object] = []


def forget_s3_clients() -> None:
    """Make the next S3 filesystem read the current environment (fsspec caches instances)."""
    from joshua.storage import s3_filesystem_class

    cls = s3_filesystem_class()
    _FORGOTTEN_CLIENTS.extend(cls._cache.values())
    cls.clear_instance_cache()


@pytest.fixture
def s3_bucket(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """A fresh bucket; this process's environment points at the server (and fsspec forgets earlier clients)."""
    name = f"joshua-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_server, name)
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    forget_s3_clients()
    yield S3Bucket(server=s3_server, bucket=name, url=f"s3://{name}/joshua", env=dict(s3_server.env))
    forget_s3_clients()
