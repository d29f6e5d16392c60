"""Notifications: events of a run sent to a signed webhook, a Slack-compatible webhook and email.

Delivery is best effort: each event and channel gets a few attempts with backoff, every outcome
is recorded, and nothing here ever fails a run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx

from joshua.settings import NotificationSettings
from schemas.records import Assessment, SourceOutcome

BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
CRITICAL_LEVELS = {"Critical", "Apocalyptic"}


@dataclass(frozen=True)
class Event:
    """One thing worth telling: its name, id, time and data."""

    name: str
    id: str
    timestamp: str
    data: dict

    def body(self) -> bytes:
        return json.dumps({"event": self.name, "id": self.id, "timestamp": self.timestamp, "data": self.data}).encode()

    def summary(self) -> str:
        d = self.data
        if "seconds_to_midnight" in d:
            return (
                f"JOSHUA {self.name}: {d['seconds_to_midnight']} seconds to midnight, band {d.get('risk_level')}, "
                f"confidence {d.get('confidence')}"
            )
        return f"JOSHUA {self.name}: {d.get('message') or d}"


def event(name: str, data: dict, now: datetime | None = None) -> Event:
    return Event(name, f"evt_{uuid.uuid4().hex}", (now or datetime.now(UTC)).isoformat(), data)


def assessment_events(a: Assessment, previous_band: str | None, outcomes: Sequence[SourceOutcome]) -> list[Event]:
    """The events a completed assessment raises."""
    data = {
        "assessment_id": a.assessment_id,
        "run_id": a.run_id,
        "seconds_to_midnight": a.seconds_to_midnight,
        "risk_level": a.band,
        "confidence": a.confidence.value,
        "change_from_previous": a.delta_seconds,
        "sample_data": a.sample_data,
    }
    events = [event("assessment.completed", data)]
    if previous_band is not None and previous_band != a.band:
        events.append(event("risk.level_change", data | {"previous_level": previous_band}))
    critical = [alert for alert in a.alerts if alert.level in CRITICAL_LEVELS]
    if critical:
        events.append(event("risk.critical_change", data | {"alerts": [c.message for c in critical]}))
    events += [
        event("data.source_failed", {"run_id": a.run_id, "source_id": o.source_id, "message": o.error})
        for o in outcomes
        if o.status == "failed"
    ]
    return events


def failure_event(run_id: str, error: str) -> Event:
    return event("assessment.failed", {"run_id": run_id, "message": error})


def signature(secret: str, body: bytes) -> str:
    """The X-Webhook-Signature value: HMAC-SHA256 of the body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


Sender = Callable[[Event], None]


def webhook_sender(settings: NotificationSettings, client: httpx.Client) -> Sender:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""

    def send(e: Event) -> None:
        body = e.body()
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Event": e.name,
            "X-Webhook-ID": e.id,
            "X-Webhook-Timestamp": e.timestamp,
            "X-Webhook-Signature": signature(secret, body),
        }
        client.post(settings.webhook_url, content=body, headers=headers).raise_for_status()

    return send


def slack_sender(settings: NotificationSettings, client: httpx.Client) -> Sender:
    def send(e: Event) -> None:
        client.post(settings.slack_webhook_url, json={"text": e.summary(), "username": "JOSHUA"}).raise_for_status()

    return send


def email_sender(settings: NotificationSettings) -> Sender:
    def send(e: Event) -> None:
        message = EmailMessage()
        message["Subject"] = e.summary()[:150]
        message["From"] = settings.email_from
        message["To"] = ", ".join(settings.email_to)
        message.set_content(json.dumps(json.loads(e.body()), indent=2))
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(message)

    return send


@dataclass(frozen=True)
class Delivery:
    """The outcome of sending one event to one channel."""

    event: str
    event_id: str
    channel: str
    ok: bool
    attempts: int
    error: str | None


def deliver(events: Sequence[Event], settings: NotificationSettings, sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Send each wanted event to each configured channel, retrying; never raises."""
    wanted = [e for e in events if e.name in settings.events]
    if not wanted:
        return []
    with httpx.Client(timeout=settings.timeout_s, headers={"User-Agent": "JOSHUA notifications"}) as client:
        channels: dict[str, Sender] = {}
        if settings.webhook_url:
            channels["webhook"] = webhook_sender(settings, client)
        if settings.slack_webhook_url:
            channels["slack"] = slack_sender(settings, client)
        if settings.smtp_host and settings.email_to:
            channels["email"] = email_sender(settings)
        return [_attempt(e, name, send, settings.attempts, sleep) for e in wanted for name, send in channels.items()]


def _attempt(e: Event, channel: str, send: Sender, attempts: int, sleep: Callable[[float], None]) -> Delivery:
    error = None
    for attempt in range(1, attempts + 1):
        try:
            send(e)
            return Delivery(e.name, e.id, channel, True, attempt, None)
        except (httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if attempt < attempts:
                sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
    return Delivery(e.name, e.id, channel, False, attempts, error)
