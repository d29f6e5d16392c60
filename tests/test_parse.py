from datetime import UTC, datetime

import pytest

from joshua.collect.parse import html_to_text, parse_feed, parse_gdelt_artlist, parse_response
from joshua.errors import ParseError
from joshua.settings import PROJECT_ROOT
from tests.conftest import SOURCES, sample_body

RSS = SOURCES["bbc-world"]
GDELT = SOURCES["gdelt-artlist"]

RSS_BODY = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>https://example.org</link><language>en-gb</language>
<item><title>Missile &amp; warhead</title><link>https://example.org/a?utm_source=rss</link>
<guid isPermaLink="false">a-1</guid><pubDate>Wed, 25 Nov 2026 14:03:00 +0300</pubDate>
<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</description></item>
<item><title>No date</title><guid>b-2</guid><description>plain</description></item>
</channel></rss>"""


def test_html_to_text_drops_scripts_and_styles_and_collapses_space():
    html = "<p>A  <b>bold</b>\n claim</p><script>alert(1)</script><style>p {color: red}</style>"
    assert html_to_text(html, 100) == "A bold claim"


def test_html_to_text_drops_control_characters_that_would_drive_a_terminal():
    """JSON APIs (GDELT, NewsAPI, Reddit) bypass the XML filter: ESC and CSI must not reach the lake."""
    text = html_to_text("Missile \x1b]0;pwned\x07test\x1b[2J in \x9b31mKorea\x00", 100)
    assert text == "Missile ]0;pwned test [2J in 31mKorea"
    assert html_to_text("<p>a\x1b[31mb</p>", 100) == "a [31mb"


def test_html_to_text_caps_length():
    assert html_to_text("x" * 50, 10) == "x" * 10


def test_parse_feed_reads_rss_items():
    items = parse_feed(RSS_BODY, RSS, 1000)
    assert [item.title for item in items] == ["Missile & warhead", "No date"]
    first = items[0]
    assert first.body == "Hello world"
    assert first.guid == "a-1"
    assert first.url == "https://example.org/a?utm_source=rss"
    assert first.published_at == datetime(2026, 11, 25, 11, 3, tzinfo=UTC)
    assert first.language == "en"  # ISO 639-1, from the feed's "en-gb"
    assert items[1].published_at is None and items[1].url is None


def test_parse_feed_reads_atom():
    items = parse_feed(sample_body("iaea-news"), SOURCES["iaea-news"], 5000)
    assert len(items) >= 15
    assert all(item.title and item.published_at for item in items)


def test_parse_feed_decodes_a_windows_1252_feed():
    body = sample_body("alarabiya")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    items = parse_feed(body, SOURCES["alarabiya"], 5000)
    text = " ".join(item.title + " " + item.body for item in items)
    assert "\u2019" in text or "\u201c" in text  # curly quotes survived the decoding
    assert "\ufffd" not in text


def test_parse_feed_rejects_malformed_xml():
    with pytest.raises(ParseError, match="malformed XML"):
        parse_feed(RSS_BODY[:-40], RSS, 1000)


def test_parse_feed_refuses_entity_expansion():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>
<rss version="2.0"><channel><title>&b;</title></channel></rss>"""
    with pytest.raises(ParseError, match="refused XML"):
        parse_feed(bomb, RSS, 1000)


def test_parse_feed_refuses_external_entities():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&x;</title></channel></rss>"""
    with pytest.raises(ParseError, match="refused XML"):
        parse_feed(xxe, RSS, 1000)


def test_parse_feed_rejects_xml_that_is_not_a_feed():
    with pytest.raises(ParseError, match="HTML page where an RSS or Atom feed was expected"):
        parse_feed(b"<html><body>Service unavailable</body></html>", RSS, 1000)
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse_feed(b"<catalog><book/></catalog>", RSS, 1000)


def test_parse_gdelt_artlist():
    body = b'{"articles": [{"url": "https://n.example/a", "title": "ICBM test", "seendate": "20261125T143000Z", "language": "English"}, {"url": "https://n.example/b", "title": "x", "seendate": "bad"}]}'
    items = parse_gdelt_artlist(body, GDELT, 1000)
    assert [item.title for item in items] == ["ICBM test", "x"]
    assert items[0].published_at == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert items[0].body == "" and items[0].language == "en"
    assert items[1].published_at is None


def test_parse_gdelt_html_error_body_is_a_source_error():
    with pytest.raises(ParseError, match="returned an HTML page instead of JSON"):
        parse_gdelt_artlist(b"<html>Please limit requests to one every 5 seconds</html>", GDELT, 1000)


def test_parse_gdelt_without_articles_list():
    with pytest.raises(ParseError, match="'articles' is not a list"):
        parse_gdelt_artlist(b'{"articles": 3}', GDELT, 1000)


def test_parse_response_dispatches_on_kind():
    assert len(parse_response(sample_body("gdelt-artlist"), GDELT, 1000)) >= 5
    assert len(parse_response(sample_body("bbc-world"), RSS, 1000)) >= 15


def test_gdelt_empty_result_is_no_items():
    assert parse_gdelt_artlist(b"{}", GDELT, 1000) == []


def test_parse_gdelt_timeline_points():
    from joshua.collect.parse import parse_gdelt_timeline

    body = b'{"timeline": [{"series": "Average Tone", "data": [{"date": "20261120T000000Z", "value": -2.5}, {"date": "bad", "value": 1}, {"date": "20261120T030000Z", "value": "x"}]}]}'
    points = parse_gdelt_timeline(body, SOURCES["gdelt-timeline"])
    assert [(p.series, p.value) for p in points] == [("Average Tone", -2.5)]
    assert points[0].at == datetime(2026, 11, 20, tzinfo=UTC)


def test_parse_federal_register_documents():
    body = b'{"count": 2, "results": [{"title": "Nuclear export controls", "abstract": "<p>Rule on <b>uranium</b>.</p>", "html_url": "https://www.federalregister.gov/d/2026-1", "publication_date": "2026-11-20", "document_number": "2026-1"}, {"title": "No abstract", "document_number": "2026-2"}]}'
    first, second = parse_response(body, SOURCES["federal-register"], 1000)
    assert first.body == "Rule on uranium ." and first.guid == "2026-1"
    assert first.published_at == datetime(2026, 11, 20, tzinfo=UTC)
    assert second.url is None and second.body == "" and second.published_at is None


def test_parse_newsapi_articles_and_errors():
    body = b'{"status": "ok", "articles": [{"source": {"name": "X"}, "title": "ICBM", "description": "d", "content": null, "url": "https://n.example/1", "publishedAt": "2026-11-25T10:00:00Z"}]}'
    (item,) = parse_response(body, SOURCES["newsapi"], 1000)
    assert item.body == "d" and item.published_at == datetime(2026, 11, 25, 10, tzinfo=UTC) and item.language == "en"
    with pytest.raises(ParseError, match="NewsAPI error apiKeyInvalid"):
        parse_response(b'{"status": "error", "code": "apiKeyInvalid", "message": "bad key"}', SOURCES["newsapi"], 1000)


def test_parse_reddit_listing_skips_stickied_posts():
    body = b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"name": "t3_a", "title": "Missile test", "selftext": "", "url": "https://n.example/a", "permalink": "/r/worldnews/comments/a/x/", "created_utc": 1795000000}}, {"kind": "t3", "data": {"title": "Rules", "stickied": true}}]}}'
    (post,) = parse_response(body, SOURCES["reddit"], 1000)
    assert post.url == "https://www.reddit.com/r/worldnews/comments/a/x/" and post.body == "https://n.example/a"
    assert post.published_at == datetime.fromtimestamp(1795000000, UTC)
    assert post.language == "en"  # Reddit gives none: the source's declared language


def test_parse_x_posts_and_errors():
    body = b'{"data": [{"id": "1790", "text": "Statement on arms control", "created_at": "2026-11-25T10:00:00.000Z", "lang": "en"}]}'
    (post,) = parse_response(body, SOURCES["x"], 1000)
    assert post.url == "https://x.com/i/web/status/1790" and post.title == post.body and post.language == "en"
    with pytest.raises(ParseError, match="X API error"):
        parse_response(b'{"errors": [{"title": "Unauthorized"}]}', SOURCES["x"], 1000)
    assert parse_response(b'{"meta": {"result_count": 0}}', SOURCES["x"], 1000) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('<?xml version="1.0" encoding="utf-8"?>'.encode() + "<rss version='2.0'><channel><item><title>Zaporizhzhia – “plant”</title></item></channel></rss>".encode("cp1252"), "text/xml; charset=utf-8"),
        ("<rss version='2.0'><channel><item><title>Zaporizhzhia – “plant”</title></item></channel></rss>".encode("utf-8"), "text/xml; charset=iso-8859-1"),
        ('<?xml version="1.0" encoding="utf-16"?>'.encode("utf-16") + "<rss version='2.0'><channel><item><title>Zaporizhzhia – “plant”</title></item></channel></rss>".encode("utf-16")[2:], None),
    ],
    ids=["cp1252-labelled-utf8", "utf8-labelled-latin1", "utf16-bom"],
)
def test_mislabelled_charsets_are_decoded_correctly(body, content_type):
    (item,) = parse_feed(body, RSS, 1000, content_type)
    assert item.title == "Zaporizhzhia – “plant”"


# Real-shaped responses (tests/fixtures/responses/): the gaps seen on recorded real bodies.
RESPONSES = PROJECT_ROOT / "tests" / "fixtures" / "responses"


def response(name: str) -> bytes:
    return (RESPONSES / name).read_bytes()


def test_media_rss_description_does_not_replace_the_item_description():
    items = parse_feed(response("media_rss.xml"), RSS, 1000)
    assert [item.body for item in items] == [
        "Emergency diesel generators are cooling the six reactors after shelling cut the Dniprovska line, the agency said.",
        "The launch came days before a regional summit in Gyeongju.",
        "Crowds gather in the capital. Photo: Agency",  # no description of its own: the media one is all there is
    ]
    assert {item.language for item in items} == {"en"}


def test_feedburner_original_link_is_preferred_over_the_redirector():
    (item,) = parse_feed(response("feedburner.xml"), RSS, 1000)
    assert item.url == "https://blog.example.org/2026/02/05/new-start-verification/?utm_source=feedburner&utm_medium=feed"
    assert item.body == "With the treaty expired, on-site inspections and biannual data exchanges have ended."


def test_html_named_entities_parse():
    (item,) = parse_feed(response("html_entities.xml"), RSS, 1000)
    assert item.title == "Iran\u2019s enrichment after the strikes: what Gen\u00e8ve can still achieve"
    assert item.body == "The IAEA inspectors left Tehran; the caf\u00e9 diplomacy of Gen\u00e8ve resumes\u2026 \u00a9 2025 & all rights reserved"


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>',  # an HTML name, but declared: still a declaration
        b'<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY nbsp "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
        b'<!DOCTYPE rss [<!ENTITY nbsp SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["declared-html-name", "billion-laughs-under-an-html-name", "external-entity-under-an-html-name"],
)
def test_entity_declarations_stay_refused_even_under_html_names(doctype):
    body = b'<?xml version="1.0"?>' + doctype + b'<rss version="2.0"><channel><title>a&nbsp;b</title></channel></rss>'
    with pytest.raises(ParseError, match="refused XML"):
        parse_feed(body, RSS, 1000)


def test_an_undefined_entity_that_is_not_html_is_still_malformed():
    body = b'<rss version="2.0"><channel><title>a &bogusname; b</title></channel></rss>'
    with pytest.raises(ParseError, match="malformed XML"):
        parse_feed(body, RSS, 1000)


def test_newsapi_body_is_the_description_and_language_is_per_item():
    english, hindi = parse_response(response("newsapi_truncated.json"), SOURCES["newsapi"], 5000)
    assert english.body.startswith("Russia will carry out a nuclear test if the United States does")
    assert "chars]" not in english.body and english.language == "en"
    assert hindi.language is None  # requested "en", but the text is not in the Latin script


def test_newsapi_truncated_content_is_used_only_without_a_description():
    body = b'{"status": "ok", "articles": [{"title": "t", "description": null, "url": "https://n.example/1", "content": "MOSCOW (Reuters) - Russia said\\u2026 [+58092 chars]"}]}'
    (item,) = parse_response(body, SOURCES["newsapi"], 5000)
    assert item.body == "MOSCOW (Reuters) - Russia said \u2026"


def test_federal_register_null_abstract_falls_back_to_excerpts():
    rule, notice = parse_response(response("federal_register_null_abstract.json"), SOURCES["federal-register"], 5000)
    assert rule.body == (
        "The Department of Energy amends its regulation on the transfer of nuclear technology to foreign countries \u2026 "
        "specifically authorized destinations"
    )
    assert notice.body == "The Department of Energy invites public comment on a proposed collection."


def test_federal_register_no_match_is_no_items():
    assert parse_response(b'{"count": 0, "description": "Documents matching \\"zzz\\""}', SOURCES["federal-register"], 1000) == []


def test_gdelt_language_names_become_iso_codes():
    items = parse_gdelt_artlist(response("gdelt_languages.json"), GDELT, 1000)
    assert [item.language for item in items] == ["en", "hi", "ml", "zh"]


@pytest.mark.parametrize(
    ("source_id", "body", "message"),
    [
        ("gdelt-artlist", b'{"timeline": [{"series": "Volume Intensity", "data": []}]}', "has no 'articles'"),
        ("gdelt-artlist", b'{"articles": [{"document_number": "2026-1"}]}', "not a GDELT reply"),
        ("federal-register", b'{"status": "ok", "totalResults": 0, "articles": []}', "has no 'results'"),
        ("newsapi", b'{"count": 3, "results": [{"document_number": "2026-1"}]}', "has no 'articles'"),
        ("reddit", b'{"data": [{"id": "1", "text": "a post"}]}', "has no 'data.children'"),
        ("reddit", b'{"kind": "Listing", "data": {"children": [{"id": "1"}]}}', "not a Reddit reply"),
        ("x", b'{"kind": "Listing", "data": {"children": []}}', "'data' is not a list"),
        ("x", b'{"status": "ok", "articles": []}', "has no 'data'"),
    ],
    ids=["timeline-as-artlist", "fr-entries-as-gdelt", "newsapi-as-fr", "fr-as-newsapi", "x-as-reddit", "reddit-wrong-entries", "reddit-as-x", "newsapi-as-x"],
)
def test_json_of_the_wrong_kind_is_a_parse_error_not_zero_items(source_id, body, message):
    with pytest.raises(ParseError, match=message):
        parse_response(body, SOURCES[source_id], 1000)


@pytest.mark.parametrize(
    ("value", "code"),
    [("en", "en"), ("en-GB", "en"), ("EN_us", "en"), ("English", "en"), ("Hindi", "hi"), ("Malayalam", "ml"),
     ("Chinese", "zh"), ("  german ", "de"), ("Klingon", None), ("", None), (None, None), (3, None), ("english-ish", None)],
)  # fmt: skip
def test_language_labels_become_iso_639_1_codes(value, code):
    from joshua.language import iso_language

    assert iso_language(value) == code
