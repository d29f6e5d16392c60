"""Opening and closing a run."""

from datetime import UTC, datetime

from prefect import get_client, get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from joshua.collect.collector import Collection
from joshua.lake import sweep_staging
from joshua.risk.assess import History
from joshua.run import FLOW_NAME, RunContext, RunInputs, open_run, run_tags
from joshua.settings import Settings, load_settings
from joshua.store import abandon_run, commit_run, load_history, pull_caches, run_record
from schemas.records import Analysis, AssessmentParams, Source, StageMetrics


def read_secret_block(name: str) -> str:
    """The value of a Prefect Secret block (a missing block raises ValueError)."""
    return str(Secret.load(name).get())


def with_secret_blocks(settings: Settings) -> Settings:
    """Settings with the secrets the environment left unset read from their Prefect Secret blocks."""
    values = {}
    for secret, block in settings.missing_secret_blocks().items():
        try:
            values[secret] = read_secret_block(block)
        except ValueError:  # Secret.load's answer for a block that does not exist
            get_run_logger().warning(f"Prefect Secret block {block!r} not found: {secret} stays unset")
    return settings.with_secrets(values)


def tag_flow_run(tags: list[str]) -> None:
    """Add tags to the running flow run (its deployment's tags stay)."""
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(flow_run.id).tags
        client.update_flow_run(flow_run.id, tags=sorted({*current, *tags}))


@task(task_run_name="open-{params.run_id}", cache_policy=NO_CACHE)
def open_assessment_run(params: AssessmentParams, flow: str = FLOW_NAME) -> tuple[RunContext, RunInputs]:
    """Read settings once, fix the run's id, clock, paths, data and analyzer, and tag the flow run."""
    run, inputs = open_run(params, with_secret_blocks(load_settings(data_dir=params.data_dir)), flow=flow)
    sweep_staging(run.paths.staging.parent, run.started_at)  # what runs that died left staged
    pull_caches(run.paths, inputs.settings.claude.cache_ttl_hours, run.started_at.timestamp())  # an object store's caches
    tag_flow_run(run_tags(run, inputs))
    sources = f"{len(inputs.sources)} of {len(inputs.declared)} sources"
    get_run_logger().info(f"run {run.run_id}: {inputs.data_label}, analyzer {inputs.analyzer.name}, {sources}")
    return run, inputs


@task(task_run_name="history-{run.run_id}", cache_policy=NO_CACHE)
def read_history(run: RunContext) -> History:
    """The earlier committed assessments, read once for every stage that needs them."""
    return load_history(run)


@task(task_run_name="commit-{run.run_id}", cache_policy=NO_CACHE)
def commit_assessment_run(
    run: RunContext,
    analyzer: str,
    data_label: str,
    stages: list[StageMetrics],
    collection: Collection,
    analysis: Analysis | None = None,
    declared: list[Source] | None = None,
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
    problem = commit_run(run, record, declared or ())
    if problem:
        get_run_logger().warning(problem)


@task(task_run_name="fail-{run.run_id}", cache_policy=NO_CACHE)
def fail_assessment_run(
    run: RunContext,
    analyzer: str,
    data_label: str,
    stages: list[StageMetrics],
    collection: Collection,
    error: str,
    declared: list[Source] | None = None,
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
    problem = abandon_run(run, record, declared or ())
    if problem:
        get_run_logger().warning(problem)
