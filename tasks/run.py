"""Opening and closing a run."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.lake import sweep_staging
from joshua.risk.assess import History
from joshua.run import FLOW_NAME, RunContext, RunInputs, open_run
from joshua.settings import load_settings
from joshua.store import abandon_run, commit_run, load_history, run_record
from schemas.records import Analysis, AssessmentParams, StageMetrics


@task(cache_policy=NO_CACHE)
def open_assessment_run(params: AssessmentParams, flow: str = FLOW_NAME) -> tuple[RunContext, RunInputs]:
    """Read settings once and fix the run's id, clock, paths, data and analyzer."""
    run, inputs = open_run(params, load_settings(data_dir=params.data_dir), flow=flow)
    sweep_staging(run.paths.staging.parent, run.started_at)  # what runs that died left staged
    return run, inputs


@task(cache_policy=NO_CACHE)
def read_history(run: RunContext) -> History:
    """The earlier committed assessments, read once for every stage that needs them."""
    return load_history(run)


@task(cache_policy=NO_CACHE)
def commit_assessment_run(
    run: RunContext,
    analyzer: str,
    data_label: str,
    stages: list[StageMetrics],
    collection: Collection,
    analysis: Analysis | None = None,
) -> None:
    """Commit the completed run: its `runs` row makes its rows visible, then the catalog refreshes."""
    record = run_record(
        run,
        status="completed",
        ended_at=datetime.now(UTC),
        analyzer=analyzer,
        data_label=data_label,
        stages=stages,
        outcomes=collection.everything,
        errors=[o.error for o in collection.outcomes if o.error and o.status == "failed"],
        analysis=analysis,
    )
    commit_run(run, record)


@task(cache_policy=NO_CACHE)
def fail_assessment_run(
    run: RunContext, analyzer: str, data_label: str, stages: list[StageMetrics], collection: Collection, error: str
) -> None:
    """Record a failed run and drop everything it staged: nothing partial reaches the lake."""
    failures = [o.error for o in collection.outcomes if o.error and o.status == "failed"]
    record = run_record(
        run,
        status="failed",
        ended_at=datetime.now(UTC),
        analyzer=analyzer,
        data_label=data_label,
        stages=stages,
        outcomes=collection.everything,
        errors=[*failures, error],
    )
    abandon_run(run, record)
