"""Hostile and broken input, served by a real HTTP server on 127.0.0.1 (tests/hostile_server.py).

Every case ends in one of two ways: a recorded per-source error that says what went wrong, or
cleaned items. No exception escapes `fetch_source`, and nothing partial is written: no `*.tmp`
file, no cached body for a fetch that failed, nothing left in staging after a run.
"""

from __future__ import annotations

import functools
import json
import re
import resource
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

import joshua.collect.fetch as fetch_module
from flows.assessment import assess
from joshua.catalog import connect_lake
from joshua.collect.collector import SourceFetch, fetch_source
from joshua.collect.fetch import Fetcher, HttpCache, build_client
from joshua.curate.pipeline import with_identity
from joshua.errors import FetchError, ParseError
from joshua.settings import PROJECT_ROOT, CollectSettings
from schemas.records import Source
from tests.hostile_server import (
    Behaviour,
    HostileServer,
    conditional,
    drip,
    hang,
    in_turn,
    redirect,
    reply,
    reset,
    short_body,
    stream,
)

LIMITS = CollectSettings(max_attempts=3, backoff_s=0.05, max_backoff_s=0.2, max_body_bytes=10_000_000, max_retry_after_s=5)
KEYWORDS = {"nuclear": ["warhead", "enrichment"]}
RSS_TYPE = "application/rss+xml; charset=utf-8"
SAMPLE_BODIES = PROJECT_ROOT / "data" / "snapshots" / "sample" / "bodies"


# Bodies ----------------------------------------------------------------------------------------


def rss(*items: str, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    """An RSS 2.0 document around some <item> elements."""
    return (
        f'{declaration}<rss version="2.0"><channel><title>Hostile</title><link>http://example.org/</link>'
        f"<description>test feed</description>{''.join(items)}</channel></rss>"
    )


def item(title: str = "An item", *, link: str = "http://example.org/a", body: str = "", extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link><description>{body}</description>{extra}</item>"


GOOD_FEED = rss(
    item("Warhead talks resume", link="http://example.org/1"), item("Enrichment paused", link="http://example.org/2")
).encode()
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">'.replace("&lol0;", "&lol;").encode() for i in range(1, 10))
    + b']><rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title></item></channel></rss>'
)
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Service unavailable</h1></body></html>"


@functools.cache
def gzip_bomb(mebibytes: int = 1024) -> bytes:
    """A valid gzip member of 1 GiB of zeros, about 1 MB on the wire.

    After a full flush the compressor forgets its history, so every 1 MiB segment compresses to the
    same bytes: compress one and repeat it instead of deflating a whole gigabyte.
    """
    zeros = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    segment = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.compress(zeros) + deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    return header + first + segment * (mebibytes - 2) + last + trailer


# Running a case --------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile
    assert not hostile.errors, hostile.errors  # the hostile server itself must not be the thing that broke


@pytest.fixture(autouse=True)
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without the 0-1 s random jitter, so retrying cases stay fast and their timing predictable."""
    monkeypatch.setattr(fetch_module, "random", SimpleNamespace(uniform=lambda low, high: 0.0))


def route_path(name: str, kind: str) -> str:
    """The path a source named `name` requests (Reddit appends its subreddit listing)."""
    return f"/{name}/r/worldnews/hot.json" if kind == "reddit" else f"/{name}"


def collect(
    server: HostileServer,
    name: str,
    behaviour: Behaviour,
    kind: str = "feed",
    *,
    cache: HttpCache | None = None,
    **fields: object,
) -> SourceFetch:
    """Serve `behaviour` and fetch it as source `name` of `kind`, the way a run does."""
    server.route(route_path(name, kind), behaviour)
    source = Source(
        id=name,
        name=name,
        kind=kind,
        reliability=0.5,
        keywords=("nuclear",),
        targets=("worldnews",) if kind == "reddit" else (),
        # Redirects here stay on 127.0.0.1: the source opts in unless a case says otherwise.
        **{"url": f"{server.base_url}/{name}", "timeout_s": 1.0, "allow_private_network": True, **fields},
    )
    with Fetcher(build_client(LIMITS), LIMITS, cache, rate_limited=False) as fetcher:
        # A credential for the kinds that send one (a run skips those without): h11 refuses a bare "Bearer ".
        return fetch_source(fetcher, source, KEYWORDS, credential="test-key", run_id="test")


def rows(result: SourceFetch) -> list[dict]:
    frames = result.frames["raw_items"]
    return pl.concat(frames).to_dicts() if frames else []


def assert_nothing_partial(root: Path) -> None:
    """No temporary file anywhere, and every cached body matches the checksum its metadata recorded."""
    assert not list(root.rglob("*.tmp"))
    for meta in root.rglob("*.json"):
        cached = HttpCache(meta.parent).get(json.loads(meta.read_text())["url"])
        assert cached is not None, f"{meta} does not match its body"


# Recorded errors -------------------------------------------------------------------------------


def error_case(name: str, behaviour: Behaviour, message: str, *, kind: str = "feed", hits: int = 1, stage: str = "parse"):
    """One bad-input case: the error (a regex) it must record, the requests the server must see, and
    whether it failed while fetching (nothing may be cached) or while parsing a complete body."""
    return pytest.param(name, kind, behaviour, message, hits, stage, id=name)


def feed(body: bytes) -> Behaviour:
    return reply(body, content_type=RSS_TYPE)


def json_body(document: str, status: int = 200) -> Behaviour:
    return reply(document.encode(), status=status, content_type="application/json")


MALFORMED = b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>a</item></channel></rss>'
NEWSAPI_KEY_INVALID = '{"status": "error", "code": "apiKeyInvalid", "message": "Your API key is invalid."}'
X_ERRORS = '{"errors": [{"message": "Invalid Request", "code": 400}], "title": "Invalid Request"}'
ERRORS = [
    # XML the strict parser rejects, before feedparser (lenient by design) sees it.
    error_case("malformed-xml", feed(MALFORMED), r"malformed XML \(mismatched tag"),
    error_case("truncated-xml", feed(GOOD_FEED[: len(GOOD_FEED) // 2]), r"malformed XML \((unclosed token|no element found)"),
    error_case("billion-laughs", feed(LAUGHS), r"refused XML \(EntitiesForbidden\)"),
    error_case("xxe", feed(XXE), r"refused XML \(EntitiesForbidden\)"),
    error_case("not-a-feed", feed(b'<?xml version="1.0"?><note><to>you</to></note>'), r"not an RSS or Atom feed"),
    error_case("empty-body", feed(b""), r"empty body where a feed was expected"),
    error_case(
        "html-not-feed", reply(HTML_PAGE, content_type="text/html"), r"got an HTML page where an RSS or Atom feed was expected"
    ),
    # Transfer encodings and broken transfers.
    error_case(
        "corrupt-gzip",
        reply(b"this is not gzip at all" * 20, headers={"Content-Encoding": "gzip"}),
        r"corrupt gzip body \(Error -3",
        stage="fetch",
    ),
    error_case(
        "brotli-unasked",
        reply(b"\x8b\x02\x80", headers={"Content-Encoding": "br"}),
        r"unsupported content-encoding 'br'",
        stage="fetch",
    ),
    # Content-Length promises more than arrives before the connection closes: a transport error, retried.
    error_case(
        "short-body",
        short_body(GOOD_FEED[:100], announced=len(GOOD_FEED)),
        r"RemoteProtocolError: peer closed connection .*\(after 3 attempts\)$",
        hits=3,
        stage="fetch",
    ),
    # JSON APIs answering with something else.
    error_case(
        "gdelt-html-200",
        reply(HTML_PAGE, content_type="text/html"),
        r"GDELT returned an HTML page instead of JSON: '<!DOCTYPE html>",
        kind="gdelt_artlist",
    ),
    error_case(
        "gdelt-plain-text",
        reply(b"Invalid query: the specified phrase is too short.", content_type="text/plain"),
        r"GDELT returned non-JSON text instead of JSON: 'Invalid query",
        kind="gdelt_artlist",
    ),
    error_case("gdelt-wrong-shape", json_body('{"articles": "no"}'), r"GDELT JSON field 'articles' is not a list", kind="gdelt_artlist"),
    error_case("reddit-json-list", json_body("[1, 2, 3]"), r"Reddit JSON is a list, not an object", kind="reddit"),
    error_case("newsapi-json-list", json_body('[{"title": "x"}]'), r"NewsAPI JSON is a list, not an object", kind="newsapi"),
    error_case("x-json-list", json_body('[{"id": "1", "text": "x"}]'), r"X API JSON is a list, not an object", kind="x_search"),
    error_case(
        "newsapi-key-invalid", json_body(NEWSAPI_KEY_INVALID), r"NewsAPI error apiKeyInvalid: Your API key is invalid", kind="newsapi"
    ),
    # NewsAPI's real answer to a bad key is a 401: error bodies are not read, the status is the message.
    error_case(
        "newsapi-401",
        json_body(NEWSAPI_KEY_INVALID, status=401),
        r"HTTP 401 from http://127\.0\.0\.1",
        kind="newsapi",
        stage="fetch",
    ),
    error_case("x-errors", json_body(X_ERRORS), r"X API error: \{'message': 'Invalid Request'", kind="x_search"),
    # Status codes: which are retried, and how the retries end.
    error_case("not-found", reply(b"nope", status=404), r"HTTP 404 from http://127\.0\.0\.1:\d+/not-found$", stage="fetch"),
    error_case("unavailable", reply(b"down", status=503), r"HTTP 503 from .* \(after 3 attempts\)$", hits=3, stage="fetch"),
    error_case(
        "retry-after-an-hour",
        reply(b"later", status=429, headers={"Retry-After": "3600"}),
        r"HTTP 429 .*; asked to retry after 3600 s, giving up$",
        stage="fetch",
    ),
    error_case(
        "redirect-loop",
        redirect("/redirect-loop"),
        r"too many redirects from http://127\.0\.0\.1",
        hits=LIMITS.max_redirects + 1,
        stage="fetch",
    ),
    error_case("not-modified-uncached", reply(status=304), r"HTTP 304 for .* without a cached copy", stage="fetch"),
    # Raw-socket misbehaviour.
    error_case("connection-reset", reset, r"(ReadError|RemoteProtocolError): .*\(after 3 attempts\)$", hits=3, stage="fetch"),
    error_case("never-answers", hang, r"timed out after 1 s \(ReadTimeout\) \(after 3 attempts\)$", hits=3, stage="fetch"),
    # One byte every 0.3 s never trips the 1 s read timeout; the 2 × timeout_s deadline stops it.
    error_case("slow-drip", drip(GOOD_FEED, every_s=0.3), r"body still arriving after 2 s$", stage="fetch"),
]


@pytest.mark.parametrize(("name", "kind", "behaviour", "message", "hits", "stage"), ERRORS)
def test_bad_input_is_a_recorded_source_error(server, tmp_path, name, kind, behaviour, message, hits, stage):
    cache_dir = tmp_path / "cache"
    started = time.monotonic()
    result = collect(server, name, behaviour, kind, cache=HttpCache(cache_dir))
    # Bounded by the timeouts (about 3 s); without them `hang` never ends and `slow-drip` takes
    # minutes. The margin is for a loaded machine, where threads wait their turn for a core.
    assert time.monotonic() - started < 60
    assert result.fetched == [] and result.frames == {"raw_items": [], "signals": []}
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert type(error) is (FetchError if stage == "fetch" else ParseError), repr(error)
    assert error.source_id == name and error.url is not None and error.url.startswith(server.base_url)
    text = str(error)
    assert text.startswith(f"{name}: ") and re.search(message, text), text
    assert "root:" not in text  # nothing of /etc/passwd (XXE) leaks into the message either
    assert server.hits(route_path(name, kind)) == hits
    assert_nothing_partial(tmp_path)
    if stage == "fetch":
        assert not cache_dir.exists() or not any(cache_dir.iterdir()), "a failed fetch left a cached body"


def test_a_50_mb_body_stops_at_the_cap_quickly(server, tmp_path):
    sent = [0]
    behaviour = stream(b"<!-- padding -->" * 4096, total=50_000_000, sent=sent, headers={"Content-Type": RSS_TYPE})
    result = collect(server, "huge", behaviour, cache=HttpCache(tmp_path / "cache"))
    (error,) = result.errors
    assert type(error) is FetchError and str(error) == "huge: body larger than 10000000 bytes (decompressed)"
    # It hung up at the cap (counted in bytes, not seconds: a loaded machine is slow, not wrong):
    # the server wrote the cap, what the sockets' buffers hold, and no more.
    assert sent[0] < 20_000_000, sent[0]
    assert server.hits("/huge") == 1 and not (tmp_path / "cache").exists()


def test_a_gzip_bomb_stops_at_the_cap_without_inflating(server, tmp_path):
    bomb = gzip_bomb()
    assert len(bomb) < 2_000_000
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    behaviour = reply(bomb, content_type=RSS_TYPE, headers={"Content-Encoding": "gzip"})
    result = collect(server, "bomb", behaviour, cache=HttpCache(tmp_path / "cache"))
    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    (error,) = result.errors
    assert type(error) is FetchError and str(error) == "bomb: body larger than 10000000 bytes (decompressed)"
    assert peak_growth_mib < 200, f"max RSS grew by {peak_growth_mib:.0f} MiB"
    assert not (tmp_path / "cache").exists()


def test_an_external_dtd_is_never_fetched_and_no_file_leaks(server):
    """Entities pointing at a local file or at a URL on our server: refused, nothing read or requested."""
    dtd = server.route("/evil.dtd", reply(b'<!ENTITY secret SYSTEM "file:///etc/passwd">', content_type="application/xml-dtd"))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd}" [<!ENTITY % remote SYSTEM "{dtd}"> %remote;]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&secret;</title></item></channel></rss>'
    ).encode()
    result = collect(server, "external-dtd", feed(body))
    (error,) = result.errors
    assert type(error) is ParseError and str(error) == "external-dtd: refused XML (EntitiesForbidden)"
    assert server.hits("/evil.dtd") == 0 and rows(result) == []


# Retries that recover --------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out_then_succeeds(server):
    behaviour = in_turn(reply(b"slow down", status=429, headers={"Retry-After": "1"}), feed(GOOD_FEED))
    started = time.monotonic()
    result = collect(server, "retry-after", behaviour)
    assert time.monotonic() - started >= 0.95
    assert result.errors == [] and server.hits("/retry-after") == 2
    assert (result.fetched[0].requests, result.fetched[0].retries) == (2, 1)
    assert [row["title"] for row in rows(result)] == ["Warhead talks resume", "Enrichment paused"]


def test_a_500_then_a_200_recovers(server):
    result = collect(server, "flaky", in_turn(reply(b"oops", status=500), feed(GOOD_FEED)))
    assert result.errors == [] and server.hits("/flaky") == 2 and result.fetched[0].retries == 1
    assert len(rows(result)) == 2


# Conditional GETs ------------------------------------------------------------------------------


def test_a_304_reuses_the_cached_body(server, tmp_path):
    """First fetch stores the body and its ETag; the second sends If-None-Match, gets 304, reuses it."""
    cache = HttpCache(tmp_path / "cache")
    behaviour = conditional(GOOD_FEED, '"v1"')
    first = collect(server, "etag", behaviour, cache=cache, cache_ttl_s=0)
    second = collect(server, "etag", behaviour, cache=cache, cache_ttl_s=0)
    assert first.errors == second.errors == []
    assert [seen.headers.get("if-none-match") for seen in server.requests] == [None, '"v1"']
    assert (first.fetched[0].cache, second.fetched[0].cache) == ("miss", "revalidated")
    assert second.fetched[0].body == GOOD_FEED
    assert rows(second) == rows(first) and len(rows(first)) == 2
    assert_nothing_partial(tmp_path)


# Cleaned items ---------------------------------------------------------------------------------


def clean_case(name: str, body: bytes | str, expected: list[dict], *, kind: str = "feed", content_type: str = RSS_TYPE):
    """One messy-but-usable case: the fields (a subset) each parsed item must have, in order."""
    data = body.encode() if isinstance(body, str) else body
    return pytest.param(name, kind, reply(data, content_type=content_type), expected, id=name)


QUOTED = "Zaporizhzhia – “quoted”"
GENEVA = "Café déjà vu à Genève"
LONG = " ".join(["word"] * 3000)
LATIN1_DECLARED = '<?xml version="1.0" encoding="ISO-8859-1"?>'
SCRIPTED = (
    "&lt;p&gt;Before&lt;/p&gt;&lt;script&gt;alert('pwned')&lt;/script&gt;"
    "&lt;style&gt;p{color:red}&lt;/style&gt;&lt;p&gt;after.&lt;/p&gt;"
)
GDELT_GARBAGE = """{"articles": [
    {"url": "https://example.org/w", "title": "<b>Warhead</b> talks", "seendate": "20261125T143000Z"},
    "not an object",
    {"url": 5, "title": null, "seendate": "yesterday"}]}"""
FEDERAL_REGISTER_GAPS = """{"results": [
    {"title": "Only a title"},
    {"document_number": 42, "html_url": "javascript:alert(1)", "publication_date": "soon", "abstract": null}]}"""
NOTHING = {"url": None, "guid": None, "published_at": None}
CLEANED = [
    # Windows-1252 bytes behind a UTF-8 header and declaration: the UTF-8 label fails, detection reads them.
    clean_case("cp1252-labelled-utf8", rss(item(QUOTED)).encode("cp1252"), [{"title": QUOTED}]),
    # Latin-1 bytes with no declaration and no header charset.
    clean_case(
        "latin1-unlabelled",
        rss(item(GENEVA), declaration="").encode("latin-1"),
        [{"title": GENEVA}],
        content_type="application/rss+xml",
    ),
    # UTF-8 bytes declared ISO-8859-1 (header and declaration): valid UTF-8 wins, no "â€“" mojibake.
    clean_case(
        "utf8-labelled-latin1",
        rss(item(QUOTED), declaration=LATIN1_DECLARED),
        [{"title": QUOTED}],
        content_type="text/xml; charset=ISO-8859-1",
    ),
    # Windows-1252 smart quotes declared ISO-8859-1 (common): feedparser maps the C1 controls back to quotes.
    clean_case(
        "cp1252-labelled-latin1",
        rss(item(QUOTED), declaration=LATIN1_DECLARED).encode("cp1252"),
        [{"title": QUOTED}],
        content_type="text/xml",
    ),
    clean_case(
        "utf16-bom",
        ("\ufeff" + rss(item(QUOTED), declaration='<?xml version="1.0" encoding="UTF-16"?>')).encode("utf-16-le"),
        [{"title": QUOTED}],
        content_type="application/rss+xml",
    ),
    clean_case("empty-feed", rss(), []),
    clean_case(
        "control-chars",
        rss(item("Reactor\x00\x01 status\x07\x08 update", body="Cooling\x02 \x03restored")),
        [{"title": "Reactor status update", "body": "Cooling restored"}],
    ),
    clean_case("script-and-style", rss(item("Hidden", body=SCRIPTED)), [{"body": "Before after."}]),
    clean_case("overlong-text", rss(item("Long", body=LONG)), [{"body": LONG[: LIMITS.max_text_chars]}]),
    clean_case("javascript-link", rss(item("Click me", link="javascript:alert(1)")), [{"title": "Click me", "url": None}]),
    # No date, a future date (kept as parsed: curation judges it), and an unparseable one.
    clean_case(
        "odd-dates",
        rss(
            item("Undated"),
            item("From the future", extra="<pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate>"),
            item("Garbled", extra="<pubDate>the day after tomorrow-ish</pubDate>"),
        ),
        [{"published_at": None}, {"published_at": datetime(2035, 1, 1, tzinfo=UTC)}, {"published_at": None}],
    ),
    clean_case("gdelt-no-results", "{}", [], kind="gdelt_artlist", content_type="application/json"),
    clean_case(
        "gdelt-mixed-garbage",
        GDELT_GARBAGE,
        [
            {"url": "https://example.org/w", "title": "Warhead talks", "published_at": datetime(2026, 11, 25, 14, 30, tzinfo=UTC)},
            {**NOTHING, "title": ""},
        ],
        kind="gdelt_artlist",
        content_type="application/json",
    ),
    clean_case(
        "federal-register-missing-fields",
        FEDERAL_REGISTER_GAPS,
        [{**NOTHING, "title": "Only a title", "body": ""}, {**NOTHING, "title": "", "body": ""}],
        kind="federal_register",
        content_type="application/json",
    ),
]


@pytest.mark.parametrize(("name", "kind", "behaviour", "expected"), CLEANED)
def test_messy_input_becomes_clean_items(server, name, kind, behaviour, expected):
    result = collect(server, name, behaviour, kind)
    assert result.errors == [] and len(result.fetched) == 1
    parsed = rows(result)
    assert [{key: row[key] for key in want} for row, want in zip(parsed, expected, strict=False)] == expected
    assert len(parsed) == len(expected)
    for row in parsed:  # nothing invisible or undecodable survives cleaning
        text = row["title"] + row["body"]
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]", text) and "â€" not in text


def test_duplicate_guids_are_both_parsed_and_deduplicated_by_identity(server):
    """A feed repeating a GUID (an edited item): parsing keeps both, article identity keeps the first."""
    guid = '<guid isPermaLink="false">urn:hostile:1</guid>'
    body = rss(
        "<item><title>First version</title>" + guid + "</item>", "<item><title>Edited version</title>" + guid + "</item>"
    )
    result = collect(server, "dup-guids", feed(body.encode()))
    parsed = pl.concat(result.frames["raw_items"])
    assert result.errors == [] and parsed["guid"].to_list() == ["urn:hostile:1", "urn:hostile:1"]
    identified = with_identity(parsed.lazy()).collect()
    assert identified["title"].to_list() == ["First version"]


# A real run ------------------------------------------------------------------------------------

GOOD_SOURCES = ("bbc-world", "tass", "reuters-nuclear")  # copies of the bundled sample's bodies
HOSTILE_SOURCES = {  # source id: (behaviour, the type of its recorded error, what the message must say)
    "malformed-xml": (feed(MALFORMED), "ParseError", "malformed XML"),
    "billion-laughs": (feed(LAUGHS), "ParseError", "refused XML (EntitiesForbidden)"),
    "html-not-feed": (reply(HTML_PAGE, content_type="text/html"), "ParseError", "got an HTML page"),
    "unavailable": (reply(b"down", status=503), "FetchError", "HTTP 503"),
    "connection-reset": (reset, "FetchError", "(after 2 attempts)"),
    "never-answers": (hang, "FetchError", "timed out after 1 s"),
}


@pytest.mark.usefixtures("prefect_server")
def test_a_live_run_against_hostile_sources_completes_and_records_each_failure(server, tmp_path, monkeypatch):
    """The real assessment flow, live, on 3 good and 6 hostile sources: it completes on the good ones,
    records every hostile one as failed with its reason, and leaves no staging or temporary file."""
    entries = []
    for source_id in GOOD_SOURCES:
        server.route(f"/{source_id}", reply((SAMPLE_BODIES / f"{source_id}.xml").read_bytes(), content_type=RSS_TYPE))
    for source_id, (behaviour, _, _) in HOSTILE_SOURCES.items():
        server.route(f"/{source_id}", behaviour)
    for source_id in (*GOOD_SOURCES, *HOSTILE_SOURCES):
        entries.append(
            f'[[sources]]\nid = "{source_id}"\nname = "{source_id}"\nkind = "feed"\n'
            f'url = "{server.base_url}/{source_id}"\nreliability = 0.7\ntimeout_s = 1.0\nrate_limit_s = 0\n'
        )
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text("\n".join(entries), encoding="utf-8")
    monkeypatch.setenv("JOSHUA_SOURCES_FILE", str(sources_file))
    monkeypatch.setenv("JOSHUA_COLLECT__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("JOSHUA_COLLECT__BACKOFF_S", "0.05")
    monkeypatch.setenv("JOSHUA_COLLECT__MAX_BACKOFF_S", "0.2")
    data_dir = tmp_path / "data"

    summary = assess(live=True, data_dir=str(data_dir), min_sources=2)
    assert summary.status == "completed" and summary.assessment is not None
    outcomes = {outcome.source_id: outcome for outcome in summary.sources}
    assert {source_id for source_id, outcome in outcomes.items() if outcome.status == "ok"} == set(GOOD_SOURCES)
    assert all(outcomes[source_id].items > 0 for source_id in GOOD_SOURCES)
    for source_id, (_, error_type, message) in HOSTILE_SOURCES.items():
        assert outcomes[source_id].status == "failed", source_id
        assert outcomes[source_id].error_type == error_type, source_id
        assert outcomes[source_id].error.startswith(f"{source_id}: ") and message in outcomes[source_id].error

    lake = connect_lake(data_dir / "lake")
    try:
        (recorded,) = lake.execute("SELECT sources FROM runs").fetchone()
    finally:
        lake.close()
    in_lake = {entry["source_id"]: entry for entry in recorded}
    for source_id, (_, error_type, message) in HOSTILE_SOURCES.items():
        assert in_lake[source_id]["status"] == "failed" and message in in_lake[source_id]["error"]
        assert in_lake[source_id]["error_type"] == error_type
    with connect_lake(data_dir / "lake") as con:  # the sources table carries the type too
        kinds = dict(con.execute("SELECT source_id, error_type FROM sources WHERE status = 'failed'").fetchall())
    assert kinds == {source_id: error_type for source_id, (_, error_type, _) in HOSTILE_SOURCES.items()}
    assert {source_id for source_id, entry in in_lake.items() if entry["status"] == "ok"} == set(GOOD_SOURCES)

    staging = data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir()), list(staging.rglob("*"))
    assert not list(data_dir.rglob("*.tmp"))
