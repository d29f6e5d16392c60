"""Snapshots: recorded HTTP responses replayed through the same fetch and parse code.

The directory format is documented in docs/snapshots.md: a `snapshot.toml` manifest listing one
`[[responses]]` entry per recorded request, each pointing at a raw body file.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import BaseModel, Field, ValidationError

from joshua.errors import ConfigError

MANIFEST = "snapshot.toml"
RECORDED_AT = "joshua.recorded_at"  # response extension carrying the recorded fetch time
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


class RecordedResponse(BaseModel):
    """One recorded HTTP exchange."""

    source: str
    url: str
    status: int = Field(default=200, ge=100, le=599)
    fetched_at: datetime
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    error: str | None = Field(default=None, pattern="^(timeout|connect)$")


class SnapshotInfo(BaseModel):
    """The [snapshot] table of a manifest."""

    name: str
    recorded_at: datetime
    sample: bool = False
    description: str = ""


class Snapshot(BaseModel):
    """A loaded snapshot: its metadata, directory and recorded responses."""

    directory: Path
    info: SnapshotInfo
    responses: list[RecordedResponse]

    @property
    def label(self) -> str:
        """How reports name the data this snapshot holds."""
        kind = "sample data (fictional items, not real reporting)" if self.info.sample else "recorded data"
        return f"snapshot '{self.info.name}' recorded {self.info.recorded_at:%Y-%m-%d %H:%M} UTC, {kind}"

    def response_for(self, url: str) -> RecordedResponse | None:
        """The recorded response for a request URL, compared after httpx normalisation."""
        wanted = str(httpx.URL(url))
        return next((r for r in self.responses if str(httpx.URL(r.url)) == wanted), None)


def load_snapshot(directory: Path) -> Snapshot:
    """Read and check a snapshot directory; every problem is a ConfigError naming the file."""
    manifest = directory / MANIFEST
    if not directory.is_dir():
        raise ConfigError(f"snapshot directory {directory} does not exist")
    try:
        document = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read snapshot manifest {manifest}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"snapshot manifest {manifest} is not valid TOML: {exc}") from exc
    try:
        snapshot = Snapshot(
            directory=directory,
            info=SnapshotInfo(**document.get("snapshot", {})),
            responses=[RecordedResponse(**entry) for entry in document.get("responses", [])],
        )
    except (ValidationError, TypeError) as exc:
        raise ConfigError(f"snapshot manifest {manifest} is invalid: {exc}") from exc
    for response in snapshot.responses:
        if response.error is None and (response.body is None or not (directory / response.body).is_file()):
            raise ConfigError(f"{manifest}: body file {response.body!r} of source {response.source!r} is missing")
    return snapshot


class SnapshotTransport(httpx.BaseTransport):
    """An httpx transport that answers requests from a snapshot instead of the network."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorded = self.snapshot.response_for(str(request.url))
        if recorded is None:
            raise httpx.ConnectError(f"no recorded response for {request.url}", request=request)
        if recorded.error == "timeout":
            raise httpx.ReadTimeout("recorded timeout", request=request)
        if recorded.error == "connect":
            raise httpx.ConnectError("recorded connection failure", request=request)
        body = (self.snapshot.directory / recorded.body).read_bytes() if recorded.body else b""
        # Bodies are stored decoded, so length and encoding headers of the original would lie.
        headers = {k: v for k, v in recorded.headers.items() if k.lower() not in _DROPPED_HEADERS}
        return httpx.Response(
            recorded.status,
            headers=headers,
            content=body,
            request=request,
            extensions={RECORDED_AT: recorded.fetched_at},
        )
