"""Object storage for a data directory given as a URL (`s3://bucket/prefix`, `gs://…`, `az://…`).

A run with such a data directory stages and computes in a local working directory, as it does
with a local one, and publishes through fsspec: its lake files, then its `runs` row last (one PUT,
atomic on an object store; readers see a run once that row says completed, so no rename is needed),
its reports, and the caches later runs reuse. Readers query the remote lake in place: DuckDB through
the same fsspec filesystem registered on the connection (the httpfs extension is not needed), polars
with `scan_parquet("s3://…")`.

Credentials and the endpoint come from the environment the storage library reads itself
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_REGION or
AWS_PROFILE for s3fs; GOOGLE_APPLICATION_CREDENTIALS for gcsfs; AZURE_STORAGE_* for adlfs), never
from a URL: one that embeds credentials is refused, and URLs are shown without their user part or
query in every message.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from joshua.errors import ConfigError, StorageError

if TYPE_CHECKING:
    import fsspec

# File times come from the kernel's coarse clock, which can lag `time.time()` by a tick.
MTIME_SLACK_SECONDS = 1.0

# The fsspec implementation of each scheme, and the extra that installs it.
BACKENDS = {
    "s3": ("s3fs", "joshua[s3]"),
    "s3a": ("s3fs", "joshua[s3]"),
    "gs": ("gcsfs", "gcsfs"),
    "gcs": ("gcsfs", "gcsfs"),
    "az": ("adlfs", "adlfs"),
    "abfs": ("adlfs", "adlfs"),
    "abfss": ("adlfs", "adlfs"),
}
# Schemes whose commit turn `object_lock` can hold (conditional writes through s3fs).
CONDITIONAL_WRITES = frozenset({"s3", "s3a"})
# Listings are reused for a few seconds (DuckDB opens every file it reads, and each open would
# otherwise ask for the object's size again), and forgotten whenever other hosts' writes must be
# seen: when a run or a command starts (`check_reachable`) and when a commit turn begins.
LISTING_TTL_S = 10.0
_S3_OPTIONS = {"use_listings_cache": True, "listings_expiry_time": LISTING_TTL_S}
FILESYSTEM_OPTIONS: dict[str, dict[str, Any]] = {"s3": _S3_OPTIONS, "s3a": _S3_OPTIONS}
# How long a commit turn may be held before another host may break it (a commit takes seconds).
LOCK_EXPIRY_S = 120.0
LOCK_POLL_S = 0.2


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether a data directory is an object-store URL rather than a local path."""
    return isinstance(location, str) and "://" in location


def redact(url: str) -> str:
    """A URL safe to show: scheme, host (bucket) and path, without credentials or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def check_url(url: str) -> str:
    """Validate an object-store data directory URL; returns it without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        raise ConfigError(f"data directory {redact(url)}: unsupported scheme {parts.scheme!r}; use one of {', '.join(sorted(BACKENDS))} or a local path")
    if "@" in parts.netloc or parts.password or parts.username or parts.query or parts.fragment:
        raise ConfigError(
            f"data directory {redact(url)}: credentials or options in the URL are refused; "
            "set them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, …)"
        )
    if not parts.hostname:
        raise ConfigError(f"data directory {redact(url)}: no bucket named")
    return url.rstrip("/")


def check_committable(url: str) -> None:
    """Refuse, before a run starts, a data directory whose store this code cannot take commit turns on."""
    if urlsplit(url).scheme not in CONDITIONAL_WRITES:
        raise ConfigError(
            f"data directory {redact(url)}: runs commit through S3 conditional writes; "
            f"{urlsplit(url).scheme}:// can be read (history, report, db rebuild) but not written yet"
        )


def join(root: Path | str, *parts: str) -> Path | str:
    """A location below a local directory or an object-store URL."""
    if isinstance(root, Path):
        return root.joinpath(*parts)
    return "/".join([root.rstrip("/"), *parts])


def filesystem(url: str) -> fsspec.AbstractFileSystem:
    """The fsspec filesystem of a URL's scheme (a missing package is a ConfigError naming it)."""
    import fsspec

    scheme = urlsplit(url).scheme
    package, extra = BACKENDS[scheme]
    try:
        if scheme in FILESYSTEM_OPTIONS:
            return s3_filesystem_class()(**FILESYSTEM_OPTIONS[scheme])
        return fsspec.filesystem(scheme)
    except ImportError:
        raise ConfigError(f"data directory {redact(url)} needs the {package} package: pip install '{extra}'") from None


@functools.cache
def s3_filesystem_class() -> type[fsspec.AbstractFileSystem]:
    """s3fs's filesystem, except that an object missing from a cached listing is asked for again.

    Another host may have published it since the listing was cached: DuckDB finds it with a fresh
    glob, then asks for its size, which s3fs would otherwise answer "not found" from the cache.
    """
    import s3fs

    class FreshMissS3FileSystem(s3fs.S3FileSystem):  # type: ignore[misc]
        async def _info(self, path: str, bucket: Any = None, key: Any = None, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
            try:
                return await super()._info(path, bucket, key, refresh=refresh, **kwargs)
            except FileNotFoundError:
                if refresh:
                    raise
                return await super()._info(path, bucket, key, refresh=True, **kwargs)

    return FreshMissS3FileSystem


def _unavailable(url: str, exc: BaseException) -> StorageError:
    """An error naming what failed, with the URL redacted and nothing from the provider's reply."""
    return StorageError(f"object store {redact(url)}: {type(exc).__name__}")


def check_reachable(url: str) -> None:
    """Answer now, with a ConfigError, when the data directory's bucket cannot be used.

    Missing or wrong credentials, an unknown bucket and an unreachable endpoint are configuration
    problems; the message names the kind of failure, never the credentials or the provider's text.
    """
    fs = filesystem(url)
    fs.invalidate_cache()
    bucket = urlsplit(url).hostname
    try:
        _probe(fs, str(bucket), url)
    except FileNotFoundError:
        raise ConfigError(f"data directory {redact(url)}: bucket {bucket!r} does not exist") from None
    except PermissionError:
        raise ConfigError(f"data directory {redact(url)}: access denied (check the credentials in the environment)") from None
    except _credential_errors() as exc:
        raise ConfigError(f"data directory {redact(url)}: no credentials found in the environment ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - each backend's transport raises its own types
        raise ConfigError(
            f"data directory {redact(url)}: cannot reach the object store, check AWS_ENDPOINT_URL ({type(exc).__name__})"
        ) from None


def _probe(fs: fsspec.AbstractFileSystem, bucket: str, url: str) -> None:
    """List the bucket (a missing one raises FileNotFoundError), or else the data directory itself:
    a key confined to its prefix may not list the bucket's root."""
    try:
        fs.ls(bucket, detail=False)
    except PermissionError:
        fs.find(url, maxdepth=1)


def _credential_errors() -> tuple[type[BaseException], ...]:
    """The storage library's "no credentials" errors (botocore's for S3)."""
    try:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError
    except ImportError:
        return ()
    return (NoCredentialsError, PartialCredentialsError)


def find(root: str) -> list[str]:
    """Every file below a URL, as URLs (none when the prefix holds nothing)."""
    fs = filesystem(root)
    scheme = urlsplit(root).scheme
    try:
        return [f"{scheme}://{path}" for path in fs.find(root)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _unavailable(root, exc) from exc


def modified_times(root: str) -> dict[str, float]:
    """{URL: Unix time last modified} of every file below a URL."""
    fs = filesystem(root)
    scheme = urlsplit(root).scheme
    try:
        entries = fs.find(root, detail=True)
    except FileNotFoundError:
        return {}
    times = {}
    for path, info in entries.items():
        stamp = info.get("LastModified") or info.get("last_modified") or info.get("mtime") or info.get("updated")
        if isinstance(stamp, str):
            stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        times[f"{scheme}://{path}"] = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp or 0)
    return times


def put_bytes(url: str, data: bytes) -> None:
    """Write an object in one PUT (atomic: readers see the old object or the new one)."""
    try:
        filesystem(url).pipe_file(url, data)
    except OSError as exc:
        raise _unavailable(url, exc) from exc


def read_bytes(url: str) -> bytes:
    """An object's content."""
    try:
        return filesystem(url).cat_file(url)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _unavailable(url, exc) from exc


def upload(local: Path, url: str) -> None:
    """Copy a local file to an object."""
    try:
        filesystem(url).put_file(str(local), url)
    except OSError as exc:
        raise _unavailable(url, exc) from exc


def remove(urls: Iterable[str]) -> None:
    """Delete objects (those already gone are fine)."""
    urls = list(urls)
    if not urls:
        return
    fs = filesystem(urls[0])
    for url in urls:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(url)


def exists(url: str) -> bool:
    """Whether an object exists."""
    return bool(filesystem(url).exists(url))


def register(con: Any, url: str) -> None:
    """Let a DuckDB connection read a URL's scheme through fsspec (no httpfs extension needed)."""
    con.register_filesystem(filesystem(url))


def push_tree(local: Path, url: str, since: float) -> int:
    """Upload the files below a local directory changed at or after `since` (Unix time); returns how many.

    A file written just after `since` can carry an earlier time (MTIME_SLACK_SECONDS). Re-uploading
    a file written in the second before is harmless, missing one is not, so the cut-off allows slack.
    """
    cutoff = since - MTIME_SLACK_SECONDS
    pushed = 0
    for path in sorted(local.rglob("*")) if local.is_dir() else []:
        if path.is_file() and not path.name.endswith(".tmp") and path.stat().st_mtime >= cutoff:
            upload(path, str(join(url, *path.relative_to(local).parts)))
            pushed += 1
    return pushed


def pull_tree(url: str, local: Path, newer_than: float = 0.0) -> int:
    """Download the objects below a URL modified after `newer_than` that are absent locally or newer
    there; returns how many.

    Each file keeps the object's modification time, which the caches' freshness checks read. A key
    with an empty, `.` or `..` part is skipped: nothing in the bucket writes outside `local`.
    """
    fs = filesystem(url)
    pulled = 0
    prefix = url.rstrip("/") + "/"
    for remote, stamp in modified_times(url).items():
        parts = remote[len(prefix) :].split("/")
        if stamp <= newer_than or any(part in ("", ".", "..") for part in parts):
            continue
        target = local.joinpath(*parts)
        if target.is_file() and target.stat().st_mtime >= stamp:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            fs.get_file(remote, str(temporary))
            os.utime(temporary, (stamp, stamp))
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)
        pulled += 1
    return pulled


@contextlib.contextmanager
def object_lock(url: str, expiry_s: float = LOCK_EXPIRY_S, poll_s: float = LOCK_POLL_S) -> Iterator[None]:
    """Hold a lock shared by every host that reaches the bucket: an object created by a conditional
    write (If-None-Match: *), which exactly one writer wins; the others poll until it is gone.

    The object says until when it is held; a holder that died leaves it behind, and once that time
    has passed (hosts' clocks are assumed in step to well under `expiry_s`) the next writer deletes
    it on condition that it is still that object (If-Match on its ETag), so two hosts breaking the
    same stale lock cannot both win. Release is conditional too: a holder never deletes a successor's lock.
    """
    fs = filesystem(url)
    if not hasattr(fs, "call_s3"):
        raise ConfigError(f"{redact(url)}: committing runs needs conditional writes, implemented for s3:// only")
    bucket, key, _ = fs.split_path(url)
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while True:
        body = json.dumps({"holder": holder, "expires_at": time.time() + expiry_s}).encode()
        try:
            etag = fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")["ETag"]
            fs.invalidate_cache()  # what the holder reads next must include every earlier commit
            break
        except FileExistsError:  # another run holds the turn
            _break_if_expired(fs, bucket, key)
            time.sleep(poll_s)
        except OSError as exc:
            raise _unavailable(url, exc) from exc
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # already broken as expired: the successor's lock stays
            fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=etag)


def _break_if_expired(fs: Any, bucket: str, key: str) -> None:
    """Delete a lock object whose holder let it expire, only if it is still that object."""
    try:
        etag = fs.info(f"{bucket}/{key}", refresh=True)["ETag"]
        expires_at = float(json.loads(fs.cat_file(f"{bucket}/{key}"))["expires_at"])
    except FileNotFoundError:  # released meanwhile
        return
    except (ValueError, KeyError, TypeError):  # not a lock this code wrote: leave it to its writer
        return
    if time.time() > expires_at:
        with contextlib.suppress(OSError):  # replaced meanwhile (another host broke it first)
            fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=etag)


def write_parquet_bytes(frame: Any) -> bytes:
    """A polars frame as Parquet bytes, written the way the lake writes its files."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()
