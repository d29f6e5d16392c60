"""Collect tasks: one per source, mapped in parallel by the flow."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection, check_coverage, collect_source
from joshua.collect.fetch import Fetcher
from joshua.run import RunContext
from schemas.records import Source, SourceOutcome


@task(task_run_name="collect-{source.id}", cache_policy=NO_CACHE)
def collect(fetcher: Fetcher, source: Source, run: RunContext) -> SourceOutcome:
    """Fetch, parse and stage one source; its failure is an outcome, not an exception (no task retries:
    the fetch layer retries each request)."""
    return collect_source(fetcher, source, run)


@task(cache_policy=NO_CACHE)
def check_collection(run: RunContext, outcomes: list[SourceOutcome]) -> Collection:
    """Stop the run with InsufficientData when too few sources succeeded."""
    return check_coverage(outcomes, run.min_sources)
