"""Collect tasks: one per source, mapped in parallel by the flow."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import Failed, State
from pydantic import SecretStr

from joshua.collect.collector import Collection, check_coverage, collect_source, lent_fetcher
from joshua.runlog import skipped_line, source_line
from schemas.records import Source, SourceOutcome


@task(task_run_name="collect-{source.id}", cache_policy=NO_CACHE)
def collect(
    source: Source,
    fetch_layer: str,
    keywords: dict[str, list[str]],
    credential: SecretStr | None,
    staging: Path,
    run_id: str,
) -> SourceOutcome | State:
    """Fetch, parse and stage one source through the fetch layer lent under `fetch_layer` (no task
    retries: the fetch layer retries each request).

    A failed source ends its task run Failed, carrying its outcome, so the UI shows which source
    failed; the flow reads the outcome with `source_outcome` and carries on.
    """
    outcome = collect_source(lent_fetcher(fetch_layer), source, keywords, credential, staging, run_id)
    level, line = source_line(outcome)
    get_run_logger().log(level, line)
    return Failed(message=line, data=outcome) if outcome.status == "failed" else outcome


def source_outcome(future: PrefectFuture[SourceOutcome]) -> SourceOutcome:
    """A collect task's outcome, failed or not; an exception the task did not expect is raised."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@task(task_run_name="check-coverage", cache_policy=NO_CACHE)
def check_collection(collection: Collection, min_sources: int) -> Collection:
    """Stop the run with InsufficientData when too few sources succeeded."""
    logger = get_run_logger()
    for outcome in collection.skipped:
        logger.info(skipped_line(outcome))
    return check_coverage(collection, min_sources)
