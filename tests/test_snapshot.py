import pytest

from joshua.collect.snapshot import load_snapshot
from joshua.errors import ConfigError
from tests.conftest import SAMPLE


def test_bundled_sample_is_marked_sample_and_complete():
    snapshot = load_snapshot(SAMPLE)
    assert snapshot.info.sample
    assert "sample data" in snapshot.label
    kinds = {r.source for r in snapshot.responses}
    assert len(kinds) >= 6 and "gdelt-artlist" in kinds


def test_response_lookup_normalises_urls():
    snapshot = load_snapshot(SAMPLE)
    assert snapshot.response_for("http://feeds.bbci.co.uk:80/news/world/rss.xml") is not None
    assert snapshot.response_for("https://nowhere.example/feed") is None


def test_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_snapshot(tmp_path / "nope")


def test_missing_manifest(tmp_path):
    with pytest.raises(ConfigError, match="cannot read snapshot manifest"):
        load_snapshot(tmp_path)


def test_invalid_toml(tmp_path):
    (tmp_path / "snapshot.toml").write_text("[snapshot\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_snapshot(tmp_path)


def test_missing_body_file(make_snapshot):
    directory = make_snapshot({"bbc-world": {"body": b"x"}})
    for body in (directory / "bodies").iterdir():
        body.unlink()
    with pytest.raises(ConfigError, match="body file"):
        load_snapshot(directory)


def test_invalid_entry(tmp_path):
    (tmp_path / "snapshot.toml").write_text(
        '[snapshot]\nname = "x"\nrecorded_at = "2026-01-01T00:00:00Z"\n[[responses]]\nsource = "a"\n'
    )
    with pytest.raises(ConfigError, match="is invalid"):
        load_snapshot(tmp_path)
