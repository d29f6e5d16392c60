"""The curate task."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.curate.stage import CurateResult, curate_run
from joshua.run import RunContext


@task(cache_policy=NO_CACHE)
def curate_articles(run: RunContext, collection: Collection) -> CurateResult:
    """Deduplicate, tag, score and validate the run's raw items into its articles."""
    return curate_run(run, collection.outcomes)
