"""Collect tasks: one per source, mapped in parallel by the flow."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from joshua.collect.collector import Collection, check_coverage, collect_source, lent_fetcher
from schemas.records import Source, SourceOutcome


@task(task_run_name="collect-{source.id}", cache_policy=NO_CACHE)
def collect(
    source: Source,
    fetch_layer: str,
    keywords: dict[str, list[str]],
    credential: SecretStr | None,
    staging: Path,
    run_id: str,
) -> SourceOutcome:
    """Fetch, parse and stage one source through the fetch layer lent under `fetch_layer`; its
    failure is an outcome, not an exception (no task retries: the fetch layer retries each request)."""
    return collect_source(lent_fetcher(fetch_layer), source, keywords, credential, staging, run_id)


@task(cache_policy=NO_CACHE)
def check_collection(collection: Collection, min_sources: int) -> Collection:
    """Stop the run with InsufficientData when too few sources succeeded."""
    return check_coverage(collection, min_sources)
