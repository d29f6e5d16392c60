"""The score task."""

from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from joshua.calibration import load_clock
from joshua.collect.collector import Collection
from joshua.risk.assess import History, build_assessment
from joshua.run import RunContext
from joshua.runlog import headline_line
from joshua.settings import RiskSettings
from joshua.structural.analyzer import structural_level
from joshua.structural.history import load_record
from schemas.records import Analysis, Assessment


@task(task_run_name="score-{run.run_id}", cache_policy=NO_CACHE)
def score_assessment(
    run: RunContext,
    analysis: Analysis,
    collection: Collection,
    history: History,
    risk: RiskSettings,
    data_label: str,
    sample_data: bool,
) -> Assessment:
    """Run the risk engine: score anchored on the structural level, interval, P(use), trend, alerts."""
    assessment = build_assessment(
        analysis,
        run_id=run.run_id,
        assessed_at=datetime.now(UTC),
        as_of=run.as_of,
        risk=risk,
        sources_ok=collection.succeeded,
        sources_failed=collection.failed,
        history=history,
        data_label=data_label,
        sample_data=sample_data,
        structural=structural_level(load_record(), run.as_of.date(), risk.weights, risk.mc_iterations),
        clock=load_clock(),
    )
    get_run_logger().info(headline_line(assessment))
    return assessment
