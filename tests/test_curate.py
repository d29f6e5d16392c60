from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from joshua.curate.lexicon import load_lexicon, terms_pattern
from joshua.curate.pipeline import (
    canonical_url,
    content_hash,
    curate,
    PRIOR_SCHEMA,
    mark_duplicates,
    with_evidence_flag,
    with_identity,
    with_lexicon,
    with_quality,
)
from joshua.curate.validate import validate_articles, validate_run
from joshua.errors import SchemaViolation
from joshua.settings import PROJECT_ROOT
from schemas.tables import RAW_ITEMS

AS_OF = datetime(2026, 11, 26, 6, tzinfo=UTC)
LEXICON = load_lexicon(PROJECT_ROOT / "data" / "lexicon.toml")
RELIABILITY = pl.LazyFrame({"source_id": ["a", "b"], "reliability": [0.9, 0.5]})
NO_PRIOR = pl.DataFrame(schema=PRIOR_SCHEMA)
LONG = "According to officials, the estimated warhead count rose. " * 5


def raw(rows: list[dict]) -> pl.LazyFrame:
    defaults = {
        "run_id": "r",
        "fetched_at": AS_OF,
        "http_status": 200,
        "etag": None,
        "last_modified": None,
        "guid": None,
        "published_at": AS_OF - timedelta(days=1),
        "language": "en",
    }
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=RAW_ITEMS).lazy()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://www.Example.com/a/?utm_source=rss&id=3#top", "https://example.com/a?id=3"),
        ("https://example.com/a", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1&fbclid=x", "https://example.com/a?a=1&b=2"),
        ("https://example.com", "https://example.com/"),
        ("not a url", None),
        (None, None),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_content_hash_ignores_case_and_whitespace():
    assert content_hash("Title", "Some  text") == content_hash("title", "some text\n")
    assert content_hash("Title", "Some text") != content_hash("Title", "Other text")


def test_terms_pattern_matches_words_and_prefixes():
    pattern = terms_pattern(["icbm*", "arms control", "war"])
    frame = pl.DataFrame({"t": ["ICBMs and arms control", "warned of war", "software"]})
    counts = frame.select(pl.col("t").str.count_matches(pattern)).to_series().to_list()
    assert counts == [2, 1, 0]


def test_identity_drops_verbatim_repeats_within_a_source():
    frame = raw(
        [
            {"source_id": "a", "url": "https://x.org/1", "title": "T", "body": "B"},
            {"source_id": "a", "url": "https://x.org/1?utm_medium=feed", "title": "T", "body": "B"},
            {"source_id": "b", "url": "https://x.org/1", "title": "T", "body": "B"},
        ]
    )
    out = with_identity(frame).collect()
    assert out.height == 2
    assert out["article_id"].n_unique() == 2


def test_duplicates_point_at_the_most_reliable_copy():
    frame = raw(
        [
            {"source_id": "b", "url": "http://www.x.org/1/", "title": "Same", "body": "story"},
            {"source_id": "a", "url": "https://x.org/1", "title": "Same", "body": "story, edited"},
            {"source_id": "b", "url": "https://y.org/other", "title": "Copy", "body": "text"},
            {"source_id": "a", "url": "https://z.org/copy", "title": "copy", "body": "TEXT"},
            {"source_id": "a", "url": "https://z.org/unique", "title": "Unique", "body": "alone"},
        ]
    )
    out = mark_duplicates(with_identity(frame), RELIABILITY, NO_PRIOR, 0.85).collect()
    by_url = {(row["source_id"], row["canonical_url"]): row for row in out.iter_rows(named=True)}
    primary, copy = by_url["a", "https://x.org/1"], by_url["b", "https://x.org/1"]
    assert primary["duplicate_of"] is None and copy["duplicate_of"] == primary["article_id"]
    copies = out.filter(pl.col("duplicate_of").is_not_null())
    assert copies.height == 2
    assert by_url["b", "https://y.org/other"]["duplicate_of"] == by_url["a", "https://z.org/copy"]["article_id"]
    assert by_url["a", "https://z.org/unique"]["corroboration"] == 1
    assert primary["corroboration"] == 2


def test_lexicon_relevance_categories_and_escalation():
    frame = raw(
        [
            {"source_id": "a", "url": None, "title": "ICBM test", "body": "Russia test-fired an ICBM and warned the West."},
            {"source_id": "a", "url": None, "title": "Football", "body": "The cup final ended in a draw."},
            {"source_id": "a", "url": None, "title": "Talks", "body": "Arms control talks resumed; an agreement on the treaty was reached."},
        ]
    )
    out = with_lexicon(frame, LEXICON).collect()
    alarming, sport, calm = out.iter_rows(named=True)
    assert alarming["relevance"] > 0.9 and sport["relevance"] == 0
    assert "nuclear_arsenal" in alarming["categories"]
    assert sport["categories"] == []
    assert calm["categories"] == ["communication_arms_control"]
    assert alarming["escalation"] > 0.5 > calm["escalation"]


def test_de_escalation_is_not_counted_as_escalation():
    frame = raw([{"source_id": "a", "url": None, "title": "x", "body": "de-escalation"}])
    assert with_lexicon(frame, LEXICON).collect()["escalation"][0] < 0.5


@pytest.mark.parametrize(
    ("age", "timeliness"),
    [(timedelta(days=-1), 0.0), (timedelta(days=2), 1.0), (timedelta(days=20), 0.8), (timedelta(days=60), 0.5), (timedelta(days=200), 0.2)],
)
def test_quality_timeliness_steps(age, timeliness):
    frame = raw([{"source_id": "a", "url": "https://x.org/1", "title": "t", "body": LONG, "published_at": AS_OF - age}])
    scored = with_quality(mark_duplicates(with_lexicon(with_identity(frame), LEXICON), RELIABILITY, NO_PRIOR, 0.85), AS_OF, [".gov"])
    assert scored.collect()["quality_timeliness"][0] == timeliness


def test_quality_parts_and_weights():
    frame = raw(
        [
            {"source_id": "a", "url": "https://www.state.gov/x", "title": "t", "body": LONG},
            {"source_id": "b", "url": None, "title": "t2", "body": "short", "published_at": None},
        ]
    )
    out = with_quality(
        mark_duplicates(with_lexicon(with_identity(frame), LEXICON), RELIABILITY, NO_PRIOR, 0.85), AS_OF, LEXICON.primary_domains
    ).collect()
    official = out.filter(pl.col("source_id") == "a").row(0, named=True)
    assert official["quality_verifiability"] == pytest.approx(0.6)  # attributed + primary domain
    assert official["quality_completeness"] == pytest.approx(1.0)
    assert official["quality"] == pytest.approx(0.35 * 0.9 + 0.25 * 1.0 + 0.25 * 0.6 + 0.15 * 1.0)
    bare = out.filter(pl.col("source_id") == "b").row(0, named=True)
    assert bare["quality_timeliness"] == 0.2
    assert bare["quality_completeness"] == pytest.approx(1.0 - 0.2 - 0.3 - 0.2)


def test_evidence_excludes_duplicates_irrelevant_uncategorised_and_future_items_but_keeps_them():
    frame = pl.LazyFrame(
        {
            "relevance": [0.9, 0.1, 0.9, 0.9, 0.9],
            "categories": [["economic"], ["economic"], [], ["economic"], ["economic"]],
            "published_at": [AS_OF, AS_OF, AS_OF, AS_OF + timedelta(days=2), AS_OF],
            "duplicate_of": [None, None, None, None, "x"],
        }
    )
    flagged = with_evidence_flag(frame, 0.3, AS_OF).collect()
    assert flagged.height == 5
    assert flagged["evidence"].to_list() == [True, False, False, False, False]


def test_curate_sample_snapshot_end_to_end(tmp_path):
    from joshua.collect.parse import parse_response
    from tests.conftest import SOURCES, sample_body

    items = [
        item.model_dump() | {"run_id": "r", "fetched_at": AS_OF, "http_status": 200, "etag": None, "last_modified": None}
        for source_id in ("reuters-nuclear", "aljazeera", "bbc-world")
        for item in parse_response(sample_body(source_id), SOURCES[source_id], 5000)
    ]
    reliability = pl.LazyFrame({"source_id": ["reuters-nuclear", "aljazeera", "bbc-world"], "reliability": [0.85, 0.75, 0.82]})
    articles = curate(
        pl.DataFrame(items, schema=RAW_ITEMS).lazy(), reliability, LEXICON, run_id="r", as_of=AS_OF, min_relevance=0.3, simhash_threshold=0.85
    ).collect()
    assert 0 < articles.height < len(items)
    assert 0 < articles["evidence"].sum() < articles.height
    assert articles["article_id"].is_unique().all()
    validate_articles(articles, AS_OF)


def test_validation_lists_every_failure():
    with pytest.raises(SchemaViolation) as caught:
        validate_articles(BAD_ARTICLES, AS_OF)
    failed = " ".join(caught.value.failures)
    for expectation in (
        "be_unique(article_id)",
        "be_between(relevance)",
        "be_between(evidence_published_at)",
        "match_regex(evidence_categories)",
    ):
        assert expectation in failed
    assert len(caught.value.failures) == 4


def test_run_validation_reports_the_failures_and_summarises_a_pass(tmp_path):
    no_raw_items = pl.LazyFrame(schema=RAW_ITEMS)
    with pytest.raises(SchemaViolation) as caught:
        validate_run(no_raw_items, BAD_ARTICLES, AS_OF, 5000)
    assert caught.value.table == "articles" and len(caught.value.failures) == 4
    summary = validate_run(no_raw_items, BAD_ARTICLES.head(1), AS_OF, 5000)  # a valid frame passes
    assert summary == ["raw_items: 9 expectations passed on 0 rows", "articles: 15 expectations passed on 1 rows"]


def test_raw_items_suite_catches_overlong_text_and_bad_status():
    from joshua.curate.validate import validate_raw_items

    rows = raw([{"source_id": "a", "url": "ftp://x.org/1", "title": "t", "body": "x" * 50}]).collect()
    with pytest.raises(SchemaViolation) as caught:
        validate_raw_items(rows.with_columns(http_status=pl.lit(304, pl.Int32)), 10)
    failed = " ".join(caught.value.failures)
    assert "lengths_to_be_between(body)" in failed and "be_between(http_status)" in failed and "regex(url)" in failed


BAD_ARTICLES = pl.DataFrame(
    {
        "article_id": ["x", "x"],
        "run_id": ["r", "r"],
        "source_id": ["a", "a"],
        "title": ["t", "t"],
        "relevance": [0.5, 1.5],
        "quality": [0.5, 0.5],
        "escalation": [0.5, 0.5],
        "published_at": [AS_OF, AS_OF + timedelta(days=3)],
        "categories": [["economic"], ["bogus"]],
        "simhash": pl.Series([1, 2], dtype=pl.UInt64),
        "evidence": [True, True],
        "corroboration": [1, 1],
    }
)
