"""Collecting one source end to end: its requests fetched (live or replayed), parsed, staged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from pydantic import BaseModel, SecretStr

from joshua.collect.endpoints import source_requests
from joshua.collect.fetch import Fetched, Fetcher, HttpCache, build_client
from joshua.collect.parse import SIGNAL_KINDS, parse_gdelt_timeline, parse_response
from joshua.collect.snapshot import Snapshot, SnapshotTransport
from joshua.errors import FetchError, InsufficientData, ParseError, SourceError
from joshua.lake import conform, table_path, write_parquet_atomic
from joshua.settings import CollectSettings
from schemas.records import RawItem, Source, SourceOutcome, StageCounts
from schemas.tables import RAW_ITEMS


class FetchPlan(BaseModel):
    """What a run's fetch layer is built from: settings, the snapshot (or the network), the cache
    directory and the sources (for each host's interval). Small and typed, unlike the layer itself."""

    settings: CollectSettings
    snapshot: Snapshot | None
    cache_dir: Path | None
    sources: list[Source]


def fetch_plan(settings: CollectSettings, snapshot: Snapshot | None, sources: list[Source], cache_root: Path, use_cache: bool) -> FetchPlan:
    """A run's fetch plan; live responses and each snapshot's replies are cached apart."""
    namespace = "live" if snapshot is None else f"snapshot-{snapshot.directory.resolve().name}"
    cache_dir = cache_root / "http" / namespace if settings.http_cache and use_cache else None
    return FetchPlan(settings=settings, snapshot=snapshot, cache_dir=cache_dir, sources=sources)


def open_fetcher(plan: FetchPlan) -> Fetcher:
    """A fetch layer: the network when live, the snapshot when replaying.

    A replay runs the same retry path but does not wait (no rate limit, no backoff sleeps): the
    recorded answers cannot change, so waiting would only slow tests and demos.
    """
    live = plan.snapshot is None
    client = build_client(plan.settings, None if live else SnapshotTransport(plan.snapshot))
    cache = HttpCache(plan.cache_dir) if plan.cache_dir else None
    fetcher = Fetcher(client, plan.settings, cache, rate_limited=live, sleep=time.sleep if live else no_wait)
    fetcher.register(plan.sources)
    return fetcher


_open_layers: dict[str, Fetcher] = {}


@contextmanager
def fetch_layer(name: str, plan: FetchPlan) -> Iterator[str]:
    """Open one fetch layer (one client, rate limiter and cache) and lend it by name.

    Tasks receive the name, never the client: the layer lives in this process for the duration
    of the block, so every source of a run shares its per-host politeness and connection pool.
    """
    fetcher = open_fetcher(plan)
    _open_layers[name] = fetcher
    try:
        yield name
    finally:
        del _open_layers[name]
        fetcher.close()


def lent_fetcher(name: str) -> Fetcher:
    """The fetch layer opened under `name` by `fetch_layer`."""
    try:
        return _open_layers[name]
    except KeyError:
        raise RuntimeError(f"no fetch layer {name!r} is open in this process") from None


def no_wait(seconds: float) -> None:
    """A sleep that returns at once (replays)."""


def items_frame(items: list[RawItem], fetched: Fetched, run_id: str) -> pl.DataFrame:
    """Parsed items of one response as rows of the `raw_items` table."""
    parsed = pl.DataFrame(
        [item.model_dump() for item in items], schema={name: RAW_ITEMS[name] for name in RawItem.model_fields}
    )
    return conform(
        parsed.with_columns(
            run_id=pl.lit(run_id),
            fetched_at=pl.lit(fetched.fetched_at),
            http_status=pl.lit(fetched.status),
            etag=pl.lit(fetched.headers.get("etag")),
            last_modified=pl.lit(fetched.headers.get("last-modified")),
        ),
        "raw_items",
    )


def signals_frame(fetched: Fetched, source: Source, run_id: str) -> pl.DataFrame:
    """A timeline response as rows of the `signals` table."""
    points = parse_gdelt_timeline(fetched.body, source, fetched.headers.get("content-type"))
    return conform(pl.DataFrame([p.model_dump() for p in points]).with_columns(run_id=pl.lit(run_id)), "signals")


@dataclass
class SourceFetch:
    """Everything one source's requests gave: frames per table, costs, and the failures."""

    frames: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: {"raw_items": [], "signals": []})
    fetched: list[Fetched] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)


def fetch_source(fetcher: Fetcher, source: Source, keywords: dict[str, list[str]], credential: str | None, run_id: str) -> SourceFetch:
    """Fetch and parse every request of a source; a request's failure is recorded, not raised."""
    result, limits = SourceFetch(), fetcher.settings
    for request in source_requests(source, keywords, credential):
        fetched = None
        try:
            fetched = fetcher.fetch(source, request)
            if source.kind in SIGNAL_KINDS:
                result.frames["signals"].append(signals_frame(fetched, source, run_id))
            else:
                items = parse_response(fetched.body, source, limits.max_text_chars, fetched.headers.get("content-type"))
                result.frames["raw_items"].append(items_frame(items, fetched, run_id))
            result.fetched.append(fetched)
        except SourceError as exc:
            result.errors.append(exc.at(request.url))
            fetcher.forget(request)  # a body that failed to parse must not be served from the cache
        except Exception as exc:  # untrusted input: an unforeseen failure is this source's failure
            kind = FetchError if fetched is None else ParseError
            result.errors.append(kind(source.id, request.url, f"{type(exc).__name__}: {exc}"))
            fetcher.forget(request)
    return result


def collect_source(
    fetcher: Fetcher,
    source: Source,
    keywords: dict[str, list[str]],
    credential: SecretStr | None,
    staging: Path,
    run_id: str,
) -> SourceOutcome:
    """Fetch, parse and stage one source; a failure is an outcome, not an exception.

    A source with several requests (subreddits, keyword chunks) succeeds when any of them does;
    the others' errors stay on its outcome.
    """
    started = time.perf_counter()
    secret = credential.get_secret_value() if credential else None
    result = fetch_source(fetcher, source, keywords, secret, run_id)
    costs = {
        "fetches": len(result.fetched) + len(result.errors),
        "requests": sum(f.requests for f in result.fetched) + len(result.errors),
        "not_modified": sum(f.cache == "revalidated" for f in result.fetched),
        "cache_hits": sum(f.cache != "miss" for f in result.fetched),
        "retries": sum(f.retries for f in result.fetched),
        "bytes": sum(f.wire_bytes for f in result.fetched),
    }
    error = "; ".join(map(str, result.errors)) or None
    error_type = type(result.errors[0]).__name__ if result.errors else None
    if not result.fetched:
        return SourceOutcome(
            source_id=source.id,
            status="failed",
            error=error,
            error_type=error_type,
            seconds=time.perf_counter() - started,
            **costs,
        )
    path = None
    for table, frames in result.frames.items():
        if frames:
            written = write_parquet_atomic(pl.concat(frames), table_path(staging, table, run_id, source_id=source.id))
            path = str(written) if table == "raw_items" else path
    return SourceOutcome(
        source_id=source.id,
        status="ok",
        items=sum(frame.height for frame in result.frames["raw_items"]),
        http_status=result.fetched[-1].status,
        seconds=time.perf_counter() - started,
        error=error,
        error_type=error_type,
        path=path,
        **costs,
    )


class Collection(BaseModel):
    """The outcomes of every source a run attempted, and of those it skipped."""

    outcomes: list[SourceOutcome]
    skipped: list[SourceOutcome] = []

    @property
    def everything(self) -> list[SourceOutcome]:
        """Attempted and skipped outcomes: what the run records and reports."""
        return [*self.outcomes, *self.skipped]

    def metrics(self) -> StageCounts:
        return StageCounts(items_in=len(self.outcomes), items_out=sum(outcome.items for outcome in self.outcomes))

    @property
    def succeeded(self) -> int:
        return sum(outcome.status == "ok" for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(outcome.status == "failed" for outcome in self.outcomes)


def check_coverage(collection: Collection, min_sources: int) -> Collection:
    """The run's collection, or InsufficientData when fewer than `min_sources` sources succeeded."""
    outcomes = collection.outcomes
    if collection.succeeded < min_sources:
        failures = "; ".join(o.error or o.source_id for o in outcomes if o.status == "failed") or "none"
        raise InsufficientData(
            f"only {collection.succeeded} of {len(outcomes)} sources succeeded, {min_sources} needed "
            f"(failures: {failures})"
        )
    return collection


def collect_sample_items(snapshot: Snapshot, sources: list[Source], keywords: dict[str, list[str]], limits: CollectSettings) -> pl.DataFrame:
    """All raw items a snapshot holds for the sources, parsed as a run would (nothing is written)."""
    client = build_client(limits, SnapshotTransport(snapshot))
    with Fetcher(client, limits, None, rate_limited=False, sleep=no_wait) as fetcher:
        frames = [frame for source in sources for frame in fetch_source(fetcher, source, keywords, None, "sample").frames["raw_items"]]
    return pl.concat(frames) if frames else pl.DataFrame(schema=RAW_ITEMS)
