"""Collecting one source end to end: fetch (live or replayed), parse, stage its raw items."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx
import polars as pl
from pydantic import BaseModel

from joshua.collect.fetch import Fetched, build_client, fetch_source
from joshua.collect.parse import parse_response
from joshua.collect.snapshot import SnapshotTransport, load_snapshot
from joshua.errors import InsufficientData, SourceError
from joshua.lake import conform, table_path, write_parquet_atomic
from joshua.run import RunContext
from joshua.settings import CollectSettings
from schemas.records import RawItem, Source, SourceOutcome
from schemas.tables import RAW_ITEMS


def open_client(run: RunContext) -> httpx.Client:
    """The run's one HTTP client: the network when live, the snapshot when replaying."""
    transport = SnapshotTransport(load_snapshot(run.snapshot_dir)) if run.snapshot_dir else None
    return build_client(run.settings.collect.user_agent, transport)


def raw_items_frame(items: list[RawItem], fetched: Fetched, run_id: str) -> pl.DataFrame:
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


def fetch_raw_items(client: httpx.Client, source: Source, limits: CollectSettings, run_id: str) -> tuple[pl.DataFrame, Fetched]:
    """Fetch and parse one source into `raw_items` rows; SourceError when it cannot be used."""
    try:
        fetched = fetch_source(client, source, limits.max_body_bytes)
        items = parse_response(fetched.body, source, limits.max_text_chars)
    except SourceError:
        raise
    except Exception as exc:  # untrusted input: an unforeseen parser failure is this source's failure
        raise SourceError(f"{source.id}: {type(exc).__name__}: {exc}") from exc
    return raw_items_frame(items, fetched, run_id), fetched


def collect_source(client: httpx.Client, source: Source, run: RunContext) -> SourceOutcome:
    """Fetch and parse one source and stage its raw items; a failure is an outcome, not an exception."""
    started = time.perf_counter()
    try:
        frame, fetched = fetch_raw_items(client, source, run.settings.collect, run.run_id)
    except SourceError as exc:
        return SourceOutcome(source_id=source.id, status="failed", error=str(exc), seconds=time.perf_counter() - started)
    path = write_parquet_atomic(frame, table_path(run.staging_dir, "raw_items", run.run_id, source_id=source.id))
    return SourceOutcome(
        source_id=source.id,
        status="ok",
        items=frame.height,
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
