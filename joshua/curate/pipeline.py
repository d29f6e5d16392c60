"""Curation as `LazyFrame -> LazyFrame` steps: identity, relevance and categories, dedup, quality, evidence.

`curate(raw, ...)` chains them; each step is usable and testable on its own.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import polars as pl

from joshua.curate.lexicon import Lexicon, terms_pattern
from joshua.curate.relevance import compile_rules, judge
from joshua.curate.simhash import max_distance, near_duplicates, simhash64
from joshua.language import iso_language
from joshua.urls import safe_url
from schemas.tables import ARTICLES

PRIOR_SCHEMA = {"article_id": pl.String, "simhash": pl.UInt64}

# Query parameters that only track the reader and never change the article (compared in lower case).
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
        "ref", "ref_src", "ref_url", "cmpid", "cmp", "ocid", "icid", "ito", "smid", "sr_share", "traffic_source",
        "xtor", "guccounter", "guce_referrer", "guce_referrer_sig", "_ga", "_gl", "mkt_tok", "spm",
        "wt.mc_id", "s_cid", "dmcid", "mbid",
    }
)  # fmt: skip
# Prefixes of tracking-parameter families: Google Analytics (utm_), AT Internet (at_), comScore (ns_),
# Matomo/Piwik (pk_, mtm_), HubSpot (hsa_, _hs), Omeda (oly_).
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "_hs", "oly_")
# Spec §2.4 quality weights: source, timeliness, verifiability, completeness.
QUALITY_WEIGHTS = (0.35, 0.25, 0.25, 0.15)
# Text shorter than this gives the reader no context (completeness −0.3).
MIN_CONTEXT_CHARS = 200


def canonical_url(url: str | None) -> str | None:
    """A URL reduced to what identifies the article: https, no www, no tracking, no fragment."""
    url = safe_url(url)  # http(s) only, unsafe characters percent-encoded (it ends up in reports)
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith(TRACKING_PREFIXES) and key.lower() not in TRACKING_PARAMS
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, query, ""))


def content_hash(title: str, text: str) -> str:
    """A stable hash of an item's normalised words (case and whitespace ignored)."""
    normalised = " ".join(f"{title} {text}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]


def article_id(source_id: str, key: str) -> str:
    """A stable id for an article of a source, from its canonical URL, guid or content hash."""
    return hashlib.sha256(f"{source_id}\n{key}".encode()).hexdigest()[:16]


def python_chunks(series: pl.Series, size: int = 5_000):
    """A series as Python lists of `size` values: a list of every text at once would double the memory."""
    for offset in range(0, len(series), size):
        yield series.slice(offset, size).to_list()


def _python_map(column: str, function, dtype: pl.DataType = pl.String) -> pl.Expr:
    """Apply a pure Python function to each value of a column, batch-wise."""
    return pl.col(column).map_batches(
        lambda series: pl.Series([function(value) for value in series.to_list()], dtype=dtype),
        return_dtype=dtype,
    )


def with_identity(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Add canonical_url, content_hash and article_id; drop an item a feed repeated verbatim."""
    return (
        raw.with_columns(
            canonical_url=_python_map("url", canonical_url),
            content_hash=pl.concat_str("title", "body", separator=" ").map_batches(
                lambda texts: pl.Series(
                    [content_hash(text, "") for chunk in python_chunks(texts) for text in chunk], dtype=pl.String
                ),
                return_dtype=pl.String,
            ),
        )
        .with_columns(
            article_id=pl.struct("source_id", "canonical_url", "guid", "content_hash").map_batches(
                lambda s: pl.Series(
                    [
                        article_id(r["source_id"], r["canonical_url"] or r["guid"] or r["content_hash"])
                        for r in s.to_list()
                    ]
                ),
                return_dtype=pl.String,
            )
        )
        .unique(subset="article_id", keep="first", maintain_order=True)
    )


def _count(pattern_terms: list[str], column: str) -> pl.Expr:
    """Matches of a term list in a lower-cased text column."""
    return pl.col(column).str.count_matches(terms_pattern(pattern_terms, lowered=True)).cast(pl.Int64)


JUDGEMENT = pl.Struct({"relevance": pl.Float64, "categories": pl.List(pl.String), "escalation": pl.Float64})


def with_lexicon(articles: pl.LazyFrame, lexicon: Lexicon) -> pl.LazyFrame:
    """Add relevance, categories and the escalation share (rules in joshua/curate/relevance.py), and quality cues.

    The language becomes an ISO 639-1 code (older raw items may say "English").
    """
    rules = compile_rules(lexicon)

    def judged(rows: pl.Series) -> pl.Series:
        return pl.Series(
            [judge(row["title"] or "", row["body"] or "", row["language"], rules)._asdict() for row in rows.to_list()],
            dtype=JUDGEMENT,
        )

    lowered = pl.col("title").str.to_lowercase() + " " + pl.col("body").str.to_lowercase()
    return (
        articles.with_columns(language=_python_map("language", iso_language))
        .with_columns(
            _judgement=pl.struct("title", "body", "language").map_batches(judged, return_dtype=JUDGEMENT),
            _text=lowered,
        )
        .with_columns(
            relevance=pl.col("_judgement").struct.field("relevance"),
            categories=pl.col("_judgement").struct.field("categories"),
            escalation=pl.col("_judgement").struct.field("escalation"),
            _attributed=_count(lexicon.attribution, "_text") > 0,
            _hedged=_count(lexicon.uncertainty, "_text") > 0,
        )
        .drop("_judgement", "_text")
    )


def mark_duplicates(
    articles: pl.LazyFrame, reliability: pl.LazyFrame, prior: pl.DataFrame, threshold: float
) -> pl.LazyFrame:
    """Point each copy of a story at the first copy seen; count the sources that carry it.

    Articles are seen best-sourced first (most reliable source, then earliest published), after
    the articles kept by earlier runs in the look-back (`prior`: article_id, simhash). A copy is
    the same canonical URL, the same content hash, or a SimHash similarity above `threshold`.
    `corroboration` counts the distinct sources of this run that carry the story.
    """
    # The order and the links are worked out on a slim frame: sorting or joining the full one
    # would copy every article's text.
    weights = reliability.collect()
    frame = articles.with_columns(
        reliability=pl.col("source_id").replace_strict(
            weights["source_id"], weights["reliability"], default=None, return_dtype=pl.Float64
        ),
        simhash=simhash_expr(pl.col("title") + " " + pl.col("body")),
    ).collect()
    first_by_url = pl.col("article_id").first().over("canonical_url")
    first_by_hash = pl.col("article_id").first().over("content_hash")
    seen = (
        frame.select("article_id", "canonical_url", "content_hash", "simhash", "reliability", "published_at")
        .sort(["reliability", "published_at", "article_id"], descending=[True, False, False], nulls_last=True)
        .with_columns(
            _exact_of=pl.when(pl.col("canonical_url").is_not_null() & (first_by_url != pl.col("article_id")))
            .then(first_by_url)
            .when(first_by_hash != pl.col("article_id"))
            .then(first_by_hash)
            .otherwise(pl.lit(None, pl.String))
        )
    )
    # A text with no SimHash features (no word longer than 3 characters) fingerprints to 0 and
    # says nothing about similarity: only exact matching applies to it.
    candidates = seen.filter(pl.col("_exact_of").is_null() & (pl.col("simhash") != 0))
    near = near_duplicate_ids(candidates, prior, max_distance(threshold))
    links = (
        seen.select("article_id", "_exact_of")
        .join(near, on="article_id", how="left")
        .join(near.rename({"article_id": "_exact_of", "_near_of": "_root_of"}), on="_exact_of", how="left")
        .select("article_id", duplicate_of=pl.coalesce("_near_of", "_root_of", "_exact_of"))
    )
    return (
        frame.lazy()
        .with_columns(
            duplicate_of=pl.col("article_id").replace_strict(
                links["article_id"], links["duplicate_of"], default=None, return_dtype=pl.String
            )
        )
        .with_columns(_story=pl.coalesce("duplicate_of", "article_id"))
        .with_columns(corroboration=pl.col("source_id").n_unique().over("_story").cast(pl.Int32))
        .drop("_story")
    )


def simhash_expr(text: pl.Expr) -> pl.Expr:
    """The 64-bit SimHash of a text column (see joshua/curate/simhash.py)."""
    return text.map_batches(lambda texts: pl.Series(simhash64(texts), dtype=pl.UInt64), return_dtype=pl.UInt64)


def near_duplicate_ids(kept: pl.DataFrame, prior: pl.DataFrame, distance: int) -> pl.DataFrame:
    """article_id → the article_id it near-duplicates (`_near_of`), for the near-duplicates among `kept`."""
    prior = prior.filter(~pl.col("article_id").is_in(kept["article_id"].implode()))
    matches = near_duplicates(kept["simhash"].to_numpy(), distance, prior["simhash"].to_numpy())
    ids, prior_ids = kept["article_id"].to_list(), prior["article_id"].to_list()
    targets = [None if m == -1 else ids[m] if m >= 0 else prior_ids[-2 - m] for m in matches.tolist()]
    return pl.DataFrame({"article_id": ids, "_near_of": targets}, schema={"article_id": pl.String, "_near_of": pl.String})


def with_quality(articles: pl.LazyFrame, as_of: datetime, primary_domains: list[str]) -> pl.LazyFrame:
    """Add the spec's quality score (§2.4) and its four parts.

    source = the source's reliability; timeliness by age: future 0, < 7 d 1.0, < 30 d 0.8,
    < 90 d 0.5, older or undated 0.2; verifiability: +0.3 attributed claims, +0.4 carried by ≥ 2
    sources, +0.3 a primary-source (official) URL; completeness: 1.0, −0.2 no date or URL,
    −0.3 under 200 characters of text, −0.2 no hedging or estimate language.
    """
    age = pl.lit(as_of) - pl.col("published_at")
    domain = pl.col("canonical_url").str.extract(r"^https://([^/]+)", 1).fill_null("")
    official = pl.any_horizontal([domain.str.ends_with(suffix) for suffix in primary_domains])
    timeliness = (
        pl.when(pl.col("published_at").is_null())
        .then(0.2)
        .when(age < timedelta(0))
        .then(0.0)
        .when(age < timedelta(days=7))
        .then(1.0)
        .when(age < timedelta(days=30))
        .then(0.8)
        .when(age < timedelta(days=90))
        .then(0.5)
        .otherwise(0.2)
    )
    verifiability = (
        pl.col("_attributed").cast(pl.Float64) * 0.3
        + (pl.col("corroboration") >= 2).cast(pl.Float64) * 0.4
        + official.cast(pl.Float64) * 0.3
    )
    completeness = (
        1.0
        - (pl.col("published_at").is_null() | pl.col("canonical_url").is_null()).cast(pl.Float64) * 0.2
        - (pl.col("body").str.len_chars() < MIN_CONTEXT_CHARS).cast(pl.Float64) * 0.3
        - (~pl.col("_hedged")).cast(pl.Float64) * 0.2
    ).clip(0.0, 1.0)
    source_w, time_w, verify_w, complete_w = QUALITY_WEIGHTS
    return articles.with_columns(
        quality_source=pl.col("reliability"),
        quality_timeliness=timeliness,
        quality_verifiability=verifiability,
        quality_completeness=completeness,
    ).with_columns(
        quality=(
            source_w * pl.col("quality_source")
            + time_w * pl.col("quality_timeliness")
            + verify_w * pl.col("quality_verifiability")
            + complete_w * pl.col("quality_completeness")
        ).clip(0.0, 1.0)
    )


def with_evidence_flag(articles: pl.LazyFrame, min_relevance: float, as_of: datetime) -> pl.LazyFrame:
    """Mark the articles that may be offered as evidence; every article stays in the table.

    Evidence is a first copy (not a duplicate), relevant (at or above the floor), in at least one
    category, and not dated in the future (a feed's bad clock).
    """
    return articles.with_columns(
        evidence=pl.col("duplicate_of").is_null()
        & (pl.col("relevance") >= min_relevance)
        & (pl.col("categories").list.len() > 0)
        & (pl.col("published_at").is_null() | (pl.col("published_at") <= pl.lit(as_of)))
    )


def to_articles(articles: pl.LazyFrame, run_id: str) -> pl.LazyFrame:
    """Shape curated rows into the `articles` table contract."""
    return articles.with_columns(run_id=pl.lit(run_id), text=pl.col("body")).select(
        [pl.col(name).cast(dtype) for name, dtype in ARTICLES.items()]
    )


def curate(
    raw: pl.LazyFrame,
    reliability: pl.LazyFrame,
    lexicon: Lexicon,
    *,
    run_id: str,
    as_of: datetime,
    min_relevance: float,
    simhash_threshold: float,
    prior: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Raw items of a run into its `articles` table; `prior` holds earlier runs' kept fingerprints."""
    prior = prior if prior is not None else pl.DataFrame(schema=PRIOR_SCHEMA)
    return (
        raw.pipe(with_identity)
        .pipe(with_lexicon, lexicon)
        .pipe(mark_duplicates, reliability, prior, simhash_threshold)
        .pipe(with_quality, as_of, lexicon.primary_domains)
        .pipe(with_evidence_flag, min_relevance, as_of)
        .pipe(to_articles, run_id)
    )

