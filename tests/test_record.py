"""`joshua snapshot record`: live responses captured, replayed to the same raw items, secrets kept out."""

import gzip
import json

import pytest
from typer.testing import CliRunner

from joshua.cli import EXIT_FAILED, app
from joshua.collect.collector import collect_sample_items
from joshua.collect.record import record_snapshot
from joshua.collect.snapshot import load_snapshot
from joshua.curate.lexicon import load_lexicon
from joshua.errors import ConfigError
from joshua.settings import PROJECT_ROOT, load_settings
from joshua.sources import load_sources
from tests.conftest import SAMPLE
from tests.hostile_server import HostileServer, conditional, reply

KEY = "newsapi-test-key-0123456789"
NEWSAPI_BODY = json.dumps(
    {"status": "ok", "articles": [{"title": "ICBM test", "description": "A missile test.", "url": "https://n.example/1", "publishedAt": "2026-11-26T10:00:00Z"}]}
).encode()


@pytest.fixture
def live_sources(tmp_path, monkeypatch):
    """A sources file whose three sources live on a local server: a gzip feed, an ETag feed, NewsAPI."""
    server = HostileServer().start()
    bbc = (SAMPLE / "bodies" / "bbc-world.xml").read_bytes()
    server.route("/gzip.xml", reply(gzip.compress(bbc), headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml"))
    server.route("/etag.xml", conditional((SAMPLE / "bodies" / "tass.xml").read_bytes(), '"t1"'))
    server.route("/v2/everything", reply(NEWSAPI_BODY, content_type="application/json"))
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[[sources]]
id = "gzipped"
name = "Gzipped feed"
kind = "feed"
url = "{server.base_url}/gzip.xml"
reliability = 0.8

[[sources]]
id = "etagged"
name = "Feed with an ETag"
kind = "feed"
url = "{server.base_url}/etag.xml"
reliability = 0.6

[[sources]]
id = "news"
name = "NewsAPI on the local server"
kind = "newsapi"
url = "{server.base_url}/v2/everything"
keywords = ["nuclear"]
credential = "NEWSAPI_KEY"
reliability = 0.85
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("JOSHUA_SOURCES_FILE", str(path))
    monkeypatch.setenv("NEWSAPI_KEY", KEY)
    yield server
    server.stop()


def test_recording_replays_to_the_same_raw_items_and_holds_no_secret(live_sources, tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    recording = record_snapshot("unit", settings)
    assert [(s.source_id, s.responses, s.errors) for s in recording.sources] == [
        ("gzipped", 1, []), ("etagged", 1, []), ("news", 1, [])
    ]
    assert live_sources.requests[-1].headers["x-api-key"] == KEY  # the key went to the server, in a header

    snapshot = load_snapshot(recording.directory)
    keywords = load_lexicon(settings.lexicon_file).keywords
    replayed = collect_sample_items(snapshot, load_sources(settings.sources_file), keywords, settings.collect)
    columns = [c for c in replayed.columns if c != "run_id"]
    live = recording.raw_items.select(columns).sort("source_id", "title")
    assert live.height == 26 + 19 + 1  # the sample's BBC and TASS feeds, one NewsAPI article
    assert replayed.select(columns).sort("source_id", "title").equals(live)

    files = [p for p in recording.directory.rglob("*") if p.is_file()]
    assert not any(KEY.encode() in p.read_bytes() for p in files)
    etagged = next(r for r in snapshot.responses if r.source == "etagged")
    assert etagged.headers["etag"] == '"t1"' and "content-encoding" not in next(r for r in snapshot.responses if r.source == "gzipped").headers


def test_recording_refuses_an_existing_directory_and_unknown_sources(live_sources, tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="unknown source id"):
        record_snapshot("x", settings, ["nope"])
    (tmp_path / "data" / "snapshots" / "taken").mkdir(parents=True)
    with pytest.raises(ConfigError, match="already exists"):
        record_snapshot("taken", settings)


def test_snapshot_record_command(live_sources, tmp_path):
    out = tmp_path / "snap"
    result = CliRunner().invoke(app, ["snapshot", "record", "cli", "--sources", "gzipped,etagged", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "recorded 2 of 2 sources" in result.output and f"joshua assess --snapshot {out}" in " ".join(result.output.split())
    assert {r.source for r in load_snapshot(out).responses} == {"gzipped", "etagged"}


def test_bundled_sources_build_their_requests_without_credentials_in_urls():
    from joshua.collect.endpoints import source_requests

    keywords = load_lexicon(PROJECT_ROOT / "data" / "lexicon.toml").keywords
    for source in load_sources(PROJECT_ROOT / "data" / "sources.toml"):
        for request in source_requests(source, keywords, "SECRET-CREDENTIAL"):
            assert "SECRET-CREDENTIAL" not in request.url
            if source.credential:
                assert any("SECRET-CREDENTIAL" in value for value in request.headers.values())


@pytest.mark.parametrize("name", ["../../escaped", "{tmp}/absolute", "a/b", "..", ".hidden", "x\n"])
def test_a_snapshot_name_is_one_plain_segment_under_the_data_dir(live_sources, tmp_path, name):
    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="must be a plain name"):
        record_snapshot(name.format(tmp=tmp_path), settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sources.toml"]  # no data/, escaped/ or absolute/
    assert live_sources.requests == []  # refused before any request


def test_nothing_is_created_when_no_source_answers(live_sources, tmp_path):
    live_sources.stop()  # every request is refused
    result = CliRunner().invoke(app, ["snapshot", "record", "empty", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == EXIT_FAILED
    assert "no source answered: nothing recorded" in result.stderr
    assert not (tmp_path / "data" / "snapshots" / "empty").exists()
