"""Snapshots: recorded HTTP responses replayed through the same fetch and parse code.

The directory format is documented in docs/snapshots.md: a `snapshot.toml` manifest listing one
`[[responses]]` entry per recorded request, each pointing at a raw body file.
"""

from __future__ import annotations

import email.utils
import re
import threading
import tomllib
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

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
    _by_url: dict[str, RecordedResponse] | None = PrivateAttr(default=None)

    @property
    def label(self) -> str:
        """How reports name the data this snapshot holds."""
        kind = "sample data (fictional items, not real reporting)" if self.info.sample else "recorded data"
        return f"snapshot '{self.info.name}' recorded {self.info.recorded_at:%Y-%m-%d %H:%M} UTC, {kind}"

    def response_for(self, url: str) -> RecordedResponse | None:
        """The recorded response for a request URL, compared after httpx normalisation."""
        if self._by_url is None:  # normalised once: every source check and replayed request looks up here
            index: dict[str, RecordedResponse] = {}
            for response in self.responses:
                index.setdefault(str(httpx.URL(response.url)), response)  # the first recording wins
            self._by_url = index
        return self._by_url.get(str(httpx.URL(url)))


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


class NotRecorded(httpx.TransportError):
    """A request the snapshot holds no response for (never retried: asking again cannot help)."""


class SnapshotTransport(httpx.BaseTransport):
    """An httpx transport that answers requests from a snapshot instead of the network."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorded = self.snapshot.response_for(str(request.url))
        if recorded is None:
            raise NotRecorded(f"no recorded response for {request.url}", request=request)
        if recorded.error == "timeout":
            raise httpx.ReadTimeout("recorded timeout", request=request)
        if recorded.error == "connect":
            raise httpx.ConnectError("recorded connection failure", request=request)
        # Bodies are stored decoded, so length and encoding headers of the original would lie.
        headers = {k: v for k, v in recorded.headers.items() if k.lower() not in _DROPPED_HEADERS}
        extensions = {RECORDED_AT: recorded.fetched_at}
        if recorded.status == 200 and not_modified(request.headers, recorded.headers):
            return httpx.Response(304, headers=headers, request=request, extensions=extensions)
        body = (self.snapshot.directory / recorded.body).read_bytes() if recorded.body else b""
        stream = httpx.ByteStream(body)  # streamed like a network body, so the fetch layer's caps apply
        return httpx.Response(recorded.status, headers=headers, stream=stream, request=request, extensions=extensions)


def not_modified(request_headers: httpx.Headers, recorded: dict[str, str]) -> bool:
    """Whether a conditional request matches a recorded response's validators (RFC 9110 §13.1)."""
    etag = recorded.get("etag")
    if "if-none-match" in request_headers:
        return etag is not None and etag in [tag.strip() for tag in request_headers["if-none-match"].split(",")]
    since, modified = request_headers.get("if-modified-since"), recorded.get("last-modified")
    if since and modified:
        try:
            return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class SnapshotRecorder:
    """Collects live responses into a new snapshot directory (the format above); thread-safe."""

    def __init__(self, directory: Path, name: str, description: str = ""):
        self.directory, self.name, self.description = directory, name, description
        self.responses: list[RecordedResponse] = []
        self._lock = threading.Lock()
        (directory / "bodies").mkdir(parents=True, exist_ok=True)

    def record(self, source_id: str, url: str, status: int, headers: dict[str, str], body: bytes, fetched_at: datetime) -> None:
        """Store one response's body and remember its manifest entry."""
        with self._lock:
            stem = f"{source_id}-{sum(r.source == source_id for r in self.responses) + 1}"
            extension = _extension(headers.get("content-type", ""))
            (self.directory / "bodies" / f"{stem}{extension}").write_bytes(body)
            kept = {k: v for k, v in headers.items() if k in _RECORDED_HEADERS}
            self.responses.append(
                RecordedResponse(
                    source=source_id, url=url, status=status, fetched_at=fetched_at, headers=kept, body=f"bodies/{stem}{extension}"
                )
            )

    def record_failure(self, source_id: str, url: str, error: str, fetched_at: datetime) -> None:
        """Remember a request that failed in transport (`timeout` or `connect`); replays raise it again."""
        with self._lock:
            self.responses.append(RecordedResponse(source=source_id, url=url, fetched_at=fetched_at, error=error))

    def write_manifest(self, recorded_at: datetime) -> Path:
        """Write `snapshot.toml` for everything recorded (last, so a crash leaves no manifest)."""
        lines = [
            "# Recorded by `joshua snapshot record`; format in docs/snapshots.md.",
            "",
            "[snapshot]",
            f"name = {_toml_string(self.name)}",
            f"recorded_at = {recorded_at.isoformat()}",
            "sample = false",
            f"description = {_toml_string(self.description)}",
        ]
        for response in sorted(self.responses, key=lambda r: (r.source, r.body or "")):
            lines += [
                "",
                "[[responses]]",
                f"source = {_toml_string(response.source)}",
                f"url = {_toml_string(response.url)}",
                f"status = {response.status}",
                f"fetched_at = {response.fetched_at.isoformat()}",
                f"error = {_toml_string(response.error)}" if response.error else f"body = {_toml_string(response.body or '')}",
            ]
            if response.headers:
                lines += [
                    "[responses.headers]",
                    *(f"{_toml_string(key)} = {_toml_string(value)}" for key, value in sorted(response.headers.items())),
                ]
        manifest = self.directory / MANIFEST
        temporary = manifest.with_suffix(".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temporary.replace(manifest)
        return manifest


_RECORDED_HEADERS = frozenset({"content-type", "etag", "last-modified", "date", "cache-control"})


def _extension(content_type: str) -> str:
    """A body file's extension from its content type (for people browsing the snapshot)."""
    kind = content_type.split(";")[0].strip().lower()
    return ".json" if kind.endswith("json") else ".xml" if "xml" in kind or "rss" in kind else ".txt"


def _toml_string(value: str) -> str:
    """A TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'
