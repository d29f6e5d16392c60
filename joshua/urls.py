"""Article links made safe to store and to print: http(s) only, every unsafe character percent-encoded."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

# RFC 3986 characters that structure a path, query or fragment, plus `%` (already-encoded octets
# stay as they are); everything else outside the unreserved set, `<`, `>`, quotes, parentheses,
# backslashes, spaces and controls included, is percent-encoded, so a link is inert in Markdown,
# HTML and terminals.
_KEPT = ":/?#@!$&+,;=%"
_HOST = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with an ASCII host, no user info and unsafe characters percent-encoded; else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
        if host and not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):  # a bad port, an unbalanced bracket, an unencodable name
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    if not _HOST.fullmatch(host):
        return None
    netloc = host if port is None else f"{host}:{port}"
    path, query, fragment = (quote(part, safe=_KEPT) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))
