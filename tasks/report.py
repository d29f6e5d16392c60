"""Report tasks: the Markdown report and the run's Prefect artifacts."""

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.lake import table_path
from joshua.report import load_evidence, render_markdown, stage_rows, write_report
from joshua.run import RunContext
from schemas.records import Assessment, EvidenceRef, StageMetrics

REPORT_ARTIFACT_KEY = "nuclear-risk-assessment"
STAGES_ARTIFACT_KEY = "nuclear-risk-assessment-stages"


@task(cache_policy=NO_CACHE)
def report_assessment(
    run: RunContext, assessment: Assessment, collection: Collection, stages: list[StageMetrics]
) -> tuple[Path, dict[str, EvidenceRef]]:
    """Write the Markdown report and publish it as the run's markdown artifact."""
    evidence = load_evidence(table_path(run.lake_dir, "articles", run.run_id), assessment)
    markdown = render_markdown(assessment, evidence, [*collection.outcomes, *run.skipped], stages)
    path = write_report(run.reports_dir, run.run_id, markdown)
    create_markdown_artifact(key=REPORT_ARTIFACT_KEY, markdown=markdown, description=f"Assessment of run {run.run_id}")
    return path, evidence


@task(cache_policy=NO_CACHE)
def publish_stage_table(run: RunContext, stages: list[StageMetrics]) -> None:
    """Publish the run's per-stage seconds, items, tokens and cost as a table artifact."""
    create_table_artifact(key=STAGES_ARTIFACT_KEY, table=stage_rows(stages), description=f"Stages of run {run.run_id}")
