"""Collecting one source end to end: fetch (live or replayed), parse, stage its raw items."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
import polars as pl
from pydantic import BaseModel

from joshua.collect.fetch import build_client, fetch_source
from joshua.collect.parse import parse_response
from joshua.collect.snapshot import SnapshotTransport, load_snapshot
from joshua.errors import InsufficientData, SourceError
from joshua.lake import conform, table_path, write_parquet_atomic
from joshua.run import RunContext
from schemas.records import Source, SourceOutcome
from schemas.tables import RAW_ITEMS


def open_client(run: RunContext) -> httpx.Client:
    """The run's one HTTP client: the network when live, the snapshot when replaying."""
    transport = SnapshotTransport(load_snapshot(run.snapshot_dir)) if run.snapshot_dir else None
    return build_client(run.settings.collect.user_agent, transport)


def collect_source(client: httpx.Client, source: Source, run: RunContext) -> SourceOutcome:
    """Fetch and parse one source and stage its raw items; a failure is an outcome, not an exception."""
    started = time.perf_counter()
    limits = run.settings.collect
    try:
        fetched = fetch_source(client, source, limits.max_body_bytes)
        items = parse_response(fetched.body, source, limits.max_text_chars)
    except Exception as exc:  # noqa: BLE001 - untrusted input: one bad source must not sink the run
        error = str(exc) if isinstance(exc, SourceError) else f"{source.id}: {type(exc).__name__}: {exc}"
        return SourceOutcome(source_id=source.id, status="failed", error=error, seconds=time.perf_counter() - started)
    frame = pl.DataFrame(
        [item.model_dump() for item in items],
        schema={name: RAW_ITEMS[name] for name in ("source_id", "url", "guid", "title", "body", "published_at", "language")},
    ).with_columns(
        run_id=pl.lit(run.run_id),
        fetched_at=pl.lit(fetched.fetched_at),
        http_status=pl.lit(fetched.status),
        etag=pl.lit(fetched.headers.get("etag")),
        last_modified=pl.lit(fetched.headers.get("last-modified")),
    )
    path = table_path(run.staging_dir, "raw_items", run.run_id, source_id=source.id)
    write_parquet_atomic(conform(frame, "raw_items"), path)
    return SourceOutcome(
        source_id=source.id,
        status="ok",
        items=len(items),
        http_status=fetched.status,
        bytes=len(fetched.body),
        seconds=time.perf_counter() - started,
        path=str(path),
    )


class Collection(BaseModel):
    """The outcomes of every source a run attempted."""

    outcomes: list[SourceOutcome]

    @property
    def items_in(self) -> int:
        return len(self.outcomes)

    @property
    def items_out(self) -> int:
        return sum(outcome.items for outcome in self.outcomes)

    @property
    def succeeded(self) -> int:
        return sum(outcome.status == "ok" for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(outcome.status == "failed" for outcome in self.outcomes)


def check_coverage(outcomes: Sequence[SourceOutcome], min_sources: int) -> Collection:
    """The run's collection, or InsufficientData when fewer than `min_sources` sources succeeded."""
    collection = Collection(outcomes=list(outcomes))
    if collection.succeeded < min_sources:
        failures = "; ".join(o.error or o.source_id for o in outcomes if o.status == "failed") or "none"
        raise InsufficientData(
            f"only {collection.succeeded} of {len(outcomes)} sources succeeded, {min_sources} needed "
            f"(failures: {failures})"
        )
    return collection
