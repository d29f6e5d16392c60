"""A small Messages API on 127.0.0.1 that the real anthropic SDK reaches through its base URL.

By default it answers like a well-behaved model: one `record_assessment` call rating all eight
categories and citing article refs found in the request. Its `usage` mirrors the real prompt
size (about four characters a token) and simulates prompt caching: the first request writes the
system prompt and tools to the cache, later ones read them. Tests queue other behaviours
(errors, refusals, bad input, slowness) with `queue`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from schemas.claude import TOOL_NAME
from schemas.records import Category

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body
Behaviour = Callable[[dict[str, Any]], Reply]
CHARS_PER_TOKEN = 4


def tokens(value: Any) -> int:
    return math.ceil(len(json.dumps(value)) / CHARS_PER_TOKEN)


def refs_in(request: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(ref, categories) of every article in the request's evidence block."""
    text = request["messages"][0]["content"]
    return [(m[0], m[1].split(",")) for m in re.findall(r'<article id="(A\d+)"[^>]*categories="([^"]*)"', text)]


def assessment_input(request: dict[str, Any], value: float = 0.6, seconds: int = 300) -> dict[str, Any]:
    """A valid tool input citing, for each category, the first article tagged with it."""
    refs = refs_in(request)
    factors = []
    for category in Category:
        cited = [ref for ref, cats in refs if category.value in cats][:2] or [refs[0][0]]
        factors.append(
            {
                "category": category.value,
                "value": value,
                "confidence": "High",
                "evidence": cited,
                "trend": "stable",
                "reasoning": f"Reporting on {category.value.replace('_', ' ')} reads as elevated.",
            }
        )
    return {"factors": factors, "executive_summary": "Risk is elevated across categories.", "analyst_seconds": seconds}


def message(request: dict[str, Any], content: list[dict], stop_reason: str, usage: dict[str, int]) -> Reply:
    return (
        200,
        {"request-id": "req_fake"},
        {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        },
    )


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> Behaviour:
    return lambda request: (status, headers or {}, {"type": "error", "error": {"type": kind, "message": kind}})


class FakeAnthropic:
    """The server, its recorded requests and its queue of scripted behaviours."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.behaviours: list[Behaviour] = []
        self.usages: list[dict[str, int]] = []
        self.cached_prefixes: set[str] = set()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                status, headers, payload = fake.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeAnthropic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def queue(self, *behaviours: Behaviour) -> None:
        self.behaviours.extend(behaviours)

    @property
    def message_requests(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/v1/messages"]

    def handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            behaviour = self.behaviours.pop(0) if self.behaviours and path == "/v1/messages" else None
        if path == "/v1/messages/count_tokens":
            return 200, {}, {"input_tokens": tokens({k: body.get(k) for k in ("system", "tools", "messages")})}
        if behaviour is not None:
            return behaviour(body)
        return self.well_behaved(body)

    def usage(self, request: dict[str, Any], output: Any) -> dict[str, int]:
        """Usage mirroring the request's size, with the system prompt and tools as the cached prefix."""
        prefix = {"system": request.get("system"), "tools": request.get("tools")}
        prefix_tokens = tokens(prefix) if isinstance(request.get("system"), list) else 0
        key = json.dumps(prefix, sort_keys=True)
        with self.lock:
            hit = key in self.cached_prefixes
            self.cached_prefixes.add(key)
        usage = {
            "input_tokens": tokens(request["messages"]) + (0 if prefix_tokens else tokens(request.get("system"))),
            "output_tokens": tokens(output),
            "cache_creation_input_tokens": 0 if hit else prefix_tokens,
            "cache_read_input_tokens": prefix_tokens if hit else 0,
        }
        with self.lock:
            self.usages.append(usage)
        return usage

    def well_behaved(self, request: dict[str, Any]) -> Reply:
        if not request.get("tools"):  # the change explanation
            text = "Regional conflict rose the most; the other categories held steady."
            return message(request, [{"type": "text", "text": text}], "end_turn", self.usage(request, text))
        tool_input = assessment_input(request)
        content = [{"type": "tool_use", "id": "toolu_fake", "name": TOOL_NAME, "input": tool_input}]
        return message(request, content, "tool_use", self.usage(request, tool_input))

    # Behaviours for `queue`.
    def tool_input(self, build: Callable[[dict[str, Any]], dict[str, Any]], stop_reason: str = "tool_use") -> Behaviour:
        def reply(request: dict[str, Any]) -> Reply:
            tool_input = build(request)
            content = [{"type": "tool_use", "id": "toolu_fake", "name": TOOL_NAME, "input": tool_input}]
            return message(request, content, stop_reason, self.usage(request, tool_input))

        return reply

    def text(self, text: str, stop_reason: str = "end_turn") -> Behaviour:
        return lambda request: message(request, [{"type": "text", "text": text}], stop_reason, self.usage(request, text))

    @staticmethod
    def raw(body: bytes, status: int = 200) -> Behaviour:
        return lambda request: (status, {}, body)

    @staticmethod
    def slow(seconds: float) -> Behaviour:
        def reply(request: dict[str, Any]) -> Reply:
            time.sleep(seconds)
            return error(500, "api_error")(request)

        return reply
