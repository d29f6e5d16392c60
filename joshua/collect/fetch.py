"""The fetch layer every HTTP source goes through.

One httpx client per run, wrapped in a `Fetcher` that adds what a polite, cheap collector needs:
- a minimum interval between requests to the same host (the strictest source on that host wins);
- retries with exponential backoff and 0-1 s jitter on 429, 5xx and transport errors, honouring
  `Retry-After` (DESIGN decision 10: retries live here, not also in Prefect task retries);
- a body cap enforced while streaming, on decompressed bytes, so a gzip bomb stops early;
- conditional GETs: ETag / Last-Modified kept per URL in the HTTP cache, a 304 reuses the cached
  body, and a body younger than the source's TTL is reused without asking at all.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from joshua.collect.snapshot import RECORDED_AT, NotRecorded
from joshua.errors import FetchError
from joshua.settings import CollectSettings
from schemas.records import Source

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Network trouble is worth retrying; a request our side could not even form is not.
RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)
CacheUse = Literal["miss", "fresh", "revalidated"]


@dataclass(frozen=True)
class Fetched:
    """A usable response body, where it came from and what getting it cost."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    cache: CacheUse = "miss"
    requests: int = 0
    retries: int = 0
    wire_bytes: int = 0


@dataclass(frozen=True)
class Request:
    """One request a source needs: a URL and any headers of its own (credentials)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


class HttpCache:
    """Bodies and validators per URL in a directory: `<sha256>.json` metadata plus `<sha256>.body`.

    Files are written to a temporary name and renamed, so concurrent runs never read half an entry.
    """

    def __init__(self, directory: Path):
        self.directory = directory

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        return self.directory / f"{key}.json", self.directory / f"{key}.body"

    def get(self, url: str) -> tuple[Fetched, float] | None:
        """The cached response for a URL and the Unix time it was last confirmed, or None."""
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None  # a body from another write than its metadata: treat as absent
        fetched = Fetched(
            url=meta["url"],
            status=meta["status"],
            headers=meta["headers"],
            body=body,
            fetched_at=datetime.fromisoformat(meta["fetched_at"]),
        )
        return fetched, float(meta["confirmed_at"])

    def drop(self, url: str) -> None:
        """Forget a URL (its body turned out unusable, so it must not be served again)."""
        for path in self._paths(url):
            path.unlink(missing_ok=True)

    def put(self, url: str, fetched: Fetched, confirmed_at: float) -> None:
        """Store (or re-confirm) a URL's response."""
        self.directory.mkdir(parents=True, exist_ok=True)
        meta_path, body_path = self._paths(url)
        meta = {
            "url": fetched.url,
            "status": fetched.status,
            "headers": fetched.headers,
            "fetched_at": fetched.fetched_at.isoformat(),
            "confirmed_at": confirmed_at,
            "sha256": hashlib.sha256(fetched.body).hexdigest(),
        }
        _write_atomic(body_path, fetched.body)
        _write_atomic(meta_path, json.dumps(meta).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name, then rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


class HostRateLimiter:
    """Spaces requests to each host by at least the interval asked for; thread-safe, waits rather than fails."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self, host: str, interval: float) -> None:
        """Block until a request to `host` may go out, and reserve that slot."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + interval
        if slot > now:
            self._sleep(slot - now)


def retry_delay(attempt: int, settings: CollectSettings, retry_after: str | None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): Retry-After, else capped backoff + jitter."""
    if retry_after is not None:
        seconds = parse_retry_after(retry_after)
        if seconds is not None:
            return seconds
    return min(settings.backoff_s * 2 ** (attempt - 1), settings.max_backoff_s) + random.uniform(0, 1)


def parse_retry_after(value: str) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) as seconds from now, or None."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def decoded_chunks(response: httpx.Response, max_bytes: int, source_id: str) -> Iterator[bytes]:
    """The response body decoded chunk by chunk, stopping once it passes `max_bytes` decoded bytes.

    Decompression is ours rather than httpx's so a tiny gzip bomb cannot inflate past the cap in
    one step: each chunk is inflated at most up to the bytes still allowed.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if response.is_stream_consumed:  # an in-memory response (a test double) arrives decoded
        encoding, raw_chunks = "identity", iter([response.content])
    else:
        raw_chunks = response.iter_raw()
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    elif encoding in ("identity", ""):
        inflater = None
    else:
        raise FetchError(source_id, str(response.url), f"unsupported content-encoding {encoding!r}")
    produced = 0
    for raw in raw_chunks:
        pending = raw
        while pending:
            if inflater is None:
                chunk, pending = pending, b""
            else:
                try:
                    chunk = inflater.decompress(pending, max_bytes - produced + 1)
                except zlib.error as exc:
                    raise FetchError(source_id, str(response.url), f"corrupt {encoding} body ({exc})") from exc
                pending = inflater.unconsumed_tail
            produced += len(chunk)
            if produced > max_bytes:
                raise FetchError(source_id, str(response.url), f"body larger than {max_bytes} bytes (decompressed)")
            yield chunk
            if inflater is not None and inflater.eof:  # a gzip body may hold several members
                pending, inflater = inflater.unused_data, zlib.decompressobj(zlib.MAX_WBITS | 16)
            elif inflater is not None and not chunk:
                break


class Fetcher:
    """The run's HTTP access: one client, its rate limiter, its retry policy and its cache."""

    def __init__(
        self,
        client: httpx.Client,
        settings: CollectSettings,
        cache: HttpCache | None,
        *,
        rate_limited: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        recorder: Callable[[Source, str, Fetched], None] | None = None,
    ):
        self.client = client
        self.settings = settings
        self.cache = cache
        self.limiter = HostRateLimiter(sleep=sleep) if rate_limited else None
        self.sleep = sleep
        self.recorder = recorder
        self._host_intervals: dict[str, float] = {}

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def register(self, sources: list[Source]) -> None:
        """Learn each host's interval: the strictest of the sources that share it."""
        for source in sources:
            host = httpx.URL(str(source.url)).host
            self._host_intervals[host] = max(self._host_intervals.get(host, 0.0), source.rate_limit_s)

    def fetch(self, source: Source, request: Request) -> Fetched:
        """GET one URL of a source, from the cache when fresh, conditionally when cached but stale."""
        cached = self.cache.get(request.url) if self.cache else None
        if cached and time.time() - cached[1] < source.cache_ttl_s:
            return replace(cached[0], cache="fresh")
        headers = dict(request.headers)
        if cached:
            validators = cached[0].headers
            if "etag" in validators:
                headers["If-None-Match"] = validators["etag"]
            if "last-modified" in validators:
                headers["If-Modified-Since"] = validators["last-modified"]
        fetched = self._get_with_retries(source, request.url, headers)
        if fetched.status == 304:
            if not cached:
                raise FetchError(source.id, request.url, f"HTTP 304 for {request.url} without a cached copy")
            fetched = replace(cached[0], cache="revalidated", requests=fetched.requests, retries=fetched.retries)
        elif self.recorder:
            self.recorder(source, request.url, fetched)
        if self.cache and ("etag" in fetched.headers or "last-modified" in fetched.headers or source.cache_ttl_s > 0):
            self.cache.put(request.url, fetched, time.time())
        return fetched

    def forget(self, request: Request) -> None:
        """Drop a response from the cache because its body could not be used."""
        if self.cache:
            self.cache.drop(request.url)

    def _get_with_retries(self, source: Source, url: str, headers: dict[str, str]) -> Fetched:
        """GET with backoff on 429, 5xx and transport errors; the last failure becomes a FetchError."""
        host = httpx.URL(url).host
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            if self.limiter:
                self.limiter.wait(host, self._host_intervals.get(host, source.rate_limit_s))
            try:
                fetched = self._get_once(source, url, headers)
            except NotRecorded as exc:
                raise FetchError(source.id, url, str(exc)) from exc
            except RETRY_ERRORS as exc:
                failure, retry_after = _describe_transport_error(exc, source), None
            else:
                if fetched.status not in RETRY_STATUSES:
                    if fetched.status >= 400:
                        raise FetchError(source.id, url, f"HTTP {fetched.status} from {url}")
                    return replace(fetched, requests=attempt, retries=attempt - 1)
                failure, retry_after = f"HTTP {fetched.status} from {url}", fetched.headers.get("retry-after")
            if attempt == attempts:
                break
            delay = retry_delay(attempt, self.settings, retry_after)
            if delay > self.settings.max_retry_after_s:
                raise FetchError(source.id, url, f"{failure}; asked to retry after {delay:.0f} s, giving up")
            self.sleep(delay)
        raise FetchError(source.id, url, f"{failure} (after {attempts} attempts)")

    def _get_once(self, source: Source, url: str, headers: dict[str, str]) -> Fetched:
        """One GET, its body streamed under the cap (error bodies are not read)."""
        timeout = httpx.Timeout(source.timeout_s, connect=min(10.0, source.timeout_s))
        deadline = time.monotonic() + 2 * source.timeout_s  # a server dripping bytes cannot hold us forever
        try:
            with self.client.stream("GET", url, headers=headers, timeout=timeout) as response:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                chunks: list[bytes] = []
                if response.status_code < 300:
                    for chunk in decoded_chunks(response, self.settings.max_body_bytes, source.id):
                        chunks.append(chunk)
                        if time.monotonic() > deadline:
                            raise FetchError(source.id, url, f"body still arriving after {2 * source.timeout_s:g} s")
                return Fetched(
                    url=str(response.url),
                    status=response.status_code,
                    headers=response_headers,
                    body=b"".join(chunks),
                    fetched_at=response.extensions.get(RECORDED_AT) or datetime.now(UTC),
                    wire_bytes=response.num_bytes_downloaded or sum(map(len, chunks)),
                )
        except httpx.TooManyRedirects as exc:
            raise FetchError(source.id, url, f"too many redirects from {url}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(source.id, url, f"invalid URL {url}: {exc}") from exc


def _describe_transport_error(exc: httpx.TransportError, source: Source) -> str:
    """A one-line reason for a failed request."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {source.timeout_s:g} s ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def build_client(settings: CollectSettings, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The run's HTTP client; a transport (a snapshot, a test double) replaces the network."""
    return httpx.Client(
        transport=transport,
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        timeout=httpx.Timeout(30.0, connect=10.0),
    )
