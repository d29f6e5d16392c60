"""Parsing: response bodies into `RawItem`s. Pure functions, no network."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
import feedparser
from defusedxml import DefusedXmlException
from selectolax.lexbor import LexborHTMLParser

from joshua.errors import SourceError
from schemas.records import RawItem, Source

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "iframe"]


def html_to_text(html: str, max_chars: int) -> str:
    """Visible text of an HTML fragment, whitespace collapsed, scripts and styles dropped, capped."""
    if "<" not in html and "&" not in html:
        text = html
    else:
        tree = LexborHTMLParser(html)
        tree.strip_tags(_INVISIBLE_TAGS)
        root = tree.body or tree.root
        text = root.text(separator=" ") if root is not None else ""
    return " ".join(text.split())[:max_chars]


def parse_feed(body: bytes, source: Source, max_text_chars: int) -> list[RawItem]:
    """RSS or Atom bytes into raw items; malformed XML and entity tricks raise SourceError."""
    try:
        # feedparser is lenient by design; a strict, entity-refusing parse decides what is malformed.
        safe_xml.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        raise SourceError(f"{source.id}: malformed XML ({exc})") from exc
    except DefusedXmlException as exc:
        raise SourceError(f"{source.id}: refused XML ({type(exc).__name__})") from exc
    parsed = feedparser.parse(body, resolve_relative_uris=False, sanitize_html=False)
    if not parsed.get("version"):
        raise SourceError(f"{source.id}: not an RSS or Atom feed")
    language = parsed.feed.get("language") or None
    return [_feed_entry_to_item(entry, source, max_text_chars, language) for entry in parsed.entries]


def _feed_entry_to_item(
    entry: feedparser.FeedParserDict, source: Source, max_chars: int, language: str | None
) -> RawItem:
    """One feedparser entry as a raw item."""
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return RawItem(
        source_id=source.id,
        url=_http_url(entry.get("link")),
        guid=entry.get("id") or None,
        title=html_to_text(entry.get("title", ""), max_chars),
        body=html_to_text(html, max_chars),
        published_at=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else None,
        language=language,
    )


def _http_url(value: str | None) -> str | None:
    """An absolute http(s) URL, or None (feedparser promotes any guid to a link)."""
    return value if value and value.lower().startswith(("http://", "https://")) else None


def parse_gdelt_artlist(body: bytes, source: Source, max_text_chars: int) -> list[RawItem]:
    """A GDELT DOC 2.0 `artlist` JSON response into raw items (GDELT gives titles, not text)."""
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        snippet = body[:80].decode("utf-8", "replace").strip()
        raise SourceError(f"{source.id}: GDELT did not return JSON: {snippet!r}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("articles", []), list):
        raise SourceError(f"{source.id}: GDELT JSON has no 'articles' list")
    return [
        RawItem(
            source_id=source.id,
            url=_http_url(article.get("url")),
            guid=article.get("url") or None,
            title=html_to_text(article.get("title", ""), max_text_chars),
            body="",
            published_at=_gdelt_date(article.get("seendate")),
            language=article.get("language") or None,
        )
        for article in document.get("articles", [])
        if isinstance(article, dict)
    ]


def _gdelt_date(value: str | None) -> datetime | None:
    """GDELT's `20261125T143000Z` as an aware datetime, or None."""
    try:
        return datetime.strptime(value or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


PARSERS = {"feed": parse_feed, "gdelt_artlist": parse_gdelt_artlist}


def parse_response(body: bytes, source: Source, max_text_chars: int) -> list[RawItem]:
    """Parse a body with the parser of the source's kind."""
    return PARSERS[source.kind](body, source, max_text_chars)
