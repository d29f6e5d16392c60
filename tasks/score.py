"""The score task."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.risk.assess import build_assessment
from joshua.run import RunContext
from joshua.store import previous_seconds
from schemas.records import Analysis, Assessment


@task(cache_policy=NO_CACHE)
def score_assessment(run: RunContext, analysis: Analysis, collection: Collection) -> Assessment:
    """Turn factor ratings into the score, seconds to midnight, band, confidence and trend."""
    risk = run.settings.risk
    return build_assessment(
        analysis,
        run_id=run.run_id,
        assessed_at=datetime.now(UTC),
        as_of=run.as_of,
        weights=risk.weights,
        bands=risk.bands,
        mapping=risk.mapping,
        sources_ok=collection.succeeded,
        sources_failed=collection.failed,
        previous_seconds=previous_seconds(run),
        data_label=run.data_label,
        sample_data=run.sample_data,
    )
