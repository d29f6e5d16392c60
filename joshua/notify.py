"""Notifications: events of a run sent to a signed webhook, a Slack-compatible webhook and email.

Delivery is best effort: each event and channel gets a few attempts with backoff, every outcome
is recorded, and nothing here ever fails a run. Event text comes from sources and models, so it is
escaped for each channel (Slack's `&<>`, one-line email headers); webhook URLs are secrets and
appear in recorded errors as scheme://host only; SMTP STARTTLS verifies the server's certificate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

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


def signature(secret: str, timestamp: str, event_id: str, body: bytes) -> str:
    """The X-Webhook-Signature value: HMAC-SHA256, hex, of `timestamp.id.body`.

    Signing the timestamp and id with the body lets a receiver refuse replays (an old timestamp, an
    id already seen); an empty secret would sign nothing and is refused.
    """
    if not secret:
        raise ValueError("refusing to sign a webhook with an empty secret")
    signed = f"{timestamp}.{event_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def slack_escape(text: str) -> str:
    """Text for a Slack message: `&`, `<` and `>` escaped, so no <!channel> or <url|label> from a source."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header_value(text: str) -> str:
    """Text for an email header: control characters (CR and LF included) become spaces."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def redacted(url: str) -> str:
    """A URL reduced to scheme://host, for anything recorded or logged."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


Sender = Callable[[Event], None]


class DeliveryFailed(Exception):
    """A channel refused or could not take a delivery; the message is safe to record."""


def _post(client: httpx.Client, url: str, **kwargs: Any) -> None:
    """POST to a webhook; a failure names the URL by scheme and host only (the rest is a secret)."""
    try:
        client.post(url, **kwargs).raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise DeliveryFailed(f"HTTP {exc.response.status_code} from {redacted(url)}") from None
    except httpx.TransportError as exc:  # the connection's own words ("Connection refused"), scrubbed
        raise DeliveryFailed(f"{type(exc).__name__} from {redacted(url)}: {_scrubbed(str(exc), url)}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryFailed(f"{type(exc).__name__} from {redacted(url)}") from None


def _scrubbed(text: str, url: str) -> str:
    """An error text without the URL, its path or its query."""
    parts = urlsplit(url)
    for secret in (url, parts.path, parts.query):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text


def webhook_sender(url: str, secret: str, client: httpx.Client) -> Sender:
    def send(e: Event) -> None:
        body = e.body()
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Event": e.name,
            "X-Webhook-ID": e.id,
            "X-Webhook-Timestamp": e.timestamp,
            "X-Webhook-Signature": signature(secret, e.timestamp, e.id, body),
        }
        _post(client, url, content=body, headers=headers)

    return send


def slack_sender(url: str, client: httpx.Client) -> Sender:
    def send(e: Event) -> None:
        _post(client, url, json={"text": slack_escape(e.summary()), "username": "JOSHUA"})

    return send


def email_sender(settings: NotificationSettings) -> Sender:
    # Verified certificates and host names; a private CA can be named in smtp_ca_file.
    tls = ssl.create_default_context(cafile=settings.smtp_ca_file)

    def send(e: Event) -> None:
        message = EmailMessage()
        message["Subject"] = header_value(e.summary())[:150]
        message["From"] = header_value(settings.email_from)
        message["To"] = ", ".join(header_value(address) for address in settings.email_to)
        message.set_content(json.dumps(json.loads(e.body()), indent=2))
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=tls)
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
        if settings.webhook_url and settings.webhook_secret:  # settings refuse a webhook without a secret
            channels["webhook"] = webhook_sender(
                settings.webhook_url.get_secret_value(), settings.webhook_secret.get_secret_value(), client
            )
        if settings.slack_webhook_url:
            channels["slack"] = slack_sender(settings.slack_webhook_url.get_secret_value(), client)
        if settings.smtp_host and settings.email_to:
            channels["email"] = email_sender(settings)
        return [_attempt(e, name, send, settings.attempts, sleep) for e in wanted for name, send in channels.items()]


def _attempt(e: Event, channel: str, send: Sender, attempts: int, sleep: Callable[[float], None]) -> Delivery:
    error = None
    for attempt in range(1, attempts + 1):
        try:
            send(e)
            return Delivery(e.name, e.id, channel, True, attempt, None)
        except (DeliveryFailed, smtplib.SMTPException, OSError, ValueError) as exc:
            error = str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}"
            if attempt < attempts:
                sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
    return Delivery(e.name, e.id, channel, False, attempts, error)
