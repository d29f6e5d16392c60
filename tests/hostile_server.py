"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, for bad-input tests.

`HostileServer` runs a `ThreadingHTTPServer` on an ephemeral port in a daemon thread, with a route
table mapping URL paths (query strings ignored) to behaviours. A behaviour is a function of the
request handler; the factories below cover status codes, headers, bodies sent in one go, streamed
or dripped, and raw-socket tricks (a TCP reset, a connection that is accepted but never answered).

Every request is recorded (`hits`, `requests`), so a test can assert how many attempts the client
made. `stop()` wakes the handlers that wait (`hang`, `drip`) and joins every handler thread, so a
test leaves no socket or thread behind.

    with HostileServer() as server:
        url = server.route("/feed", reply(b"<rss/>", content_type="application/rss+xml"))
"""

from __future__ import annotations

import itertools
import select
import socket
import struct
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Behaviour = Callable[["HostileHandler"], None]


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    query: str
    headers: dict[str, str]


class HostileHandler(BaseHTTPRequestHandler):
    """Dispatches each GET to its route's behaviour; one request per connection (HTTP/1.0)."""

    server: _Server
    timeout = 10  # a client that connects and goes silent cannot hold a handler thread forever

    @property
    def hostile(self) -> HostileServer:
        return self.server.hostile

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        self.hostile._record(Seen(parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}))
        behaviour = self.hostile.routes.get(parts.path, reply(b"no such route", status=404))
        try:
            behaviour(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (body cap, deadline): expected

    def send_head(self, status: int, headers: Mapping[str, str]) -> None:
        """Status line and headers, then the blank line."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: tests read `HostileServer.requests` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins every handler thread
    hostile: HostileServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Socket errors from clients hanging up are expected; anything else is kept for the test to see."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            self.hostile.errors.append(exc)


class HostileServer:
    """The server, its route table and what it saw."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.requests: list[Seen] = []
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), HostileHandler)
        self._server.hostile = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, behaviour: Behaviour) -> str:
        """Serve `behaviour` at `path`; returns the full URL."""
        self.routes[path] = behaviour
        return self.base_url + path

    def hits(self, path: str) -> int:
        """How many requests reached `path`."""
        with self._lock:
            return sum(seen.path == path for seen in self.requests)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake waiting handlers, stop accepting, join every thread and close the listening socket."""
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# Behaviours -----------------------------------------------------------------------------------


def reply(body: bytes = b"", status: int = 200, headers: Mapping[str, str] | None = None, content_type: str | None = None) -> Behaviour:
    """A whole response at once, with a correct Content-Length."""

    def behave(handler: HostileHandler) -> None:
        head = {"Content-Length": str(len(body)), **({"Content-Type": content_type} if content_type else {}), **(headers or {})}
        handler.send_head(status, head)
        handler.wfile.write(body)

    return behave


def in_turn(*behaviours: Behaviour) -> Behaviour:
    """The first request gets the first behaviour, the second the second...; the last one repeats."""
    counter = itertools.count()
    lock = threading.Lock()

    def behave(handler: HostileHandler) -> None:
        with lock:
            index = min(next(counter), len(behaviours) - 1)
        behaviours[index](handler)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    """A redirect to `location` (point it at its own path for a loop)."""
    return reply(status=status, headers={"Location": location})


def conditional(body: bytes, etag: str, content_type: str = "application/rss+xml") -> Behaviour:
    """200 with an ETag, or 304 when the request's If-None-Match carries that ETag."""

    def behave(handler: HostileHandler) -> None:
        if handler.headers.get("If-None-Match") == etag:
            reply(status=304, headers={"ETag": etag})(handler)
        else:
            reply(body, headers={"ETag": etag}, content_type=content_type)(handler)

    return behave


def stream(chunk: bytes, total: int, sent: list[int], headers: Mapping[str, str] | None = None) -> Behaviour:
    """`total` bytes made of `chunk` repeated, written as the client reads them (never held whole);
    `sent[0]` counts the bytes written so far, which tells whether the client stopped reading early."""

    def behave(handler: HostileHandler) -> None:
        handler.send_head(200, {"Content-Length": str(total), **(headers or {})})
        while sent[0] < total and not handler.hostile.stopping.is_set():
            piece = chunk[: total - sent[0]]
            handler.wfile.write(piece)
            sent[0] += len(piece)

    return behave


def drip(body: bytes, every_s: float, content_type: str = "application/rss+xml") -> Behaviour:
    """A body one byte at a time, `every_s` seconds apart (Content-Length announced up front)."""

    def behave(handler: HostileHandler) -> None:
        handler.send_head(200, {"Content-Length": str(len(body)), "Content-Type": content_type})
        for byte in body:
            if handler.hostile.stopping.wait(every_s):
                return
            handler.wfile.write(bytes([byte]))

    return behave


def short_body(body: bytes, announced: int) -> Behaviour:
    """Announce `announced` bytes, send `body` (fewer), then close: the connection drops mid-body."""

    def behave(handler: HostileHandler) -> None:
        handler.send_head(200, {"Content-Length": str(announced), "Content-Type": "application/rss+xml"})
        handler.wfile.write(body)
        handler.close_connection = True

    return behave


def reset(handler: HostileHandler) -> None:
    """Read the request (already done), then close with SO_LINGER 0: the client gets a TCP RST."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def hang(handler: HostileHandler) -> None:
    """Accept and read the request, never answer; return once the client hangs up or the server stops."""
    connection = handler.connection
    while not handler.hostile.stopping.is_set():
        readable, _, _ = select.select([connection], [], [], 0.05)
        if readable:
            try:
                if not connection.recv(1024):
                    break  # the client closed its end
            except OSError:
                break
    handler.close_connection = True
