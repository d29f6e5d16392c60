"""Prefect's API server for the command line: a temporary one that lives exactly as long as the CLI,
or a background one that later runs reuse.

Prefect's own temporary server is a plain child process: when the CLI is killed (SIGKILL), it keeps
running. The temporary server here is started with a pipe from the CLI on its standard input and
stops itself when that pipe closes, which the kernel does however the CLI ends. The listening
socket is bound by the parent and handed over, so no port can be taken in between.

The background server (`joshua server start`, or `joshua assess --background-server`) is the same
program in its own session with the UI on; its address and process id are kept in
`<PREFECT_HOME>/joshua-server.json` so later runs find it and `joshua server stop` ends it.

    python -m joshua.prefect_server --fd N [--log FILE]   (the server itself; --log: in the background)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from joshua.errors import JoshuaError

APP = "prefect.server.api.server:create_app"
STATE_FILE = "joshua-server.json"
LOG_FILE = "joshua-server.log"
START_TIMEOUT_S = 180  # a busy two-core machine can take a minute to import and migrate
STOP_TIMEOUT_S = 20
PROC = Path("/proc")


class ServerError(JoshuaError):
    """Prefect's API server could not be started, found or stopped."""


class PortInUse(ServerError):
    """The port asked for is taken."""


@dataclass(frozen=True)
class ServerInfo:
    """A running server: its API URL and process id."""

    url: str
    pid: int


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server_env(background: bool) -> dict[str, str]:
    env = {**os.environ, "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    if not background:  # what Prefect's own temporary server sets: no UI, ephemeral services
        env |= {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"}
    return env


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers its health check."""
    try:
        return httpx.get(f"{url}/health", timeout=timeout, trust_env=False).status_code == 200  # never via a proxy
    except httpx.HTTPError:
        return False


def _wait_until_healthy(alive: Callable[[], bool], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not healthy(url):
        if not alive():
            raise ServerError("Prefect's server exited while starting")
        if time.monotonic() > deadline:
            raise ServerError(f"Prefect's server did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.1)


@contextlib.contextmanager
def temporary_server(timeout: float = START_TIMEOUT_S) -> Iterator[str]:
    """A server for the duration of the block (and never longer, even if this process is killed)."""
    with _listening_socket(0) as sock, tempfile.TemporaryFile() as output:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        process = subprocess.Popen(
            [sys.executable, "-m", "joshua.prefect_server", "--fd", str(sock.fileno())],
            stdin=subprocess.PIPE,  # the server stops when this pipe closes, however this process ends
            stdout=output,
            stderr=output,
            pass_fds=(sock.fileno(),),
            env=_server_env(background=False),
        )
        sock.close()
        try:
            try:
                _wait_until_healthy(lambda: process.poll() is None, url, timeout)
            except ServerError as exc:
                output.seek(0)
                raise ServerError(f"{exc}: {output.read().decode(errors='replace')[-1000:]}") from None
            yield url
        finally:
            assert process.stdin is not None
            process.stdin.close()  # a clean shutdown follows; a server that lingers is killed
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _state_path(home: Path) -> Path:
    return home / STATE_FILE


def _running(pid: int) -> bool:
    """Whether a process exists and has not exited (a zombie has)."""
    if not PROC.is_dir():  # not Linux: ask the kernel
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _is_our_server(pid: int) -> bool:
    """Whether a process id still belongs to a server started here (ids are reused)."""
    if not PROC.is_dir():  # not Linux: the id alone has to do
        return _running(pid)
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return b"joshua.prefect_server" in command and _running(pid)


def background_server(home: Path) -> ServerInfo | None:
    """The background server recorded in `home`, if it is running and answers."""
    try:
        state = json.loads(_state_path(home).read_text(encoding="utf-8"))
        info = ServerInfo(url=str(state["url"]), pid=int(state["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _is_our_server(info.pid) and healthy(info.url) else None


def start_background_server(home: Path, port: int, timeout: float = START_TIMEOUT_S) -> tuple[ServerInfo, bool]:
    """The background server of `home`, started if none runs; (server, whether it was started now).

    When `port` is taken another free port is used. Two callers at once start one server (a lock).
    """
    home.mkdir(parents=True, exist_ok=True)
    with (home / f"{STATE_FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        running = background_server(home)
        if running is not None:
            return running, False
        return _start_background(home, port, timeout), True


def _start_background(home: Path, port: int, timeout: float) -> ServerInfo:
    try:
        sock = _listening_socket(port)
    except PortInUse:
        sock = _listening_socket(0)
    with sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        launcher = subprocess.run(  # it forks the server into its own session and prints its id
            [sys.executable, "-m", "joshua.prefect_server", "--fd", str(sock.fileno()), "--log", str(home / LOG_FILE)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            pass_fds=(sock.fileno(),),
            env=_server_env(background=True),
            timeout=60,
        )
    if launcher.returncode != 0:
        raise ServerError(f"Prefect's server did not start: {launcher.stderr.decode(errors='replace')[-500:]}")
    info = ServerInfo(url=url, pid=int(launcher.stdout))
    try:
        _wait_until_healthy(lambda: _is_our_server(info.pid), url, timeout)
    except ServerError as exc:
        _signal(info.pid, signal.SIGKILL)
        raise ServerError(f"{exc} (its log: {home / LOG_FILE})") from None
    temporary = _state_path(home).with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": info.url, "pid": info.pid}), encoding="utf-8")
    temporary.replace(_state_path(home))
    return info


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def stop_background_server(home: Path) -> ServerInfo | None:
    """Stop the background server of `home`; the server stopped, or None if none was running."""
    path = _state_path(home)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        info = ServerInfo(url=str(state["url"]), pid=int(state["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    stopped = None
    if _is_our_server(info.pid):
        _signal(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _running(info.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _running(info.pid):
            _signal(info.pid, signal.SIGKILL)
        stopped = info
    path.unlink(missing_ok=True)
    return stopped


def _stop_when_parent_goes() -> None:
    """Block until standard input closes (the parent ended, however), then shut down cleanly."""
    sys.stdin.buffer.read()
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
    time.sleep(STOP_TIMEOUT_S)
    os._exit(1)  # it did not finish in time


def _daemonize(log: Path) -> None:
    """Fork into a new session and let the launcher exit, printing the server's process id."""
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        os._exit(0)
    os.setsid()
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for stream in (1, 2):
        os.dup2(output, stream)
    os.close(output)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve Prefect's API on an inherited socket.")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket's file descriptor")
    parser.add_argument("--log", type=Path, help="run in the background, writing output to this file")
    args = parser.parse_args()
    if args.log:
        _daemonize(args.log)
    else:
        threading.Thread(target=_stop_when_parent_goes, daemon=True).start()
    import uvicorn

    uvicorn.run(APP, factory=True, fd=args.fd, log_level="error", lifespan="on")


if __name__ == "__main__":
    main()
