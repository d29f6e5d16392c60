import pytest

from joshua.errors import ConfigError
from joshua.settings import PROJECT_ROOT
from joshua.sources import load_sources


def test_shipped_sources_are_valid():
    sources = load_sources(PROJECT_ROOT / "data" / "sources.toml")
    assert len(sources) >= 10
    assert {s.kind for s in sources} == {
        "feed", "gdelt_artlist", "gdelt_timeline", "federal_register", "newsapi", "reddit", "x_search"
    }
    by_id = {s.id: s for s in sources}
    assert by_id["gdelt-artlist"].rate_limit_s >= 5
    assert by_id["newsapi"].credential == "NEWSAPI_KEY" and by_id["x"].credential == "X_BEARER_TOKEN"
    assert len(by_id["reddit"].targets) == 6 and len(by_id["x"].targets) == 14
    for spec_feed in ("reuters-nuclear", "bbc-world", "aljazeera", "alarabiya", "tass", "xinhua", "bulletin",
                      "arms-control-association", "iaea-news", "iaea-newscenter", "un-news-peace", "state-dept"):
        assert by_id[spec_feed].kind == "feed"


def test_duplicate_ids_are_rejected(tmp_path):
    entry = '[[sources]]\nid = "a"\nname = "A"\nkind = "feed"\nurl = "https://a.example/rss"\nreliability = 0.5\n'
    path = tmp_path / "sources.toml"
    path.write_text(entry * 2)
    with pytest.raises(ConfigError, match="duplicate source ids"):
        load_sources(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "declares no"),
        ("[[sources]\n", "cannot read"),
        ('[[sources]]\nid = "a"\nname = "A"\nkind = "feed"\nurl = "https://a.example"\nreliability = 1.5\n', "#1"),
        ('[[sources]]\nid = "a"\nname = "A"\nkind = "scrape"\nurl = "https://a.example"\nreliability = 0.5\n', "#1"),
    ],
)
def test_invalid_sources_files(tmp_path, text, message):
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_sources(path)
