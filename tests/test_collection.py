"""Collection runs end to end: HTTP cache reuse across runs, credentials, look-back dedup."""

import re

import duckdb
import pytest

from flows.collection import collect_and_curate
from joshua.run import open_run
from joshua.settings import load_settings
from schemas.records import AssessmentParams

pytestmark = pytest.mark.usefixtures("prefect_server")


def runs(data_dir):
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT requests, not_modified, cache_hits, cache_hit_rate, bytes FROM runs ORDER BY started_at"
        ).fetchall()


def test_a_rerun_within_the_ttl_is_served_from_the_http_cache(data_dir):
    collect_and_curate(data_dir=str(data_dir))
    collect_and_curate(data_dir=str(data_dir))
    (first, second) = runs(data_dir)
    assert first[0] == 13 and first[2] == 0 and first[4] > 100_000  # 10 sources, 13 URLs, all fetched
    assert second == (0, 0, 13, 1.0, 0)  # every URL fresh in the cache: no request at all
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        counts = con.execute("SELECT run_id, count(*) FROM raw_items GROUP BY ALL").fetchall()
    assert len(counts) == 2 and counts[0][1] == counts[1][1] == 184  # the cache gives the same items


def test_a_stale_cache_is_revalidated_with_conditional_requests(data_dir, tmp_path, monkeypatch):
    sources = (load_settings().sources_file).read_text(encoding="utf-8")
    stale = tmp_path / "sources.toml"
    without_ttls = re.sub(r"(?m)^cache_ttl_s = .*$", "", sources)
    stale.write_text(without_ttls.replace("[[sources]]\n", "[[sources]]\ncache_ttl_s = 0\n"), encoding="utf-8")
    monkeypatch.setenv("JOSHUA_SOURCES_FILE", str(stale))
    collect_and_curate(data_dir=str(data_dir))
    collect_and_curate(data_dir=str(data_dir))
    requests, not_modified, hits, rate, received = runs(data_dir)[1]
    # Every sample response carries an ETag except GDELT's two timelines, which are fetched again.
    assert (requests, not_modified, hits) == (13, 11, 11)
    assert rate == pytest.approx(11 / 13) and received < runs(data_dir)[0][4] / 10


def test_sources_that_need_a_missing_credential_are_skipped_not_failed(monkeypatch):
    for name in ("NEWSAPI_KEY", "X_BEARER_TOKEN", "JOSHUA_NEWSAPI_KEY", "JOSHUA_X_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _, inputs = open_run(AssessmentParams(live=True, analyzer="heuristic"), load_settings())
    skipped = {outcome.source_id: outcome.error for outcome in inputs.skipped}
    assert skipped == {
        "newsapi": "needs credential: set NEWSAPI_KEY to collect it",
        "x": "needs credential: set X_BEARER_TOKEN to collect it",
    }
    monkeypatch.setenv("NEWSAPI_KEY", "test-newsapi-key")
    _, inputs = open_run(AssessmentParams(live=True, analyzer="heuristic"), load_settings())
    assert [outcome.source_id for outcome in inputs.skipped] == ["x"]
    assert "test-newsapi-key" not in inputs.model_dump_json()  # the key stays a secret in the inputs
