"""Which hosts a live fetch may reach: public addresses only, unless a source opts in (SSRF guard).

A feed's server chooses where its redirects point and what its host name resolves to, so without
this a hostile or hijacked feed could make JOSHUA read loopback services, the cloud metadata
endpoint (169.254.169.254) or anything on the private network. Every hop of a live fetch goes
through `PublicOnlyTransport`, which resolves the host and refuses it unless every address is
public, and then connects to one of the very addresses it checked: a DNS answer that changes
between the check and the connect (rebinding) never reaches the socket. TLS still verifies the
certificate against the host name (httpcore passes it as the server name).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from contextvars import ContextVar

import httpcore
import httpx

PRIVATE_OK = "joshua.private_ok"  # request extension: this hop may reach a non-public address

Resolver = Callable[[str], list[str]]
# Whether the request being sent may reach a non-public address: set by the transport around each
# request, read by the backend when the request opens a new connection (same thread, same call).
_private_ok: ContextVar[bool] = ContextVar("joshua_private_ok", default=False)


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
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))  # the resolver's preference order
    except socket.gaierror:
        return []  # the connect fails with its own, clearer error


def refuse_non_public(host: str, resolver: Resolver = resolve) -> list[str]:
    """The addresses of `host`; raises ForbiddenAddress unless every one is public."""
    addresses = resolver(host.strip("[]"))
    _refuse_any_non_public(host, addresses)
    return addresses


def _refuse_any_non_public(host: str, addresses: Iterable[str]) -> None:
    blocked = [address for address in addresses if not is_public(address)]
    if blocked:
        raise ForbiddenAddress(f"refused to connect to {host} ({', '.join(blocked)}): not a public address")


def is_ip_literal(host: str) -> bool:
    """Whether a URL host is an IP address written out rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PinnedBackend(httpcore.SyncBackend):
    """Opens connections to the addresses it resolved and checked, never to a second lookup's answer."""

    def __init__(self, resolver: Resolver):
        self.resolver = resolver

    def connect_tcp(self, host: str, port: int, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        addresses = self.resolver(host.strip("[]"))
        if not _private_ok.get():
            _refuse_any_non_public(host, addresses)
        if not addresses:  # unresolvable: let the connect fail with its own, clearer error
            return super().connect_tcp(host, port, *args, **kwargs)  # type: ignore[arg-type]
        for address in addresses[:-1]:
            try:
                return super().connect_tcp(address, port, *args, **kwargs)  # type: ignore[arg-type]
            except httpcore.ConnectError:
                continue  # the next address of the same, checked answer
        return super().connect_tcp(addresses[-1], port, *args, **kwargs)  # type: ignore[arg-type]


class PublicOnlyTransport(httpx.HTTPTransport):
    """The network, minus non-public addresses: a request must carry PRIVATE_OK to reach one.

    The check runs twice: here for every request (a pooled connection that an opted-in source
    opened must not serve one that did not opt in), and in `PinnedBackend` for every new
    connection, on the very addresses it connects to.
    """

    def __init__(self, resolver: Resolver = resolve, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.resolver = resolver
        # httpx exposes no backend option; its pool reads this attribute for every new connection.
        self._pool._network_backend = PinnedBackend(resolver)  # type: ignore[union-attr]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        private_ok = bool(request.extensions.get(PRIVATE_OK))
        if not private_ok:
            refuse_non_public(request.url.host, self.resolver)
        token = _private_ok.set(private_ok)
        try:
            return super().handle_request(request)
        finally:
            _private_ok.reset(token)
