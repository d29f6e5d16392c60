"""Report tasks: the report files and the run's Prefect artifacts."""

from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from joshua.catalog import connect_lake
from joshua.collect.collector import Collection
from joshua.reporting.data import ReportResult, load_evidence, run_report_data
from joshua.reporting.markdown import summary_markdown
from joshua.reporting.text import stage_rows
from joshua.reporting.write import write_report
from joshua.run import RunContext
from joshua.settings import RiskSettings
from joshua.store import StoreResult
from schemas.records import Assessment, StageMetrics

REPORT_ARTIFACT_KEY = "nuclear-risk-assessment"
REPORT_LINK_KEY = "nuclear-risk-assessment-report"
STAGES_ARTIFACT_KEY = "nuclear-risk-assessment-stages"


@task(cache_policy=NO_CACHE)
def report_assessment(
    run: RunContext,
    assessment: Assessment,
    stored: StoreResult,
    collection: Collection,
    stages: list[StageMetrics],
    risk: RiskSettings,
) -> ReportResult:
    """Write the Markdown, HTML and JSON reports; publish the summary and a link to the HTML."""
    evidence = load_evidence(stored.path_of("articles"), assessment)
    with connect_lake(run.paths.lake, only=frozenset({"assessments", "risk_factors", "alerts", "calibration"})) as con:
        data = run_report_data(con, assessment, evidence, collection.everything, stages)
    paths = write_report(data, run.paths.reports, risk)
    create_markdown_artifact(key=REPORT_ARTIFACT_KEY, markdown=summary_markdown(data), description=f"Run {run.run_id}")
    create_link_artifact(
        key=REPORT_LINK_KEY, link=paths["html"].resolve().as_uri(), link_text="HTML report", description=f"Run {run.run_id}"
    )
    return ReportResult(files=paths, evidence=evidence)


@task(cache_policy=NO_CACHE)
def publish_stage_table(run: RunContext, stages: list[StageMetrics]) -> None:
    """Publish the run's per-stage seconds, items, Claude calls, tokens and cost as a table artifact."""
    create_table_artifact(key=STAGES_ARTIFACT_KEY, table=stage_rows(stages), description=f"Stages of run {run.run_id}")
