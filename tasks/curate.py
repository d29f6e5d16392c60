"""The curate task."""

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.curate.stage import CurateResult, curate_run
from joshua.run import RunContext
from joshua.runlog import curate_line


@task(task_run_name="curate-{run.run_id}", cache_policy=NO_CACHE)
def curate_articles(run: RunContext, collection: Collection) -> CurateResult:
    """Deduplicate, tag, score and validate the run's raw items into its articles."""
    curated = curate_run(run, collection.outcomes)
    get_run_logger().info(curate_line(curated))
    return curated
