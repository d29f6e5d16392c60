"""Report tasks: the report files and the run's Prefect artifacts."""

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from joshua.catalog import connect_lake
from joshua.collect.collector import Collection
from joshua.reporting.data import ReportResult, load_considered, load_evidence, run_report_data
from joshua.reporting.markdown import render_markdown, summary_markdown
from joshua.reporting.text import stage_rows
from joshua.reporting.write import write_report
from joshua.run import RunContext
from joshua.runlog import report_line, source_rows
from joshua.settings import RiskSettings
from joshua.store import StoreResult, publish_reports
from schemas.records import Assessment, StageMetrics

REPORT_ARTIFACT_KEY = "nuclear-risk-assessment"
REPORT_LINK_KEY = "nuclear-risk-assessment-report"
STAGES_ARTIFACT_KEY = "nuclear-risk-assessment-stages"
COLLECTION_ARTIFACT_KEY = "nuclear-risk-collection"


@task(task_run_name="report-{run.run_id}", cache_policy=NO_CACHE)
def report_assessment(
    run: RunContext,
    assessment: Assessment,
    stored: StoreResult,
    collection: Collection,
    stages: list[StageMetrics],
    risk: RiskSettings,
    reports_url: str | None,
) -> ReportResult:
    """Write the Markdown, HTML and JSON reports; publish the full report as a markdown artifact, and
    a link to the HTML when `reports_url` says where data/reports is served."""
    articles = stored.path_of("articles")
    evidence, considered = load_evidence(articles, assessment), load_considered(articles)
    with connect_lake(run.paths.lake, only=frozenset({"assessments", "risk_factors", "alerts", "calibration"})) as con:
        data = run_report_data(con, assessment, evidence, collection.everything, stages, considered)
    paths = write_report(data, run.paths.reports, risk)
    publish_reports(run.paths, since=run.started_at.timestamp())
    base = reports_url.rstrip("/") if reports_url else None
    charts = f"{base}/{run.run_id}" if base else None  # without a served URL the UI could not load them
    report = f"{summary_markdown(data)}\n\n---\n\n{render_markdown(data, chart_dir=charts)}"  # headline first
    create_markdown_artifact(key=REPORT_ARTIFACT_KEY, markdown=report, description=f"Report of run {run.run_id}")
    if base:
        create_link_artifact(
            key=REPORT_LINK_KEY, link=f"{base}/{run.run_id}.html", link_text="HTML report", description=f"Run {run.run_id}"
        )
    get_run_logger().info(report_line(paths))
    return ReportResult(files=paths, evidence=evidence)


@task(task_run_name="stages-{run.run_id}", cache_policy=NO_CACHE)
def publish_stage_table(run: RunContext, stages: list[StageMetrics]) -> None:
    """Publish the run's per-stage seconds, items, Claude calls, tokens and cost as a table artifact."""
    create_table_artifact(key=STAGES_ARTIFACT_KEY, table=stage_rows(stages), description=f"Stages of run {run.run_id}")


@task(task_run_name="sources-{run.run_id}", cache_policy=NO_CACHE)
def publish_collection_table(run: RunContext, collection: Collection, stages: list[StageMetrics]) -> None:
    """Publish what a collection run did, source by source, as a table artifact."""
    done = ", ".join(f"{s.stage} {s.seconds:.1f} s ({s.items_in} in, {s.items_out} out)" for s in stages)
    rows = source_rows(collection.everything)
    create_table_artifact(key=COLLECTION_ARTIFACT_KEY, table=rows, description=f"Collection run {run.run_id}: {done}")
