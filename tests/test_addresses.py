"""Redirects and the SSRF guard: the fetch layer against a real server on 127.0.0.1, and the address
check on private ranges (pure: nothing is resolved or connected to)."""

from __future__ import annotations

import resource

import httpx
import pytest

from joshua.collect.addresses import PRIVATE_OK, ForbiddenAddress, PublicOnlyTransport, is_public, refuse_non_public
from tests.hostile_server import HostileServer, hang, redirect, reply
from tests.test_bad_input import GOOD_FEED, RSS_TYPE, collect, gzip_bomb, server  # noqa: F401 (fixture)

NEWSAPI_BODY = b'{"status": "ok", "articles": []}'


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.0.10", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "192.0.2.1", "198.18.0.1", "224.0.0.1", "255.255.255.255",
        "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "ff02::1",
    ],
)
def test_non_public_addresses_are_refused(address):
    """Also when the name has a public address besides (the connect could use either)."""
    assert not is_public(address)
    with pytest.raises(ForbiddenAddress, match="not a public address"):
        refuse_non_public("feeds.example", resolver=lambda host: ["8.8.8.8", address])


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert is_public(address)
    refuse_non_public("feeds.example", resolver=lambda host: [address])  # no exception


def test_an_ip_literal_host_is_checked_as_written():
    with pytest.raises(ForbiddenAddress):
        refuse_non_public("[::1]")  # resolves to itself: no lookup


def test_a_redirect_to_loopback_is_refused_for_a_source_that_does_not_opt_in(server):
    server.route("/secret", reply(b"internal admin page"))
    result = collect(server, "ssrf", redirect(f"{server.base_url}/secret"), allow_private_network=False)
    assert result.errors and "not a public address" in str(result.errors[0]), result.errors
    assert server.hits("/secret") == 0  # never requested


def test_a_host_name_resolving_to_loopback_is_refused_unless_the_source_opts_in(server):
    """`localhost` names a loopback address: a source must opt in to reach it (a literal IP is the operator's choice)."""
    server.route("/by-name", reply(GOOD_FEED, content_type=RSS_TYPE))
    by_name = server.base_url.replace("127.0.0.1", "localhost") + "/by-name"
    refused = collect(server, "by-name", reply(GOOD_FEED, content_type=RSS_TYPE), url=by_name, allow_private_network=False)
    assert refused.errors and "not a public address" in str(refused.errors[0])
    assert server.hits("/by-name") == 0
    allowed = collect(server, "by-name", reply(GOOD_FEED, content_type=RSS_TYPE), url=by_name)
    assert not allowed.errors and server.hits("/by-name") == 1


def test_a_redirect_whose_body_never_arrives_is_followed_without_reading_it(server):
    """A 302 announcing a gigabyte it never sends: httpx used to wait for it (and time out)."""

    def endless_redirect(handler):
        handler.send_head(302, {"Location": "/moved-feed", "Content-Length": str(10**9)})
        hang(handler)

    server.route("/moved-feed", reply(GOOD_FEED, content_type=RSS_TYPE))
    result = collect(server, "moved", endless_redirect)
    assert not result.errors, result.errors
    assert [f.url for f in result.fetched] == [f"{server.base_url}/moved-feed"]
    assert server.hits("/moved") == 1  # not retried after a timeout


def test_a_gzip_bomb_in_a_redirect_body_is_not_inflated(server):
    bomb = gzip_bomb()
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    server.route("/bombed-feed", reply(GOOD_FEED, content_type=RSS_TYPE))
    behaviour = reply(bomb, status=302, headers={"Location": "/bombed-feed", "Content-Encoding": "gzip"})
    result = collect(server, "bombed", behaviour)
    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    assert not result.errors and len(result.fetched) == 1
    assert peak_growth_mib < 200, f"max RSS grew by {peak_growth_mib:.0f} MiB"


def test_credentials_never_follow_a_redirect_to_another_origin(server):
    """NewsAPI's key is an X-Api-Key header: it reaches the source's own origin, never the redirect's."""
    with HostileServer() as elsewhere:
        elsewhere.route("/v2/everything", reply(NEWSAPI_BODY, content_type="application/json"))
        result = collect(server, "news", redirect(f"{elsewhere.base_url}/v2/everything"), kind="newsapi")
        assert not result.errors, result.errors
        (first,) = server.requests
        (second,) = elsewhere.requests
    assert first.headers["x-api-key"] == "test-key"
    assert "x-api-key" not in second.headers and "authorization" not in second.headers


def test_credentials_follow_a_redirect_within_the_same_origin(server):
    server.route("/v2/everything-moved", reply(NEWSAPI_BODY, content_type="application/json"))
    result = collect(server, "same", redirect("/v2/everything-moved"), kind="newsapi")
    assert not result.errors, result.errors
    assert [seen.headers.get("x-api-key") for seen in server.requests] == ["test-key", "test-key"]


def test_a_redirect_to_another_scheme_is_refused(server):
    result = collect(server, "scheme", redirect("file:///etc/passwd"))
    assert [str(e) for e in result.errors] == [f"scheme: refused redirect from {server.base_url}/scheme to file:/etc/passwd"]


class Rebinding:
    """A resolver whose answer changes after the first lookup (DNS rebinding): public, then loopback."""

    def __init__(self, first: str, then: str):
        self.answers = [first, then]
        self.lookups = 0

    def __call__(self, host: str) -> list[str]:
        self.lookups += 1
        return [self.answers[min(self.lookups, 2) - 1]]


def guarded_client(resolver) -> httpx.Client:
    return httpx.Client(transport=PublicOnlyTransport(resolver=resolver), timeout=2.0)


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_connected_to(server):
    """The check saw a public address; the connect would have resolved again and met 127.0.0.1."""
    server.route("/rebound", reply(GOOD_FEED, content_type=RSS_TYPE))
    resolver = Rebinding(first="93.184.216.34", then="127.0.0.1")
    with guarded_client(resolver) as client, pytest.raises(ForbiddenAddress, match=r"127\.0\.0\.1"):
        client.get(f"http://feeds.example:{server.port}/rebound")
    assert resolver.lookups == 2  # the connect looked up once more, and checked what it found
    assert server.hits("/rebound") == 0


def test_the_connection_goes_to_the_address_that_was_checked(server):
    """`feeds.example` is in no DNS: the fetch succeeds only by connecting to the resolver's answer,
    and the request still names the host it asked for."""
    server.route("/pinned", reply(GOOD_FEED, content_type=RSS_TYPE))
    with guarded_client(lambda host: ["127.0.0.1"]) as client:
        response = client.get(f"http://feeds.example:{server.port}/pinned", extensions={PRIVATE_OK: True})
    assert response.status_code == 200 and response.content == GOOD_FEED
    assert server.requests[-1].headers["host"] == f"feeds.example:{server.port}"


def test_a_pooled_private_connection_does_not_serve_a_request_that_did_not_opt_in(server):
    server.route("/pooled", reply(GOOD_FEED, content_type=RSS_TYPE))
    url = f"http://feeds.example:{server.port}/pooled"
    with guarded_client(lambda host: ["127.0.0.1"]) as client:
        assert client.get(url, extensions={PRIVATE_OK: True}).status_code == 200
        with pytest.raises(ForbiddenAddress):
            client.get(url)
    assert server.hits("/pooled") == 1
