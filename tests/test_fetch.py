"""The fetch layer: user agent, retries, caps, rate limiting and the conditional-GET cache."""

import gzip
import time
from datetime import UTC, datetime

import httpx
import pytest

from joshua.collect.fetch import (
    Fetcher,
    HostRateLimiter,
    HttpCache,
    Request,
    build_client,
    parse_retry_after,
)
from joshua.collect.snapshot import SnapshotTransport, load_snapshot
from joshua.errors import FetchError, ParseError
from joshua.settings import CollectSettings
from tests.conftest import SOURCES

SOURCE = SOURCES["bbc-world"]
URL = str(SOURCE.url)
FAST = CollectSettings(user_agent="JOSHUA-test", max_attempts=3, backoff_s=0.0, max_backoff_s=0.0, max_body_bytes=1000)


def fetcher_for(handler, settings: CollectSettings = FAST, cache: HttpCache | None = None, sleeps: list | None = None) -> Fetcher:
    """A fetcher over a MockTransport; sleeps are recorded instead of slept."""
    transport = httpx.MockTransport(handler)
    return Fetcher(build_client(settings, transport), settings, cache, rate_limited=False, sleep=(sleeps if sleeps is not None else []).append)


def test_fetch_returns_body_headers_and_sends_user_agent():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["ua"] = request.headers["user-agent"]
        return httpx.Response(200, headers={"ETag": '"x"'}, content=b"<rss/>")

    with fetcher_for(handler) as fetcher:
        fetched = fetcher.fetch(SOURCE, Request(URL))
    assert fetched.body == b"<rss/>" and fetched.status == 200 and fetched.requests == 1
    assert fetched.headers["etag"] == '"x"'
    assert seen["ua"] == "JOSHUA-test"
    assert fetched.fetched_at.tzinfo is not None


def test_client_error_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(404)

    with fetcher_for(handler) as fetcher, pytest.raises(FetchError, match="HTTP 404") as caught:
        fetcher.fetch(SOURCE, Request(URL))
    assert len(calls) == 1
    assert (caught.value.source_id, caught.value.url) == (SOURCE.id, URL)  # the error carries its data


def test_server_errors_are_retried_with_backoff_then_fail():
    sleeps: list[float] = []
    settings = FAST.model_copy(update={"backoff_s": 1.0, "max_backoff_s": 1.5})
    with fetcher_for(lambda r: httpx.Response(503), settings, sleeps=sleeps) as fetcher:
        with pytest.raises(FetchError, match=r"HTTP 503 .* \(after 3 attempts\)"):
            fetcher.fetch(SOURCE, Request(URL))
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] < 2.0 and 1.5 <= sleeps[1] < 2.5  # doubling, capped, plus 0-1 s jitter


def test_429_honours_retry_after_then_succeeds():
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=b"ok")])
    sleeps: list[float] = []
    settings = FAST.model_copy(update={"max_retry_after_s": 10})
    with fetcher_for(lambda r: next(answers), settings, sleeps=sleeps) as fetcher:
        fetched = fetcher.fetch(SOURCE, Request(URL))
    assert fetched.body == b"ok" and fetched.requests == 2 and fetched.retries == 1
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_limit_gives_up_at_once():
    sleeps: list[float] = []
    with fetcher_for(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}), sleeps=sleeps) as fetcher:
        with pytest.raises(FetchError, match="retry after 3600 s, giving up"):
            fetcher.fetch(SOURCE, Request(URL))
    assert sleeps == []


def test_transport_errors_are_retried():
    answers = iter([httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200, content=b"ok")])

    def handler(request):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with fetcher_for(handler) as fetcher:
        assert fetcher.fetch(SOURCE, Request(URL)).retries == 2


def test_timeouts_on_every_attempt_are_a_source_error():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    with fetcher_for(handler) as fetcher, pytest.raises(FetchError, match="timed out"):
        fetcher.fetch(SOURCE, Request(URL))


@pytest.mark.parametrize(("value", "seconds"), [("12", 12.0), ("garbage", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value) == seconds


def test_body_over_the_cap_stops_the_fetch():
    with fetcher_for(lambda r: httpx.Response(200, content=b"x" * 5000)) as fetcher:
        with pytest.raises(FetchError, match="larger than 1000 bytes"):
            fetcher.fetch(SOURCE, Request(URL))


def test_gzip_body_is_inflated_and_capped_on_decompressed_bytes():
    small, bomb = gzip.compress(b"<rss/>"), gzip.compress(b"\0" * 100_000)

    def handler(request):
        body = small if request.url.path.endswith("small") else bomb
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(body))

    with fetcher_for(handler) as fetcher:
        assert fetcher.fetch(SOURCE, Request("https://x.example/small")).body == b"<rss/>"
        with pytest.raises(FetchError, match="larger than 1000 bytes \\(decompressed\\)"):
            fetcher.fetch(SOURCE, Request("https://x.example/bomb"))


def test_rate_limiter_spaces_requests_per_host():
    now, slept = [100.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = HostRateLimiter(clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait("api.gdeltproject.org", 5.0)
    limiter.wait("other.example", 5.0)
    assert slept == [5.0, 5.0]


def test_fetcher_uses_the_strictest_interval_of_a_host():
    gdelt = SOURCES["gdelt-artlist"]
    fetcher = Fetcher(build_client(FAST), FAST, None)
    fetcher.register([gdelt, SOURCES["gdelt-timeline"], SOURCE])
    assert fetcher._host_intervals["api.gdeltproject.org"] == 5.0
    fetcher.close()


def test_fresh_cache_answers_without_a_request_and_stale_cache_revalidates(tmp_path):
    calls = []

    def handler(request):
        calls.append(dict(request.headers))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(200, headers={"ETag": '"v1"'}, content=b"<rss>v1</rss>")

    cache = HttpCache(tmp_path)
    fresh_source = SOURCE.model_copy(update={"cache_ttl_s": 3600})
    stale_source = SOURCE.model_copy(update={"cache_ttl_s": 0})
    with fetcher_for(handler, cache=cache) as fetcher:
        first = fetcher.fetch(fresh_source, Request(URL))
        fresh = fetcher.fetch(fresh_source, Request(URL))
        revalidated = fetcher.fetch(stale_source, Request(URL))
    assert (first.cache, fresh.cache, revalidated.cache) == ("miss", "fresh", "revalidated")
    assert len(calls) == 2 and calls[1]["if-none-match"] == '"v1"'
    assert fresh.body == revalidated.body == b"<rss>v1</rss>"
    assert revalidated.fetched_at == first.fetched_at  # the content is the one fetched first


def test_a_corrupt_cache_entry_is_ignored(tmp_path):
    cache = HttpCache(tmp_path)
    cache.put(URL, fetcher_result := _fetched(b"one"), time.time())
    next(tmp_path.glob("*.body")).write_bytes(b"tampered")
    assert cache.get(URL) is None and fetcher_result.body == b"one"


def _fetched(body: bytes):
    from joshua.collect.fetch import Fetched

    return Fetched(url=URL, status=200, headers={}, body=body, fetched_at=datetime.now(UTC))


def test_snapshot_replay_serves_recorded_bytes_status_and_time(make_snapshot):
    directory = make_snapshot({"bbc-world": {"body": b"<rss>recorded</rss>"}})
    with Fetcher(build_client(FAST, SnapshotTransport(load_snapshot(directory))), FAST, None, rate_limited=False) as fetcher:
        fetched = fetcher.fetch(SOURCE, Request(URL))
    assert fetched.body == b"<rss>recorded</rss>"
    assert fetched.fetched_at == datetime(2026, 11, 26, 6, 0, 1, tzinfo=UTC)


def test_snapshot_replay_answers_conditional_requests_with_304(make_snapshot, tmp_path):
    headers = {"etag": '"abc"', "last-modified": "Thu, 26 Nov 2026 05:58:00 GMT"}
    directory = make_snapshot({"bbc-world": {"body": b"<rss>recorded</rss>", "headers": headers}})
    stale = SOURCE.model_copy(update={"cache_ttl_s": 0})
    transport = SnapshotTransport(load_snapshot(directory))
    with Fetcher(build_client(FAST, transport), FAST, HttpCache(tmp_path), rate_limited=False) as fetcher:
        assert fetcher.fetch(stale, Request(URL)).cache == "miss"
        again = fetcher.fetch(stale, Request(URL))
    assert again.cache == "revalidated" and again.body == b"<rss>recorded</rss>"


def test_snapshot_replays_recorded_failures_without_waiting(make_snapshot):
    directory = make_snapshot({"bbc-world": {"error": "timeout"}, "tass": {"body": b"oops", "status": 503}})
    sleeps: list[float] = []
    transport = SnapshotTransport(load_snapshot(directory))
    with Fetcher(build_client(FAST, transport), FAST, None, rate_limited=False, sleep=sleeps.append) as fetcher:
        with pytest.raises(FetchError, match="timed out"):
            fetcher.fetch(SOURCE, Request(URL))
        with pytest.raises(FetchError, match="HTTP 503"):
            fetcher.fetch(SOURCES["tass"], Request(str(SOURCES["tass"].url)))
        with pytest.raises(FetchError, match="no recorded response"):
            fetcher.fetch(SOURCES["xinhua"], Request(str(SOURCES["xinhua"].url)))
    assert len(sleeps) == 4  # two retries for each retryable failure; the missing recording is final


def test_a_body_that_fails_to_parse_is_not_served_from_the_cache(tmp_path):
    from joshua.collect.collector import fetch_source

    answers = iter([b"<html><body>Maintenance</body></html>", b"<rss version='2.0'><channel><item><title>Back</title></item></channel></rss>"])
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, headers={"ETag": f'"{len(calls)}"'}, content=next(answers))

    with fetcher_for(handler, cache=HttpCache(tmp_path)) as fetcher:
        failed = fetch_source(fetcher, SOURCE, {}, None, "r")
        recovered = fetch_source(fetcher, SOURCE, {}, None, "r")
    (error,) = failed.errors
    assert isinstance(error, ParseError) and error.url == URL and "HTML page" in str(error) and len(calls) == 2
    assert recovered.frames["raw_items"][0]["title"].to_list() == ["Back"]


def test_an_unforeseen_failure_while_fetching_is_a_fetch_error():
    from joshua.collect.collector import fetch_source

    def handler(request):
        raise httpx.UnsupportedProtocol("no such scheme", request=request)  # not a retryable error

    with fetcher_for(handler) as fetcher:
        result = fetch_source(fetcher, SOURCE, {}, None, "r")
    (error,) = result.errors
    assert type(error) is FetchError and error.url == URL and "UnsupportedProtocol" in str(error)
