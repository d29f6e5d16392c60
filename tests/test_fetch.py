from datetime import UTC, datetime

import httpx
import pytest

from joshua.collect.fetch import build_client, fetch_source
from joshua.collect.snapshot import SnapshotTransport, load_snapshot
from joshua.errors import SourceError
from tests.conftest import SOURCES

SOURCE = SOURCES["bbc-world"]


def client_for(handler) -> httpx.Client:
    return build_client("JOSHUA-test", httpx.MockTransport(handler))


def test_fetch_returns_body_headers_and_sends_user_agent():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["ua"] = request.headers["user-agent"]
        return httpx.Response(200, headers={"ETag": '"x"'}, content=b"<rss/>")

    with client_for(handler) as client:
        fetched = fetch_source(client, SOURCE, 1000)
    assert fetched.body == b"<rss/>" and fetched.status == 200
    assert fetched.headers["etag"] == '"x"'
    assert seen["ua"] == "JOSHUA-test"
    assert fetched.fetched_at.tzinfo is not None


def test_http_error_is_a_source_error():
    with client_for(lambda request: httpx.Response(500)) as client, pytest.raises(SourceError, match="HTTP 500"):
        fetch_source(client, SOURCE, 1000)


def test_timeout_is_a_source_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with client_for(handler) as client, pytest.raises(SourceError, match="timed out"):
        fetch_source(client, SOURCE, 1000)


def test_body_over_the_cap_stops_the_fetch():
    with client_for(lambda request: httpx.Response(200, content=b"x" * 5000)) as client:
        with pytest.raises(SourceError, match="larger than 1000 bytes"):
            fetch_source(client, SOURCE, 1000)


def test_snapshot_replay_serves_recorded_bytes_status_and_time(make_snapshot):
    directory = make_snapshot({"bbc-world": {"body": b"<rss>recorded</rss>"}})
    transport = SnapshotTransport(load_snapshot(directory))
    with build_client("ua", transport) as client:
        fetched = fetch_source(client, SOURCE, 1000)
    assert fetched.body == b"<rss>recorded</rss>"
    assert fetched.fetched_at == datetime(2026, 11, 26, 6, 0, 1, tzinfo=UTC)


def test_snapshot_replays_recorded_failures(make_snapshot):
    directory = make_snapshot({"bbc-world": {"error": "timeout"}, "tass": {"body": b"oops", "status": 503}})
    with build_client("ua", SnapshotTransport(load_snapshot(directory))) as client:
        with pytest.raises(SourceError, match="timed out"):
            fetch_source(client, SOURCE, 1000)
        with pytest.raises(SourceError, match="HTTP 503"):
            fetch_source(client, SOURCES["tass"], 1000)
        with pytest.raises(SourceError, match="no recorded response"):
            fetch_source(client, SOURCES["xinhua"], 1000)
