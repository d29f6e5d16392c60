"""Opening and closing a run."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.lake import sweep_staging
from joshua.run import FLOW_NAME, RunContext, open_run
from joshua.settings import load_settings
from joshua.store import abandon_run, commit_run, run_record
from schemas.records import Analysis, AssessmentParams, SourceOutcome, StageMetrics


@task(cache_policy=NO_CACHE)
def open_assessment_run(params: AssessmentParams, flow: str = FLOW_NAME) -> RunContext:
    """Read settings once and fix the run's id, clock, data and analyzer."""
    run = open_run(params, load_settings(data_dir=params.data_dir), flow=flow)
    sweep_staging(run.staging_dir.parent, run.started_at)  # what runs that died left staged
    return run


@task(cache_policy=NO_CACHE)
def commit_assessment_run(
    run: RunContext, stages: list[StageMetrics], outcomes: list[SourceOutcome], analysis: Analysis | None = None
) -> None:
    """Commit the completed run: its `runs` row makes its rows visible, then the catalog refreshes."""
    record = run_record(
        run,
        status="completed",
        ended_at=datetime.now(UTC),
        stages=stages,
        outcomes=outcomes,
        errors=[o.error for o in outcomes if o.error and o.status == "failed"],
        analysis=analysis,
    )
    commit_run(run, record)


@task(cache_policy=NO_CACHE)
def fail_assessment_run(
    run: RunContext, stages: list[StageMetrics], outcomes: list[SourceOutcome], error: str
) -> None:
    """Record a failed run and drop everything it staged: nothing partial reaches the lake."""
    failures = [o.error for o in outcomes if o.error and o.status == "failed"]
    abandon_run(
        run,
        run_record(
            run, status="failed", ended_at=datetime.now(UTC), stages=stages, outcomes=outcomes, errors=[*failures, error]
        ),
    )
