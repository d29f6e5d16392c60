"""Parsing: response bodies into `RawItem`s (or `Signal`s). Pure functions, no network.

Collected text is data: it is decoded, stripped to visible text and capped, never executed,
followed or interpreted.
"""

from __future__ import annotations

import calendar
import json
import re
from html.entities import html5
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError as XmlParseError

import defusedxml.ElementTree as safe_xml
import feedparser
from defusedxml import DefusedXmlException
from selectolax.lexbor import LexborHTMLParser

from joshua.errors import ParseError
from joshua.language import LATIN_LANGUAGES, iso_language, latin_script
from schemas.records import RawItem, Signal, Source

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "iframe"]
_XML_DECLARED = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""", re.IGNORECASE)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# C0 and C1 control characters (ESC and CSI start terminal escape sequences); whitespace ones become spaces.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED_REFERENCE = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_PREDEFINED = frozenset({"amp", "lt", "gt", "quot", "apos"})
# NewsAPI cuts `content` to 200 characters and appends "… [+58092 chars]".
_NEWSAPI_TRUNCATION = re.compile(r"\s*(?:…|\.\.\.)?\s*\[\+\d+ chars\]\s*$")
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


def html_to_text(html: str, max_chars: int) -> str:
    """Visible text of an HTML fragment, whitespace collapsed, scripts and styles dropped, capped."""
    if "<" not in html and "&" not in html:
        text = html
    else:
        tree = LexborHTMLParser(html)
        tree.strip_tags(_INVISIBLE_TAGS)
        root = tree.body or tree.root
        text = root.text(separator=" ") if root is not None else ""
    return " ".join(_CONTROL.sub(" ", text).split())[:max_chars]


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, or None."""
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def decode_text(body: bytes, labels: list[str]) -> str:
    """Bytes as text: UTF-8 when they are valid UTF-8, else the first label that decodes, else detected.

    Valid multi-byte UTF-8 almost never happens by accident, so it beats a label claiming Latin-1
    (the usual mislabelling); a UTF-8 label on Windows-1252 bytes fails to decode and falls
    through to the next label, then to charset detection.
    """
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        labels = ["utf-16", *labels]
    for encoding in ("utf-8", *labels):
        try:
            return body.decode(encoding).removeprefix("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    from charset_normalizer import from_bytes  # only mislabelled bodies pay for loading it

    results = from_bytes(body)
    best = results.best()
    if best is None:
        return body.decode("utf-8", "replace")
    # On short Western text detection cannot tell the Latin code pages apart (Latin-1 "Genève" came
    # out as cp1257 "Genčve"): Windows-1252, the usual unlabelled encoding, wins when about as plausible.
    western = next((match for match in results if match.encoding == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + 0.05 and western.coherence >= best.coherence:
        best = western
    return str(best)


def utf8_xml(body: bytes, content_type: str | None = None) -> bytes:
    """XML bytes re-encoded as UTF-8, declaration updated to match, characters XML forbids removed."""
    head = body[:200].decode("ascii", "replace")
    declared = _XML_DECLARED.match(head)
    labels = [label for label in (header_charset(content_type), declared and declared.group(2)) if label]
    text = _XML_ILLEGAL.sub("", decode_text(body, labels))
    return _XML_DECLARED.sub(r"\g<1>utf-8\g<3>", text, count=1).encode("utf-8")


def looks_like_html(body: bytes) -> bool:
    """True when a body starts like an HTML page (an error or login page instead of data)."""
    start = body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:100]


def numeric_html_entities(xml: bytes) -> bytes:
    """HTML named references (`&nbsp;`, `&eacute;`), undefined in XML but common in feeds, as numeric ones.

    Only names HTML defines are rewritten; XML's five stay, and any other name is left for the strict
    parse to refuse, as are entity declarations.
    """

    def numeric(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode("ascii")
        text = html5.get(f"{name};")
        if name in _XML_PREDEFINED or text is None:
            return match.group(0)
        return "".join(f"&#{ord(char)};" for char in text).encode("ascii")

    return _NAMED_REFERENCE.sub(numeric, xml)


def parse_feed(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """RSS or Atom bytes into raw items; malformed XML and entity tricks raise ParseError."""
    if not body.strip():
        raise ParseError(source.id, None, "empty body where a feed was expected")
    if looks_like_html(body):
        raise ParseError(source.id, None, "got an HTML page where an RSS or Atom feed was expected")
    xml = numeric_html_entities(utf8_xml(body, content_type))
    try:
        # feedparser is lenient by design; a strict, entity-refusing parse decides what is malformed.
        tree = safe_xml.fromstring(xml, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except XmlParseError as exc:
        raise ParseError(source.id, None, f"malformed XML ({exc})") from exc
    except DefusedXmlException as exc:
        raise ParseError(source.id, None, f"refused XML ({type(exc).__name__})") from exc
    parsed = feedparser.parse(xml, resolve_relative_uris=False, sanitize_html=False)
    if not parsed.get("version"):
        raise ParseError(source.id, None, "not an RSS or Atom feed")
    language = iso_language(parsed.feed.get("language")) or source.language
    bodies = item_bodies(tree)
    if len(bodies) != len(parsed.entries):  # cannot pair them safely: feedparser's reading alone
        bodies = [None] * len(parsed.entries)
    return [
        _feed_entry_to_item(entry, own_body, source, max_text_chars, language)
        for entry, own_body in zip(parsed.entries, bodies, strict=True)
    ]


def item_bodies(tree: Any) -> list[str | None]:
    """Each item's own text, in document order: RSS `content:encoded` or `description`, Atom `content` or `summary`.

    feedparser reads a Media RSS `<media:description>` (often a photo credit, or empty) as the item's
    description and lets it replace the real one; the item's direct children are read here instead.
    """
    items = [element for element in tree.iter() if element.tag in ("item", f"{RSS1}item", f"{ATOM}entry")]
    bodies: list[str | None] = []
    for item in items:
        children = {child.tag: child for child in item}
        preferred = (CONTENT_ENCODED, "description", f"{RSS1}description", f"{ATOM}content", f"{ATOM}summary")
        element = next((children[tag] for tag in preferred if tag in children and "".join(children[tag].itertext()).strip()), None)
        bodies.append(_element_html(element) if element is not None else None)
    return bodies


def _element_html(element: Any) -> str:
    """An element's text: escaped HTML as the text it carries, inline XHTML (Atom type="xhtml") as its markup."""
    if len(element):
        return (element.text or "") + "".join(safe_xml.tostring(child, encoding="unicode") for child in element)
    return element.text or ""


def _feed_entry_to_item(
    entry: feedparser.FeedParserDict, own_body: str | None, source: Source, max_chars: int, language: str | None
) -> RawItem:
    """One feedparser entry as a raw item; `own_body` is the item's own description when one was found."""
    contents = entry.get("content") or []
    html = own_body if own_body is not None else contents[0].get("value", "") if contents else entry.get("summary", "")
    # dict.get: feedparser's get() maps a missing updated_parsed to published_parsed with a DeprecationWarning
    when = entry.get("published_parsed") or dict.get(entry, "updated_parsed")
    return RawItem(
        source_id=source.id,
        # FeedBurner rewrites links to its redirector and keeps the publisher's in feedburner:origLink.
        url=_http_url(entry.get("feedburner_origlink")) or _http_url(entry.get("link")),
        guid=entry.get("id") or None,
        title=html_to_text(entry.get("title", ""), max_chars),
        body=html_to_text(html, max_chars),
        published_at=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None,
        language=language,
    )


def _http_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None (feedparser promotes any guid to a link)."""
    return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else None


def _text(value: Any, max_chars: int) -> str:
    """A JSON field as capped visible text; anything that is not a string counts as empty."""
    return html_to_text(value, max_chars) if isinstance(value, str) else ""


def _iso_date(value: Any) -> datetime | None:
    """An ISO 8601 date or time (a bare date is midnight UTC) as an aware datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _gdelt_date(value: Any) -> datetime | None:
    """GDELT's `20261125T143000Z` as an aware datetime, or None."""
    try:
        return datetime.strptime(value if isinstance(value, str) else "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _epoch(value: Any) -> datetime | None:
    """Unix seconds as an aware datetime, or None."""
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) and 0 < value < 2**33 else None


def load_json(body: bytes, source: Source, service: str) -> Any:
    """A JSON body, or a ParseError quoting the start of what came instead (often an HTML error page)."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        snippet = " ".join(body[:120].decode("utf-8", "replace").split())
        kind = "an HTML page" if looks_like_html(body) else "non-JSON text"
        raise ParseError(source.id, None, f"{service} returned {kind} instead of JSON: {snippet!r}") from exc


def json_list(document: Any, path: tuple[str, ...], source: Source, service: str, entry_key: str) -> list[dict]:
    """The list of objects at `path` in a JSON document; ParseError when the shape is wrong.

    A reply of another kind (another API's JSON, an error object) fails instead of reading as "no
    results": every key of `path` must be there, unless the document is the empty object `{}`, and
    a non-empty list must hold objects with `entry_key`.
    """
    if not isinstance(document, dict):  # a list or a scalar would otherwise read as "no results"
        raise ParseError(source.id, None, f"{service} JSON is a {type(document).__name__}, not an object")
    if not document:
        return []
    value: Any = document
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            found = sorted(value)[:5] if isinstance(value, dict) else type(value).__name__
            raise ParseError(source.id, None, f"{service} JSON has no {'.'.join(path[: depth + 1])!r}: found {found}")
        value = value[key]
    if not isinstance(value, list | type(None)):
        raise ParseError(source.id, None, f"{service} JSON field {'.'.join(path)!r} is not a list")
    entries = [entry for entry in value or [] if isinstance(entry, dict)]
    if entries and not any(entry_key in entry for entry in entries):
        raise ParseError(source.id, None, f"{service} JSON {'.'.join(path)!r} holds no {entry_key!r} entries: not a {service} reply")
    return entries


def parse_gdelt_artlist(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """A GDELT DOC 2.0 `artlist` JSON response into raw items (GDELT gives titles, not text).

    GDELT answers an empty result with `{}` and a bad query with an HTML or plain-text message.
    """
    articles = json_list(load_json(body, source, "GDELT"), ("articles",), source, "GDELT", "url")
    return [
        RawItem(
            source_id=source.id,
            url=_http_url(article.get("url")),
            guid=article.get("url") if isinstance(article.get("url"), str) else None,
            title=_text(article.get("title"), max_text_chars),
            body="",
            published_at=_gdelt_date(article.get("seendate")),
            language=iso_language(article.get("language")),
        )
        for article in articles
    ]


def parse_gdelt_timeline(body: bytes, source: Source, content_type: str | None = None) -> list[Signal]:
    """A GDELT `timelinetone` or `timelinevol` JSON response into signal points."""
    series = json_list(load_json(body, source, "GDELT"), ("timeline",), source, "GDELT", "data")
    return [
        Signal(source_id=source.id, series=str(line.get("series", "")), at=when, value=float(point["value"]))
        for line in series
        for point in line.get("data") or []
        if isinstance(point, dict)
        and isinstance(point.get("value"), int | float)
        and (when := _gdelt_date(point.get("date"))) is not None
    ]


def parse_federal_register(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """Federal Register `documents.json` results into raw items (title, and abstract or else the search excerpts).

    The API leaves `results` out when nothing matched (`{"count": 0, ...}`).
    """
    document = load_json(body, source, "Federal Register")
    if isinstance(document, dict) and document.get("count") == 0 and "results" not in document:
        return []
    documents = json_list(document, ("results",), source, "Federal Register", "document_number")
    return [
        RawItem(
            source_id=source.id,
            url=_http_url(document.get("html_url")),
            guid=document.get("document_number") if isinstance(document.get("document_number"), str) else None,
            title=_text(document.get("title"), max_text_chars),
            body=_text(document.get("abstract"), max_text_chars) or _text(document.get("excerpts"), max_text_chars),
            published_at=_iso_date(document.get("publication_date")),
            language="en",
        )
        for document in documents
    ]


def parse_newsapi(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """NewsAPI `/v2/everything` articles into raw items; an `error` status is a ParseError."""
    document = load_json(body, source, "NewsAPI")
    if isinstance(document, dict) and document.get("status") == "error":
        raise ParseError(source.id, None, f"NewsAPI error {document.get('code')}: {document.get('message')}")
    return [
        RawItem(
            source_id=source.id,
            url=_http_url(article.get("url")),
            guid=None,
            title=_text(article.get("title"), max_text_chars),
            body=newsapi_body(article, max_text_chars),
            published_at=_iso_date(article.get("publishedAt")),
            language=newsapi_language(article, source),
        )
        for article in json_list(document, ("articles",), source, "NewsAPI", "url")
    ]


def newsapi_body(article: dict, max_chars: int) -> str:
    """An article's `description`; its `content` (cut at 200 characters by NewsAPI) only when there is none."""
    description = _text(article.get("description"), max_chars)
    content = article.get("content")
    return description or _text(_NEWSAPI_TRUNCATION.sub(" …", content) if isinstance(content, str) else None, max_chars)


def newsapi_language(article: dict, source: Source) -> str | None:
    """An article's own language: its `language` field when it has one, else the requested language.

    The requested language is not trusted for a text outside its script: NewsAPI files some Hindi
    headlines under `language=en`; such an item gets no language (and is never evidence).
    """
    own = iso_language(article.get("language"))
    requested = iso_language(source.params.get("language")) or source.language
    if own or requested not in LATIN_LANGUAGES:
        return own or requested
    text = " ".join(value for key in ("title", "description") if isinstance(value := article.get(key), str))
    return requested if latin_script(text) else None


def parse_reddit(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """A Reddit listing (`/r/<name>/hot.json`) into raw items; stickied posts are skipped."""
    children = json_list(load_json(body, source, "Reddit"), ("data", "children"), source, "Reddit", "data")
    posts = [child.get("data") for child in children if isinstance(child.get("data"), dict)]
    return [
        RawItem(
            source_id=source.id,
            url=_http_url(f"https://www.reddit.com{post['permalink']}" if isinstance(post.get("permalink"), str) else None),
            guid=post.get("name") if isinstance(post.get("name"), str) else None,
            title=_text(post.get("title"), max_text_chars),
            body=_text(post.get("selftext"), max_text_chars) or _text(post.get("url"), max_text_chars),
            published_at=_epoch(post.get("created_utc")),
            language=source.language,
        )
        for post in posts
        if not post.get("stickied")
    ]


def parse_x(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """An X API v2 search response into raw items (a post's text is both title and body)."""
    document = load_json(body, source, "X API")
    if isinstance(document, dict) and "data" not in document:
        if document.get("errors"):
            raise ParseError(source.id, None, f"X API error: {str(document['errors'][0])[:200]}")
        if isinstance(document.get("meta"), dict) and document["meta"].get("result_count") == 0:
            return []  # X leaves `data` out when nothing matched; any other reply without it is wrong
    return [
        RawItem(
            source_id=source.id,
            url=f"https://x.com/i/web/status/{post['id']}" if str(post.get("id", "")).isdigit() else None,
            guid=str(post["id"]) if post.get("id") is not None else None,
            title=_text(post.get("text"), 200),
            body=_text(post.get("text"), max_text_chars),
            published_at=_iso_date(post.get("created_at")),
            language=iso_language(post.get("lang")),
        )
        for post in json_list(document, ("data",), source, "X API", "text")
    ]


ItemParser = Callable[[bytes, Source, int, str | None], list[RawItem]]
PARSERS: dict[str, ItemParser] = {
    "feed": parse_feed,
    "gdelt_artlist": parse_gdelt_artlist,
    "federal_register": parse_federal_register,
    "newsapi": parse_newsapi,
    "reddit": parse_reddit,
    "x_search": parse_x,
}
SIGNAL_KINDS = frozenset({"gdelt_timeline"})


def parse_response(body: bytes, source: Source, max_text_chars: int, content_type: str | None = None) -> list[RawItem]:
    """Parse a body with the item parser of the source's kind."""
    return PARSERS[source.kind](body, source, max_text_chars, content_type)
