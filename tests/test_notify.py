"""Notifications against local receivers on 127.0.0.1: an HTTP server and an SMTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from joshua.notify import assessment_events, deliver, event, failure_event, signature
from joshua.settings import NotificationSettings
from schemas.records import Alert, SourceOutcome
from tests.test_reporting import assessment


class Receiver:
    """An HTTP receiver that records requests and answers with scripted statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[tuple[dict, bytes]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=None):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox
    controller.stop()


def no_sleep(seconds: float) -> None:
    return None


def test_events_of_an_assessment():
    a = assessment()
    names = [e.name for e in assessment_events(a, "low", [SourceOutcome(source_id="x", status="failed", error="x: HTTP 500")])]
    assert names == ["assessment.completed", "risk.level_change", "data.source_failed"]
    assert [e.name for e in assessment_events(a, a.band, [])] == ["assessment.completed"]
    critical = a.model_copy(update={"alerts": [Alert(level="Critical", kind="band", message="m", threshold=100, value=90)]})
    assert [e.name for e in assessment_events(critical, a.band, [])] == ["assessment.completed", "risk.critical_change"]


def test_signed_webhook(receiver):
    hook = receiver()
    settings = NotificationSettings(webhook_url=hook.url, webhook_secret="s3cret")
    deliveries = deliver([event("assessment.completed", {"seconds_to_midnight": 99})], settings, sleep=no_sleep)
    assert [(d.channel, d.ok, d.attempts) for d in deliveries] == [("webhook", True, 1)]
    headers, body = hook.requests[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] == expected == signature("s3cret", body)
    assert headers["x-webhook-event"] == "assessment.completed"
    payload = json.loads(body)
    assert headers["x-webhook-id"] == payload["id"] and headers["x-webhook-timestamp"] == payload["timestamp"]
    assert payload["data"]["seconds_to_midnight"] == 99


def test_slack_and_retries(receiver):
    slack = receiver([500, 503])
    settings = NotificationSettings(slack_webhook_url=slack.url, attempts=3)
    [delivery] = deliver([failure_event("run-1", "InsufficientData: only 1 of 3")], settings, sleep=no_sleep)
    assert delivery.ok and delivery.attempts == 3 and len(slack.requests) == 3
    text = json.loads(slack.requests[-1][1])["text"]
    assert "assessment.failed" in text and "InsufficientData" in text


def test_failed_delivery_is_recorded_not_raised(receiver):
    down = receiver([500, 500, 500])
    settings = NotificationSettings(webhook_url=down.url, attempts=3)
    [delivery] = deliver([event("assessment.completed", {})], settings, sleep=no_sleep)
    assert not delivery.ok and delivery.attempts == 3 and "500" in delivery.error
    unreachable = NotificationSettings(webhook_url="http://127.0.0.1:9/hook", attempts=2, timeout_s=1)
    [delivery] = deliver([event("assessment.completed", {})], unreachable, sleep=no_sleep)
    assert not delivery.ok and "ConnectError" in delivery.error


def test_email(smtp):
    controller, mailbox = smtp
    settings = NotificationSettings(
        smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False,
        email_to=["ops@example.org"],
    )
    [delivery] = deliver([event("risk.critical_change", {"seconds_to_midnight": 45, "risk_level": "critical"})], settings)
    assert delivery.ok and delivery.channel == "email"
    message = mailbox.messages[0]
    assert message.rcpt_tos == ["ops@example.org"] and b"45 seconds to midnight" in message.content


def test_only_wanted_events_and_no_channels():
    assert deliver([event("assessment.completed", {})], NotificationSettings()) == []
    settings = NotificationSettings(webhook_url="http://127.0.0.1:9/x", events=["assessment.failed"])
    assert deliver([event("assessment.completed", {})], settings) == []
