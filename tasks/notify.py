"""Notification tasks: best effort, recorded, never failing the run."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.notify import assessment_events, deliver, failure_event
from joshua.run import RunContext
from joshua.settings import NotificationSettings
from joshua.store import record_deliveries
from schemas.records import Assessment


@task(cache_policy=NO_CACHE)
def notify_assessment(
    run: RunContext,
    assessment: Assessment,
    previous_band: str | None,
    collection: Collection,
    settings: NotificationSettings,
) -> int:
    """Send the assessment's events to the configured channels; returns how many deliveries failed."""
    events = assessment_events(assessment, previous_band, collection.outcomes)
    deliveries = deliver(events, settings)
    record_deliveries(run, deliveries, datetime.now(UTC))
    return sum(not d.ok for d in deliveries)


@task(cache_policy=NO_CACHE)
def notify_failure(run: RunContext, error: str, settings: NotificationSettings) -> int:
    """Send `assessment.failed`; returns how many deliveries failed."""
    deliveries = deliver([failure_event(run.run_id, error)], settings)
    record_deliveries(run, deliveries, datetime.now(UTC))
    return sum(not d.ok for d in deliveries)
