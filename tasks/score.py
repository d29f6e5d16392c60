"""The score task."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.calibration import load_clock
from joshua.risk.assess import build_assessment
from joshua.run import RunContext
from joshua.store import load_history
from joshua.structural.analyzer import structural_level
from joshua.structural.history import load_record
from schemas.records import Analysis, Assessment


@task(cache_policy=NO_CACHE)
def score_assessment(run: RunContext, analysis: Analysis, collection: Collection) -> Assessment:
    """Run the risk engine: score anchored on the structural level, interval, P(use), trend, alerts."""
    return build_assessment(
        analysis,
        run_id=run.run_id,
        assessed_at=datetime.now(UTC),
        as_of=run.as_of,
        risk=run.settings.risk,
        sources_ok=collection.succeeded,
        sources_failed=collection.failed,
        history=load_history(run),
        data_label=run.data_label,
        sample_data=run.sample_data,
        structural=structural_level(
            load_record(), run.as_of.date(), run.settings.risk.weights, run.settings.risk.mc_iterations
        ),
        clock=load_clock(),
    )
