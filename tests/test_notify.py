"""Notifications against local receivers on 127.0.0.1: an HTTP server and an SMTP server."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

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


class HeldPortController(Controller):
    """aiosmtpd's controller on a socket bound beforehand, so that no other process can take its port
    between choosing a free one and listening on it."""

    def __init__(self, handler, **options):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        super().__init__(handler, hostname="127.0.0.1", port=self._socket.getsockname()[1], **options)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._socket, ssl=self.ssl_context)


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = HeldPortController(mailbox)
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
    timestamp, event_id = headers["x-webhook-timestamp"], headers["x-webhook-id"]
    signed = f"{timestamp}.{event_id}.".encode() + body
    expected = "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] == expected == signature("s3cret", timestamp, event_id, body)
    assert headers["x-webhook-event"] == "assessment.completed"
    payload = json.loads(body)
    assert event_id == payload["id"] and timestamp == payload["timestamp"]
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
    settings = NotificationSettings(webhook_url=down.url, webhook_secret="s", attempts=3)
    [delivery] = deliver([event("assessment.completed", {})], settings, sleep=no_sleep)
    assert not delivery.ok and delivery.attempts == 3 and "500" in delivery.error
    unreachable = NotificationSettings(webhook_url="http://127.0.0.1:9/hook", webhook_secret="s", attempts=2, timeout_s=1)
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
    settings = NotificationSettings(webhook_url="http://127.0.0.1:9/x", webhook_secret="s", events=["assessment.failed"])
    assert deliver([event("assessment.completed", {})], settings) == []


# Hardening (issue 15) ---------------------------------------------------------------------------


def test_the_signature_covers_timestamp_and_id_so_a_replay_does_not_verify():
    body = b'{"event": "assessment.completed"}'
    original = signature("s3cret", "2026-11-30T10:00:00+00:00", "evt_1", body)
    assert signature("s3cret", "2026-11-30T11:00:00+00:00", "evt_1", body) != original
    assert signature("s3cret", "2026-11-30T10:00:00+00:00", "evt_2", body) != original


def test_an_empty_webhook_secret_is_refused():
    with pytest.raises(ValueError, match="empty secret"):
        signature("", "t", "evt_1", b"{}")
    for secret in (None, ""):
        with pytest.raises(ValidationError, match="webhook_secret"):
            NotificationSettings(webhook_url="http://127.0.0.1:9/hook", webhook_secret=secret)


def test_slack_text_from_sources_is_escaped(receiver):
    slack = receiver()
    settings = NotificationSettings(slack_webhook_url=slack.url)
    hostile = "x: <!channel> <http://evil.example|click here> & more"
    [delivery] = deliver([failure_event("run-1", hostile)], settings, sleep=no_sleep)
    assert delivery.ok
    text = json.loads(slack.requests[0][1])["text"]
    assert "&lt;!channel&gt; &lt;http://evil.example|click here&gt; &amp; more" in text
    assert "<" not in text and ">" not in text


def test_webhook_urls_never_reach_a_recorded_error_or_a_repr(receiver):
    """Slack's URL path and a `?token=` are secrets: a failure names scheme://host only."""
    down = receiver([500, 500])
    secret_url = down.url.replace("/hook", "/services/T0001/B0002/XXXXsecretXXXX") + "?token=tok-123"
    settings = NotificationSettings(slack_webhook_url=secret_url, webhook_url=secret_url, webhook_secret="s", attempts=1)
    deliveries = deliver([event("assessment.completed", {})], settings, sleep=no_sleep)
    assert [d.error for d in deliveries] == ["HTTP 500 from http://127.0.0.1"] * 2
    unreachable = "http://127.0.0.1:9/services/T0001/B0002/XXXXsecretXXXX?token=tok-123"
    [failed] = deliver([event("assessment.completed", {})], NotificationSettings(slack_webhook_url=unreachable, attempts=1))
    assert failed.error.startswith("ConnectError from http://127.0.0.1")
    for text in (failed.error, repr(settings), str(settings)):
        assert "XXXXsecret" not in text and "tok-123" not in text


def test_cr_lf_in_event_text_gives_a_one_line_subject_not_an_exception(smtp):
    controller, mailbox = smtp
    settings = NotificationSettings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False, email_to=["ops@example.org"])
    forged = "news: NewsAPI error x: bad\r\nBcc: victim@example.org\r\n\r\nforged body"
    [delivery] = deliver([failure_event("run-1", forged)], settings, sleep=no_sleep)
    assert delivery.ok, delivery.error
    message = email.message_from_bytes(mailbox.messages[0].content, policy=email.policy.default)  # unfolds headers
    assert message["Bcc"] is None and mailbox.messages[0].rcpt_tos == ["ops@example.org"]
    assert "\n" not in message["Subject"] and "Bcc: victim@example.org" in message["Subject"]


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (and key) for `name`: a DNS name, or an IP address."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alternative = x509.DNSName(name)
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_smtp(tmp_path):
    """An SMTP server on 127.0.0.1 that requires STARTTLS with the certificate a test gives, and records logins."""
    started = []

    def start(cert_path: Path, key_path: Path) -> tuple[Controller, Mailbox, list[tuple[bytes, bytes]]]:
        logins: list[tuple[bytes, bytes]] = []

        def authenticator(server, session, envelope, mechanism, auth_data):
            logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=True)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        mailbox = Mailbox()
        controller = HeldPortController(
            mailbox, tls_context=context, require_starttls=True,
            authenticator=authenticator, auth_require_tls=True,
        )
        controller.start()
        started.append(controller)
        return controller, mailbox, logins

    yield start
    for controller in started:
        controller.stop()


def tls_settings(port: int, ca_file: Path | None) -> NotificationSettings:
    return NotificationSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_user="joshua", smtp_password="hunter2", smtp_ca_file=ca_file,
        email_to=["ops@example.org"], attempts=1,
    )


def test_starttls_refuses_a_certificate_for_another_host_before_the_password(tls_smtp, tmp_path):
    cert_path, key_path = self_signed(tmp_path, "mail.other.example")
    controller, mailbox, logins = tls_smtp(cert_path, key_path)
    for ca_file in (None, cert_path):  # untrusted, then trusted but naming another host
        [delivery] = deliver([event("assessment.completed", {})], tls_settings(controller.port, ca_file), sleep=no_sleep)
        assert not delivery.ok and "SSLCertVerificationError" in delivery.error, delivery.error
    assert logins == [] and mailbox.messages == []


def test_starttls_delivers_to_a_verified_server(tls_smtp, tmp_path):
    cert_path, key_path = self_signed(tmp_path, "127.0.0.1")
    controller, mailbox, logins = tls_smtp(cert_path, key_path)
    [delivery] = deliver([event("assessment.completed", {})], tls_settings(controller.port, cert_path), sleep=no_sleep)
    assert delivery.ok, delivery.error
    assert logins == [(b"joshua", b"hunter2")] and len(mailbox.messages) == 1


@pytest.mark.usefixtures("prefect_server")
def test_a_notification_failure_never_changes_a_completed_run(smtp, tmp_path, monkeypatch):
    """A source's error with CR/LF used to make the email Subject raise after the run committed: the
    flow then failed and later deliveries were dropped. Now the run completes and the mail goes out."""
    from flows.assessment import assess
    from tests.hostile_server import HostileServer, reply
    from tests.test_bad_input import SAMPLE_BODIES

    controller, mailbox = smtp
    forged = json.dumps({"status": "error", "code": "x", "message": "bad\r\nBcc: victim@example.org\r\n\r\nforged"}).encode()
    with HostileServer() as server:
        entries = []
        for source_id in ("bbc-world", "tass", "aljazeera"):
            server.route(f"/{source_id}", reply((SAMPLE_BODIES / f"{source_id}.xml").read_bytes(), content_type="application/rss+xml"))
            entries.append(f'[[sources]]\nid = "{source_id}"\nname = "{source_id}"\nkind = "feed"\nurl = "{server.base_url}/{source_id}"\nreliability = 0.7\nrate_limit_s = 0\n')
        server.route("/news", reply(forged, content_type="application/json"))
        entries.append(
            f'[[sources]]\nid = "news"\nname = "news"\nkind = "newsapi"\nurl = "{server.base_url}/news"\n'
            'keywords = ["nuclear"]\ncredential = "NEWSAPI_KEY"\nreliability = 0.7\nrate_limit_s = 0\n'
        )
        (tmp_path / "sources.toml").write_text("\n".join(entries), encoding="utf-8")
        monkeypatch.setenv("JOSHUA_SOURCES_FILE", str(tmp_path / "sources.toml"))
        monkeypatch.setenv("NEWSAPI_KEY", "test-key")
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__SMTP_PORT", str(controller.port))
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__SMTP_STARTTLS", "false")
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__EMAIL_TO", '["ops@example.org"]')
        monkeypatch.setenv("JOSHUA_NOTIFICATIONS__EVENTS", '["assessment.completed", "data.source_failed"]')
        summary = assess(live=True, data_dir=str(tmp_path / "data"), min_sources=2)
    assert summary.status == "completed"
    assert {o.source_id for o in summary.sources if o.status == "failed"} == {"news"}
    subjects = sorted(email.message_from_bytes(m.content, policy=email.policy.default)["Subject"] for m in mailbox.messages)
    assert len(subjects) == 2 and any("Bcc: victim@example.org" in s for s in subjects)
    assert all(m.rcpt_tos == ["ops@example.org"] for m in mailbox.messages)


def test_the_notification_task_logs_a_failure_instead_of_raising(tmp_path, monkeypatch):
    """Recording the deliveries fails (the table's directory is a file): logged, the task returns None."""
    monkeypatch.setenv("JOSHUA_NOTIFICATIONS__SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # nothing listens
    monkeypatch.setenv("JOSHUA_NOTIFICATIONS__ATTEMPTS", "1")
    from joshua.collect.collector import Collection
    from joshua.run import open_run
    from joshua.settings import load_settings
    from schemas.records import AssessmentParams
    from tasks.notify import notify_assessment, notify_failure

    settings = load_settings(data_dir=tmp_path / "data")
    run, _ = open_run(AssessmentParams(), settings)
    run.paths.lake.mkdir(parents=True)
    (run.paths.lake / "notifications").write_text("not a directory")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # whatever Prefect's logging setup did to propagation
    logging.getLogger("prefect.tasks.notify").addHandler(handler)
    try:
        assert notify_assessment.fn(run, assessment(), None, Collection(outcomes=[]), settings.notifications) is None
        assert notify_failure.fn(run, "boom", settings.notifications) is None
    finally:
        logging.getLogger("prefect.tasks.notify").removeHandler(handler)
    assert [r.getMessage().split(";")[0] for r in records] == [f"notifications of run {run.run_id} failed"] * 2
    assert all(r.exc_info and r.exc_info[0] is NotADirectoryError for r in records)
