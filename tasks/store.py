"""The store task."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.run import RunContext
from joshua.store import StoreResult, publish_run, stage_assessment
from schemas.records import Assessment


@task(task_run_name="store-{run.run_id}", cache_policy=NO_CACHE)
def store_assessment(run: RunContext, assessment: Assessment) -> StoreResult:
    """Stage the assessment rows and move all of the run's files into the lake."""
    stage_assessment(run, assessment)
    return publish_run(run)


@task(task_run_name="store-{run.run_id}", cache_policy=NO_CACHE)
def publish_collection(run: RunContext) -> StoreResult:
    """Move a collection run's raw items and articles into the lake."""
    return publish_run(run)
