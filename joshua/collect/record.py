"""Recording: a live collection captured into a snapshot directory that replays to the same raw items."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from joshua.collect.collector import fetch_source
from joshua.collect.fetch import Fetched, Fetcher, build_client
from joshua.collect.snapshot import SnapshotRecorder
from joshua.curate.lexicon import load_lexicon
from joshua.errors import ConfigError
from joshua.run import why_skipped
from joshua.settings import Settings
from joshua.sources import load_sources
from schemas.records import Source


SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # one path segment under DATA_DIR/snapshots


@dataclass(frozen=True)
class SourceRecording:
    """What recording one source gave."""

    source_id: str
    items: int
    responses: int
    errors: list[str]


@dataclass(frozen=True)
class Recording:
    """A recorded snapshot: where it is, per-source results, and the raw items the live fetch parsed."""

    directory: Path
    sources: list[SourceRecording]
    raw_items: pl.DataFrame


def chosen_sources(settings: Settings, source_ids: list[str] | None) -> list[Source]:
    """The enabled sources, or the named ones (enabled or not); an unknown id is a ConfigError."""
    declared = load_sources(settings.sources_file)
    if not source_ids:
        return [source for source in declared if source.enabled]
    by_id = {source.id: source for source in declared}
    unknown = [source_id for source_id in source_ids if source_id not in by_id]
    if unknown:
        raise ConfigError(f"unknown source id(s) {', '.join(unknown)} (see {settings.sources_file})")
    return [by_id[source_id] for source_id in source_ids]


def record_snapshot(
    name: str, settings: Settings, source_ids: list[str] | None = None, directory: Path | None = None
) -> Recording:
    """Fetch the sources live (no HTTP cache, so every body is whole) and write them as snapshot NAME.

    The directory must not exist yet: a recording never overwrites another. Sources that need a
    missing credential are left out, as in a live run.
    """
    if directory is None:
        if not SNAPSHOT_NAME.fullmatch(name):
            raise ConfigError(
                f"snapshot name {name!r} must be a plain name (letters, digits, '.', '_', '-'); use --out for another place"
            )
        directory = settings.local_dir / "snapshots" / name
    if directory.exists():
        raise ConfigError(f"snapshot directory {directory} already exists; choose another name or --out")
    keywords = load_lexicon(settings.lexicon_file).keywords
    sources = [s for s in chosen_sources(settings, source_ids) if why_skipped(s, None, settings, keywords) is None]
    recorded_at = datetime.now(UTC)
    recorder = SnapshotRecorder(directory, name, description=f"Recorded live from {len(sources)} sources")

    def record(source: Source, url: str, fetched: Fetched) -> None:
        recorder.record(source.id, url, fetched.status, fetched.headers, fetched.body, fetched.fetched_at)

    fetcher = Fetcher(build_client(settings.collect), settings.collect, None, recorder=record)
    fetcher.register(sources)

    def fetch(source: Source):
        return fetch_source(fetcher, source, keywords, settings.credential(source.credential or ""), "recording")

    with fetcher, ThreadPoolExecutor(max_workers=settings.collect.max_workers) as pool:
        results = list(pool.map(fetch, sources))
    if recorder.responses:  # nothing answered: nothing written (the recorder creates the directory lazily)
        recorder.write_manifest(recorded_at)
    frames = [frame for result in results for frame in result.frames["raw_items"]]
    return Recording(
        directory=directory,
        sources=[
            SourceRecording(
                source_id=source.id,
                items=sum(frame.height for frame in result.frames["raw_items"]),
                responses=len(result.fetched),
                errors=[str(error) for error in result.errors],
            )
            for source, result in zip(sources, results, strict=True)
        ],
        raw_items=pl.concat(frames) if frames else pl.DataFrame(),
    )
