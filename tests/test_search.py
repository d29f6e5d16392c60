"""Item search: the tokeniser, the index over real lake files, its updates, and a brute-force check."""

import random
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

import joshua.search
from joshua.cli import app
from joshua.lake import table_path, write_parquet_atomic
from joshua.search import (
    MAX_QUERY_CHARS,
    SearchQueryError,
    document_terms,
    query_terms,
    search_items,
    update_index,
)
from tests.lake_factory import full

DAY = datetime(2026, 11, 1, tzinfo=UTC)


def run_id(n: int) -> str:
    return f"202611{1 + n // 24:02d}T{n % 24:02d}0000Z-{n:06d}"


def write_run(lake, run: str, articles: list[dict], status: str = "completed", version: int = 0) -> None:
    """A run's articles file and (unless status is None) its `runs` row; `version` tells reruns apart."""
    rows = [{"run_id": run, "published_at": DAY, "quality": 0.5, **a} for a in articles]
    write_parquet_atomic(full("articles", rows), table_path(lake, "articles", run))
    if status is not None:
        started = datetime.strptime(run[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        row = {"run_id": run, "status": status, "started_at": started, "ended_at": started + timedelta(minutes=1 + version)}
        write_parquet_atomic(full("runs", [row]), table_path(lake, "runs", run))


def ids(lake, index, query: str) -> list[str]:
    return search_items(lake, index, query)["article_id"].to_list()


@pytest.fixture
def lake(tmp_path):
    return tmp_path / "lake"


@pytest.fixture
def index(tmp_path):
    return tmp_path / "search.duckdb"


# ------------------------------------------------------------------------------------------ tokeniser


def terms_of(text: str) -> set[str]:
    return set(document_terms(pl.DataFrame({"k": [0], "title": [text], "text": [None]}), key="k")["term"].to_list())


def test_words_are_case_folded_compatibility_normalised_and_stripped_of_accents():
    assert terms_of("Ünïcödé ＦＵＬＬＷＩＤＴＨ ﬁnal Straße İstanbul ΟΔΥΣΣΕΥΣ ёлка") == {
        "unicode", "fullwidth", "final", "strasse", "istanbul", "οδυσσευσ", "елка",
    }
    assert terms_of("don't 1.5% O'Brien\u00a0x") == {"don", "t", "1", "5", "o", "brien", "x"}
    assert terms_of("  ,;-- ") == set()


def test_cjk_runs_are_indexed_as_characters_and_bigrams_and_queried_as_bigrams():
    assert terms_of("核武器 test") == {"核", "武", "器", "核武", "武器", "test"}
    assert [t.text for t in query_terms("核武器")] == ["核武", "武器"]
    assert [t.text for t in query_terms("核")] == ["核"]


def test_only_the_last_word_of_a_query_is_a_prefix():
    terms = query_terms("Iran nucl")
    assert [(t.text, t.prefix) for t in terms] == [("iran", False), ("nucl", True)]
    assert not any(t.prefix for t in query_terms("nucl 核武"))


@pytest.mark.parametrize("query", ["", "   ", "%%%", "'\";--", "_\\"])
def test_a_query_without_words_is_refused(query):
    with pytest.raises(SearchQueryError, match="no words"):
        query_terms(query)


def test_an_overlong_query_is_refused():
    with pytest.raises(SearchQueryError, match=str(MAX_QUERY_CHARS)):
        query_terms("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(SearchQueryError, match="at most"):
        query_terms(" ".join(f"w{i}" for i in range(40)))


# ------------------------------------------------------------------------------------------ search


MULTILINGUAL = [
    {"article_id": "en", "title": "Shelling near Zaporizhzhia nuclear plant", "text": "IAEA inspectors on site", "quality": 0.9},
    {"article_id": "fr", "title": "La centrale nucléaire évacuée", "text": "Énergie atomique", "quality": 0.8},
    {"article_id": "ru", "title": "Запорожская АЭС обесточена", "text": "МАГАТЭ сообщило", "quality": 0.7},
    {"article_id": "ar", "title": "البرنامج النووي الإيراني", "text": "الوكالة الدولية للطاقة الذرية", "quality": 0.6},
    {"article_id": "zh", "title": "朝鲜进行核武器试验", "text": "联合国安理会", "quality": 0.5},
    {"article_id": "ja", "title": "北朝鮮が弾道ミサイルを発射", "text": None, "quality": 0.4},
    {"article_id": "de", "title": "Atomwaffen: Gespräche in der Straße", "text": "100% 'sicher' \\ _x_", "quality": 0.3},
]


@pytest.fixture
def multilingual(lake, index):
    write_run(lake, run_id(1), MULTILINGUAL)
    update_index(lake, index)
    return lake, index


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zaporizhzhia", ["en"]),
        ("ZAPOR", ["en"]),  # the last word is a prefix
        ("nucleaire", ["fr"]),  # accents off, both sides
        ("NUCLÉAIRE évacuée", ["fr"]),
        ("nuclear iaea", ["en"]),  # every word, title or text
        ("nuclear atomique", []),
        ("запорожская аэс", ["ru"]),
        ("магатэ", ["ru"]),
        ("النووي الايراني", ["ar"]),  # hamza below is a mark, stripped
        ("核武器", ["zh"]),  # no spaces: bigrams
        ("核", ["zh"]),
        ("武器试验", ["zh"]),
        ("弾道ミサイル", ["ja"]),
        ("strasse", ["de"]),
        ("sicher", ["de"]),
        ("x", ["de"]),
    ],
)
def test_articles_in_any_script_are_found(multilingual, query, expected):
    assert ids(*multilingual, query) == expected


@pytest.mark.parametrize("query", ["100%", "%", "'sicher'", "x' OR '1'='1", "_x_", "\\", "a\\'; DROP TABLE docs; --", "é" * 400])
def test_hostile_queries_are_words_or_refused_and_never_sql(multilingual, query):
    lake, index = multilingual
    try:
        found = ids(lake, index, query)
    except SearchQueryError:
        return
    assert set(found) <= {"de", "fr", "en"}  # '%' matches nothing more than the words around it
    with duckdb.connect(str(index), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM docs").fetchall() == [(len(MULTILINGUAL),)]


def test_a_very_long_word_is_found_by_its_first_64_characters(lake, index):
    word = "x" * 5000
    write_run(lake, run_id(1), [{"article_id": "long", "title": word}])
    update_index(lake, index)
    assert ids(lake, index, word[:MAX_QUERY_CHARS]) == ["long"]


def test_results_are_best_first_fifty_each_article_once_with_the_macros_columns(lake, index):
    articles = [{"article_id": f"a{i:03d}", "title": "treaty talks", "quality": i / 100, "source_id": "s"} for i in range(80)]
    write_run(lake, run_id(1), articles)
    write_run(lake, run_id(2), articles[:5])  # the same articles again, from a later run
    update_index(lake, index)
    rows = search_items(lake, index, "treaty")
    assert rows.columns == ["published_at", "source_id", "title", "canonical_url", "quality", "relevance", "article_id"]
    assert rows["article_id"].to_list() == [f"a{i:03d}" for i in range(79, 29, -1)]


def test_an_article_shows_as_its_latest_run_has_it(lake, index):
    write_run(lake, run_id(1), [{"article_id": "a", "title": "old headline"}])
    write_run(lake, run_id(2), [{"article_id": "a", "title": "corrected headline"}])
    update_index(lake, index)
    assert ids(lake, index, "old") == []
    assert search_items(lake, index, "headline")["title"].to_list() == ["corrected headline"]


def test_uncommitted_runs_never_appear(lake, index):
    write_run(lake, run_id(1), [{"article_id": "ok", "title": "reactor"}])
    write_run(lake, run_id(2), [{"article_id": "running", "title": "reactor"}], status="running")
    write_run(lake, run_id(3), [{"article_id": "failed", "title": "reactor"}], status="failed")
    write_run(lake, run_id(4), [{"article_id": "no-row", "title": "reactor"}], status=None)
    assert ids(lake, index, "reactor") == ["ok"]  # no index yet: a scan of the committed runs
    update_index(lake, index)
    assert ids(lake, index, "reactor") == ["ok"]
    with duckdb.connect(str(index), read_only=True) as con:
        assert con.sql("SELECT article_id FROM docs").fetchall() == [("ok",)]


def test_runs_committed_after_the_update_are_found_then_indexed_in_place(lake, index):
    write_run(lake, run_id(1), [{"article_id": f"a{i}", "title": f"filler {i}"} for i in range(20)])
    update_index(lake, index)
    write_run(lake, run_id(2), [{"article_id": "new", "title": "Missile launch", "quality": 0.99}])
    assert ids(lake, index, "missile") == ["new"]  # not indexed yet: scanned and merged
    update = update_index(lake, index)
    assert (update.added, update.removed, update.rebuilt, update.articles) == (1, 0, False, 21)
    assert ids(lake, index, "missile") == ["new"]
    assert update_index(lake, index).added == 0  # nothing new: the runs files are unchanged


def test_a_rerun_replaces_its_articles_before_and_after_the_update(lake, index):
    write_run(lake, run_id(1), [{"article_id": f"a{i}", "title": f"filler {i}"} for i in range(20)])
    write_run(lake, run_id(2), [{"article_id": "a1", "title": "first version"}, {"article_id": "gone", "title": "first"}])
    update_index(lake, index)
    assert sorted(ids(lake, index, "first")) == ["a1", "gone"]
    write_run(lake, run_id(2), [{"article_id": "a1", "title": "second version"}], version=1)
    for _ in range(2):  # merged at search time, then indexed in place
        assert ids(lake, index, "first") == []
        assert ids(lake, index, "second") == ["a1"]
        assert ids(lake, index, "filler") == sorted(f"a{i}" for i in range(20) if i != 1)  # a1's latest row says "second"
        update = update_index(lake, index)
    assert (update.added, update.removed, update.rebuilt) == (0, 0, False)


def test_a_run_withdrawn_after_indexing_disappears_and_older_rows_resurface(lake, index, monkeypatch):
    monkeypatch.setattr(joshua.search, "REBUILD_FRACTION", 100.0)  # keep updating in place
    write_run(lake, run_id(1), [{"article_id": "a", "title": "older words"}])
    write_run(lake, run_id(2), [{"article_id": "a", "title": "newer words"}])
    update_index(lake, index)
    assert ids(lake, index, "older") == []
    write_run(lake, run_id(2), [], status="failed", version=1)  # a rerun that failed: its rows are gone
    for _ in range(2):
        assert ids(lake, index, "older") == ["a"]
        assert ids(lake, index, "newer") == []
        update = update_index(lake, index)
    assert (update.added, update.removed, update.rebuilt) == (0, 0, False)


def test_the_commit_of_a_run_updates_an_existing_index(tmp_path):
    from joshua.run import RunContext
    from joshua.settings import RunPaths
    from joshua.store import commit_run, run_record

    paths = RunPaths.under(tmp_path / "data")
    write_run(paths.lake, run_id(1), [{"article_id": "a", "title": "first"}])
    update_index(paths.lake, paths.search_index)
    run = run_id(2)
    started = datetime.strptime(run[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    context = RunContext(run_id=run, started_at=started, as_of=started, paths=paths.for_run(run))
    write_run(paths.lake, run, [{"article_id": "b", "title": "second"}], status=None)
    record = run_record(
        context, status="completed", ended_at=started, analyzer="heuristic", data_label="test", stages=[], outcomes=[], errors=[]
    )
    assert commit_run(context, record) is None  # one article on top of one: past the rebuild threshold, still in place
    with duckdb.connect(str(paths.search_index), read_only=True) as con:
        assert sorted(con.sql("SELECT run_id FROM indexed_runs").fetchall()) == [(run_id(1),), (run,)]
        assert con.sql("SELECT sorted_upto, next_key FROM meta").fetchall() == [(1, 2)]


# ------------------------------------------------------------------------------------------ brute force

VOCABULARY = ["missile", "missiles", "treaty", "talks", "Reaktor", "réacteur", "ядерный", "НОВЫЙ", "نووي", "核武器", "武器", "alert", "a", "ab"]


def brute_force(lake, query: str) -> list[str]:
    """Every committed article's latest row, tokenised one by one, matched and ordered in Python."""
    from joshua.catalog import connect_lake

    with connect_lake(lake) as con:
        rows = con.sql("SELECT article_id, run_id, title, text, quality, published_at FROM articles").pl()
    latest = {}
    for row in rows.sort("run_id").iter_rows(named=True):
        latest[row["article_id"]] = row
    terms = query_terms(query)
    hits = []
    for row in latest.values():
        words = terms_of(f"{row['title'] or ''} {row['text'] or ''}")
        if all(any(w.startswith(t.text) for w in words) if t.prefix else t.text in words for t in terms):
            hits.append(row)
    hits.sort(key=lambda r: (-r["quality"], -r["published_at"].timestamp(), r["article_id"]))
    return [r["article_id"] for r in hits[:50]]


def random_article(rng: random.Random, article: int) -> dict:
    words = lambda n: " ".join(rng.choice(VOCABULARY) for _ in range(n))  # noqa: E731
    return {
        "article_id": f"a{article:04d}",
        "title": words(rng.randint(0, 4)),
        "text": words(rng.randint(0, 8)) if rng.random() < 0.8 else None,
        "quality": round(rng.random(), 2),  # ties, broken by date then id
        "published_at": DAY + timedelta(hours=rng.randint(0, 3)),
    }


def test_the_index_answers_as_a_brute_force_scan_through_builds_updates_reruns_and_withdrawals(lake, index, monkeypatch):
    monkeypatch.setattr(joshua.search, "FIRST_WINDOW", 8)  # several windows over a small index
    monkeypatch.setattr(joshua.search, "WINDOW_GROWTH", 3)
    monkeypatch.setattr(joshua.search, "REBUILD_FRACTION", 0.5)
    rng = random.Random(14)
    queries = ["missile", "missil", "treaty talks", "reacteur", "ядерный новый", "نووي", "核武器", "alert a", "a", "treaty missiles ta"]
    versions: dict[str, int] = {}
    for step in range(9):
        run = run_id(rng.randint(0, 15))
        versions[run] = versions.get(run, -1) + 1
        status = rng.choice(["completed"] * 4 + ["failed", "running"])
        articles = [random_article(rng, article) for article in rng.sample(range(150), rng.randint(5, 60))]
        write_run(lake, run, articles, status, versions[run])
        if step % 3 == 1:
            update_index(lake, index)
        for query in queries:
            assert ids(lake, index, query) == brute_force(lake, query), (step, query)


# ------------------------------------------------------------------------------------------ command line


def test_the_search_command_builds_the_index_and_prints_results(tmp_path):
    data_dir = tmp_path / "data"
    write_run(data_dir / "lake", run_id(1), MULTILINGUAL)
    runner = CliRunner()
    result = runner.invoke(app, ["search", "--data-dir", str(data_dir), "--format", "json", "nuclear", "plant"])
    assert result.exit_code == 0, result.output
    assert '"article_id": "en"' in result.output
    assert (data_dir / "search.duckdb").is_file()
    table = runner.invoke(app, ["search", "--data-dir", str(data_dir), "核武器"])
    assert table.exit_code == 0 and "朝鲜进行核武器试验" in table.output
    refused = runner.invoke(app, ["search", "--data-dir", str(data_dir), "%%"])
    assert refused.exit_code == 2 and "no words" in refused.output
    indexed = runner.invoke(app, ["db", "index", "--data-dir", str(data_dir), "--rebuild"])
    assert indexed.exit_code == 0 and "rebuilt" in indexed.output and "7 article row(s)" in indexed.output


def test_an_update_in_place_waits_for_a_search_that_has_the_index_open(lake, index):
    import threading

    write_run(lake, run_id(1), [{"article_id": f"a{i}", "title": f"filler {i}"} for i in range(20)])
    update_index(lake, index)
    write_run(lake, run_id(2), [{"article_id": "new", "title": "missile"}])
    opened, release = threading.Event(), threading.Event()

    def reader():
        with joshua.search._reading(index) as con:
            opened.set()
            release.wait(10)
            assert con.sql("SELECT count(*) FROM docs").fetchall() == [(20,)]

    thread = threading.Thread(target=reader)
    thread.start()
    opened.wait(10)
    threading.Timer(0.5, release.set).start()
    update = update_index(lake, index)  # blocks on the reader's shared lock, then updates in place
    thread.join()
    assert (update.added, update.rebuilt) == (1, False)
    assert ids(lake, index, "missile") == ["new"]


def test_a_damaged_index_is_ignored_by_searches_and_rebuilt_by_the_next_update(lake, index):
    write_run(lake, run_id(1), [{"article_id": "a", "title": "reactor"}])
    index.write_bytes(b"not a database")
    assert ids(lake, index, "reactor") == ["a"]
    assert update_index(lake, index).rebuilt
    assert ids(lake, index, "reactor") == ["a"]
