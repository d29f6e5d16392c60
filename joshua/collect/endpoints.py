"""The requests each kind of source needs: URLs with their query built from the keyword lists.

Pure functions: a source, the lexicon's keyword lists and its credential in, `Request`s out.
Credentials travel in headers only, so they never appear in URLs, the HTTP cache or snapshots.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from joshua.collect.fetch import Request
from schemas.records import Source

# GDELT rejects long queries; this many OR'ed terms per artlist request stays well inside its limit.
GDELT_TERMS_PER_QUERY = 8
NEWSAPI_MAX_QUERY = 500


def quoted(term: str) -> str:
    """A term as a search phrase: multi-word terms in double quotes."""
    return f'"{term}"' if " " in term else term


def or_query(terms: list[str]) -> str:
    """Terms joined with OR, in parentheses when there is more than one."""
    joined = " OR ".join(quoted(term) for term in terms)
    return f"({joined})" if len(terms) > 1 else joined


def source_terms(source: Source, keywords: dict[str, list[str]]) -> list[str]:
    """The terms of the keyword lists a source names, in order, without repeats."""
    terms: list[str] = []
    for name in source.keywords:
        terms.extend(term for term in keywords.get(name, []) if term not in terms)
    return terms


def with_params(source: Source, extra: dict[str, str | tuple[str, ...]]) -> str:
    """The source's URL with its own parameters and `extra` merged into the query string."""
    return str(httpx.URL(str(source.url), params={**source.params, **extra}))


def feed_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """An RSS or Atom feed: its URL as declared."""
    return [Request(with_params(source, {}))]


def gdelt_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """GDELT DOC 2.0: one request per chunk of keyword terms (English sources only)."""
    terms = source_terms(source, keywords)
    chunks = [terms[i : i + GDELT_TERMS_PER_QUERY] for i in range(0, len(terms), GDELT_TERMS_PER_QUERY)] or [[]]
    return [Request(with_params(source, {"query": f"{or_query(chunk)} sourcelang:english".strip()})) for chunk in chunks]


def gdelt_timeline_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """GDELT DOC 2.0 timelines: one query over the source's first keyword terms, one request per mode."""
    query = f"{or_query(source_terms(source, keywords)[:GDELT_TERMS_PER_QUERY])} sourcelang:english"
    return [Request(with_params(source, {"query": query, "mode": mode})) for mode in source.targets]


def federal_register_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """Federal Register documents search: the terms OR'ed, agencies as declared in the source's params."""
    return [Request(with_params(source, {"conditions[term]": " | ".join(quoted(t) for t in source_terms(source, keywords))}))]


def newsapi_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """NewsAPI /v2/everything: as many terms OR'ed as fit its 500-character `q`, key in a header."""
    chosen: list[str] = []
    for term in source_terms(source, keywords):
        if len(or_query([*chosen, term])) > NEWSAPI_MAX_QUERY:
            break
        chosen.append(term)
    return [Request(with_params(source, {"q": or_query(chosen)}), {"X-Api-Key": credential or ""})]


def reddit_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """Reddit's public JSON: the hot listing of each subreddit in `targets`."""
    base = str(source.url).rstrip("/")
    return [Request(str(httpx.URL(f"{base}/r/{subreddit}/hot.json", params=source.params))) for subreddit in source.targets]


def x_requests(source: Source, keywords: dict[str, list[str]], credential: str | None) -> list[Request]:
    """X API v2 recent search: the keyword query, and the `targets` accounts' timelines as `from:` queries."""
    auth = {"Authorization": f"Bearer {credential or ''}"}
    fields = {"tweet.fields": "created_at,lang,author_id", "max_results": "100"}
    requests = []
    terms = source_terms(source, keywords)
    if terms:
        query = f"{or_query(terms[:20])} lang:en -is:retweet"
        requests.append(Request(with_params(source, {**fields, "query": query}), auth))
    if source.targets:
        accounts = " OR ".join(f"from:{account}" for account in source.targets)
        requests.append(Request(with_params(source, {**fields, "query": f"({accounts}) -is:retweet"}), auth))
    return requests


REQUEST_BUILDERS: dict[str, Callable[[Source, dict[str, list[str]], str | None], list[Request]]] = {
    "feed": feed_requests,
    "gdelt_artlist": gdelt_requests,
    "gdelt_timeline": gdelt_timeline_requests,
    "federal_register": federal_register_requests,
    "newsapi": newsapi_requests,
    "reddit": reddit_requests,
    "x_search": x_requests,
}


def source_requests(source: Source, keywords: dict[str, list[str]], credential: str | None = None) -> list[Request]:
    """Every request one source needs."""
    return REQUEST_BUILDERS[source.kind](source, keywords, credential)
