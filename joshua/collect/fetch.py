"""Fetching: one httpx client per run, bodies read under a size cap, failures as SourceError."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from joshua.collect.snapshot import RECORDED_AT
from joshua.errors import SourceError
from schemas.records import Source


@dataclass(frozen=True)
class Fetched:
    """A successful HTTP response as the parsers need it."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime


def build_client(user_agent: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The run's HTTP client; a transport (a snapshot, a test double) replaces the network."""
    return httpx.Client(
        transport=transport,
        headers={"User-Agent": user_agent},
        follow_redirects=True,
        timeout=httpx.Timeout(30.0, connect=10.0),
    )


def fetch_source(client: httpx.Client, source: Source, max_bytes: int) -> Fetched:
    """GET a source's URL, streaming the body and stopping once it passes `max_bytes`."""
    try:
        with client.stream("GET", str(source.url), timeout=source.timeout_s) as response:
            if response.status_code >= 400:
                raise SourceError(f"{source.id}: HTTP {response.status_code} from {source.url}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"{source.id}: body larger than {max_bytes} bytes")
                chunks.append(chunk)
            fetched_at = response.extensions.get(RECORDED_AT) or datetime.now(UTC)
            return Fetched(
                url=str(response.url),
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=b"".join(chunks),
                fetched_at=fetched_at,
            )
    except httpx.TimeoutException as exc:
        raise SourceError(f"{source.id}: timed out after {source.timeout_s:g} s ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"{source.id}: {type(exc).__name__}: {exc}") from exc
