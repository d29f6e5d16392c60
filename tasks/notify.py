"""Notification tasks: best effort, recorded, never failing the run."""

from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.notify import Event, assessment_events, deliver, failure_event
from joshua.run import RunContext
from joshua.runlog import delivery_lines
from joshua.settings import NotificationSettings
from joshua.store import record_deliveries
from schemas.records import Assessment


@task(task_run_name="notify-{run.run_id}", cache_policy=NO_CACHE)
def notify_assessment(
    run: RunContext,
    assessment: Assessment,
    previous_band: str | None,
    collection: Collection,
    settings: NotificationSettings,
) -> int:
    """Send the assessment's events to the configured channels; returns how many deliveries failed."""
    return send(run, assessment_events(assessment, previous_band, collection.outcomes), settings)


@task(task_run_name="notify-failure-{run.run_id}", cache_policy=NO_CACHE)
def notify_failure(run: RunContext, error: str, settings: NotificationSettings) -> int:
    """Send `assessment.failed`; returns how many deliveries failed."""
    return send(run, [failure_event(run.run_id, error)], settings)


def send(run: RunContext, events: list[Event], settings: NotificationSettings) -> int:
    """Deliver, record and log the events; returns how many deliveries failed."""
    deliveries = deliver(events, settings)
    record_deliveries(run, deliveries, datetime.now(UTC))
    for level, line in delivery_lines(deliveries):
        get_run_logger().log(level, line)
    return sum(not d.ok for d in deliveries)
