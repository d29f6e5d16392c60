"""Which hosts a live fetch may reach: public addresses only, unless a source opts in (SSRF guard).

A feed's server chooses where its redirects point and what its host name resolves to, so without
this a hostile or hijacked feed could make JOSHUA read loopback services, the cloud metadata
endpoint (169.254.169.254) or anything on the private network. Every hop of a live fetch goes
through `PublicOnlyTransport`, which resolves the host and refuses it unless every address is
public. The check and httpx's own connect resolve separately, so a DNS answer that changes in
between (rebinding) is not covered.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

PRIVATE_OK = "joshua.private_ok"  # request extension: this hop may reach a non-public address

Resolver = Callable[[str], list[str]]


class ForbiddenAddress(httpx.TransportError):
    """A request to a loopback, private, link-local or otherwise non-public address (never retried)."""


def is_public(address: str) -> bool:
    """Whether an IP address is globally routable (not loopback, private, link-local, shared, reserved...)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not ip.is_multicast


def resolve(host: str) -> list[str]:
    """Every address a host name resolves to (an IP literal resolves to itself, without a lookup)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except socket.gaierror:
        return []  # the connect fails with its own, clearer error


def refuse_non_public(host: str, resolver: Resolver = resolve) -> None:
    """Raise ForbiddenAddress unless every address of `host` is public."""
    blocked = [address for address in resolver(host.strip("[]")) if not is_public(address)]
    if blocked:
        raise ForbiddenAddress(f"refused to connect to {host} ({', '.join(blocked)}): not a public address")


def is_ip_literal(host: str) -> bool:
    """Whether a URL host is an IP address written out rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PublicOnlyTransport(httpx.HTTPTransport):
    """The network, minus non-public addresses: a request must carry PRIVATE_OK to reach one."""

    def __init__(self, resolver: Resolver = resolve, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.resolver = resolver

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get(PRIVATE_OK):
            refuse_non_public(request.url.host, self.resolver)
        return super().handle_request(request)
