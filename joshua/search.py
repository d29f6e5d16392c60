"""Item search: a derived, rebuildable full-text index of committed articles beside the catalog.

The index is a DuckDB file (`RunPaths.search_index`, next to the catalog, local even when the lake
is on an object store) holding what a search needs to answer, so a query never goes back to the
lake's Parquet files for the indexed runs:

* `docs`: one row per article row of an indexed committed run, keyed by a dense `article_key` and
  stored in key order, with the columns a result shows and `current` (this row is its article's
  row from its latest run, the one a search shows). A full build numbers the rows best first
  (quality, then publication date), so the first matches in key order are the best ones.
* `postings`: (term, article_key), sorted by term then key: a term's postings are a few contiguous
  row groups, which DuckDB's zonemaps find without reading the rest, and within a term the key
  order lets a search read only the first stretch of keys when a term is common.
* `indexed_runs`: the committed runs indexed, with the `started_at`/`ended_at` of the version
  indexed (a rerun commits a new version, whose articles replace the old).
* `dead_keys`: the keys of docs deleted since the build (a rerun's or withdrawn run's), whose
  postings linger until the next one.
* `meta`: `sorted_upto` (keys below it are in best-first order), `next_key`, `dead` (how many keys
  are dead), the digest of the `runs` files it saw (`runs_fingerprint`) and the tokeniser's version.

`update_index` indexes the committed runs not yet indexed (through the lake's views, so only
committed rows, compaction applied) and drops runs indexed at a version no longer committed; when
the unsorted tail and the dead rows pass a fifth of the index it rebuilds the file from the lake
instead and swaps it into place. `search_items` answers from the index and, for runs committed (or
rerun) since its last update, scans their articles and merges: a search is never stale.

Readers hold a shared lock on `.<index>.lock` while the file is open; an in-place update holds it
exclusively (briefly), writers take turns on `.<index>.write.lock`. A rebuild is written aside and
renamed into place.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from joshua.catalog import connect_lake
from joshua.errors import ConfigError
from joshua.lake import Location
from schemas.tables import TABLES

INDEX_VERSION = 1  # bump when the tokeniser or the tables change: an older index is rebuilt
RESULT_COLUMNS = ["published_at", "source_id", "title", "canonical_url", "quality", "relevance", "article_id"]
DOC_COLUMNS = ["article_id", "run_id", *[c for c in RESULT_COLUMNS if c != "article_id"]]
RESULT_LIMIT = 50
MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 16
MAX_TERM_CHARS = 64  # longer tokens are cut, in documents and queries alike
REBUILD_FRACTION = 0.2
FIRST_WINDOW = 1 << 15  # keys a search reads first, growing WINDOW_GROWTH-fold until it has enough
WINDOW_GROWTH = 16
BATCH_ROWS = 250_000

# Chinese and Japanese are written without spaces: a run of these characters is indexed as its
# characters and its character pairs (bigrams), and a query's run as its bigrams (or its single
# character). Other letters, digits and their marks form words.
CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
TOKEN_PATTERN = rf"[{CJK}]+|[[\p{{L}}\p{{N}}\p{{M}}]--[{CJK}]]+"
STARTS_CJK = rf"^[{CJK}]"
# Accents come off letters of the scripts whose readers search without them (é, ё, Arabic harakat);
# elsewhere (Devanagari vowel signs, kana voicing marks) a mark changes the letter and stays.
ACCENT = r"([\p{Latin}\p{Greek}\p{Cyrillic}\p{Arabic}])\p{Mn}+"
RANK_ORDER = "quality DESC NULLS LAST, published_at DESC NULLS LAST, article_id, run_id"


class SearchQueryError(ConfigError):
    """A search query that cannot be used (empty of words, or too long)."""


@dataclass(frozen=True)
class Term:
    """One word of a query: matched exactly, or (the last word) as a prefix."""

    text: str
    prefix: bool

    def sql(self, i: int) -> tuple[str, dict[str, str]]:
        """The postings condition and its parameters (never the text itself in SQL)."""
        if not self.prefix:
            return f"term = $t{i}", {f"t{i}": self.text}
        # Every string starting with the prefix sorts below the prefix with its last character
        # bumped (UTF-8 byte order is code point order): a range, which the zonemaps prune. A
        # token's characters are letters, marks or digits: never U+D7FF (before the surrogates)
        # nor U+10FFFF, so the bumped one is a character.
        upper = self.text[:-1] + chr(ord(self.text[-1]) + 1)
        return f"term >= $t{i} AND term < $u{i}", {f"t{i}": self.text, f"u{i}": upper}

    def matches(self, term: pl.Expr) -> pl.Expr:
        return term.str.starts_with(self.text) if self.prefix else term == self.text


# ---------------------------------------------------------------------------------- tokeniser


def normalised(text: pl.Expr) -> pl.Expr:
    """Case-folded, compatibility-normalised (NFKC: ligatures, full-width forms) text without accents."""
    return (
        text.str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(ACCENT, "${1}")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)  # what str.casefold does that lowercasing does not
        .str.replace_all("ς", "σ", literal=True)
    )


def _with_cjk_grams(tokens: pl.DataFrame, query: bool) -> pl.DataFrame:
    """Tokens (key, term) with each CJK run replaced by its characters and bigrams (documents) or by
    its bigrams, or its one character (queries)."""
    tokens = tokens.with_columns(cjk=pl.col("term").str.contains(STARTS_CJK), n=pl.col("term").str.len_chars())
    words = tokens.filter(~pl.col("cjk")).select("key", pl.col("term").str.slice(0, MAX_TERM_CHARS))
    runs = tokens.filter(pl.col("cjk")).with_columns(offset=pl.int_ranges(0, pl.col("n"))).explode("offset")
    bigrams = runs.filter(pl.col("offset") < pl.col("n") - 1).select("key", term=pl.col("term").str.slice(pl.col("offset"), 2))
    if query:
        singles = runs.filter(pl.col("n") == 1).select("key", "term")
    else:
        singles = runs.select("key", term=pl.col("term").str.slice(pl.col("offset"), 1))
    return pl.concat([words, bigrams, singles])


def document_terms(frame: pl.DataFrame, key: str = "article_key") -> pl.DataFrame:
    """The distinct (key, term) pairs of articles' titles and texts."""
    text = pl.concat_str([pl.col("title").fill_null(""), pl.col("text").fill_null("")], separator=" ")
    tokens = frame.select(key=pl.col(key), term=normalised(text).str.extract_all(TOKEN_PATTERN)).explode("term")
    grams = _with_cjk_grams(tokens.drop_nulls("term"), query=False)
    return grams.unique().rename({"key": key})


def query_terms(query: str) -> list[Term]:
    """A query's words, all required; the last is a prefix (unless CJK, matched by its bigrams)."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchQueryError(f"a search query is at most {MAX_QUERY_CHARS} characters (got {len(query)})")
    frame = pl.DataFrame({"key": [0], "text": [query]})
    tokens = frame.select("key", term=normalised(pl.col("text")).str.extract_all(TOKEN_PATTERN)).explode("term")
    tokens = tokens.drop_nulls("term").with_row_index("position")
    last_word = tokens.filter(~pl.col("term").str.contains(STARTS_CJK))["position"].max()
    ends_in_word = last_word is not None and last_word == tokens["position"].max()
    grams = _with_cjk_grams(tokens.drop("position"), query=True)["term"].to_list()
    terms = list(dict.fromkeys(grams))  # each once, in order
    if not terms:
        raise SearchQueryError(f"the search query {query[:80]!r} has no words to look for")
    if len(terms) > MAX_QUERY_TERMS:
        raise SearchQueryError(f"a search query has at most {MAX_QUERY_TERMS} words (got {len(terms)})")
    last = tokens["term"][-1][:MAX_TERM_CHARS] if ends_in_word else None
    return [Term(t, prefix=t == last and i == len(terms) - 1) for i, t in enumerate(terms)]


def matching_rows(frame: pl.DataFrame, terms: list[Term]) -> pl.DataFrame:
    """The rows of `frame` (articles with title and text) whose words hold every term."""
    keyed = frame.with_row_index("_row")
    words = document_terms(keyed, key="_row")
    rows: set[int] | None = None
    for term in terms:
        found = set(words.filter(term.matches(pl.col("term")))["_row"].to_list())
        rows = found if rows is None else rows & found
    return keyed.filter(pl.col("_row").is_in(sorted(rows or ()))).drop("_row")


# ---------------------------------------------------------------------------------- locks and state


@contextmanager
def _locked(index: Path, kind: str, mode: int) -> Iterator[None]:
    index.parent.mkdir(parents=True, exist_ok=True)
    with open(index.with_name(f".{index.name}.{kind}"), "a") as lock:
        fcntl.flock(lock, mode)  # released when the file closes, or when the process dies
        yield


def _committed_runs(lake_con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = lake_con.sql("SELECT run_id, started_at, ended_at FROM runs WHERE status = 'completed'").fetchall()
    return {run_id: (started, ended) for run_id, started, ended in rows}


def _indexed_runs(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.sql("SELECT run_id, started_at, ended_at FROM indexed_runs").fetchall()
    return {run_id: (started, ended) for run_id, started, ended in rows}


def _meta(con: duckdb.DuckDBPyConnection) -> dict:
    version, sorted_upto, next_key, dead, runs = con.sql("SELECT version, sorted_upto, next_key, dead, runs FROM meta").fetchall()[0]
    return {"version": version, "sorted_upto": sorted_upto, "next_key": next_key, "dead": dead, "runs": runs}


@contextmanager
def _reading(index: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The index open read-only (no update in place meanwhile), or None when there is no index
    built by this tokeniser."""
    if not index.is_file():
        yield None
        return
    with _locked(index, "lock", fcntl.LOCK_SH):
        try:
            con = duckdb.connect(str(index), read_only=True)
        except duckdb.IOException:  # not a DuckDB file (damaged): searches scan, the next update rebuilds it
            yield None
            return
        with con:
            try:
                usable = _meta(con)["version"] == INDEX_VERSION
            except (duckdb.CatalogException, duckdb.BinderException):  # not an index, or an older layout
                usable = False
            yield con if usable else None


def _usable(index: Path) -> bool:
    with _reading(index) as con:
        return con is not None


def runs_fingerprint(lake: Location) -> str | None:
    """A digest of the names, inodes, sizes and modification times of a local lake's `runs` files: any
    commit, rerun, failure or compaction changes it (None for an object-store lake: no cheap listing)."""
    if isinstance(lake, str):
        return None
    digest = hashlib.sha256()
    for directory, _, files in sorted(os.walk(lake / "runs")):
        for name in sorted(files):
            stat = os.stat(os.path.join(directory, name))
            digest.update(f"{directory}/{name}\0{stat.st_ino}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _run_articles(lake_con: duckdb.DuckDBPyConnection, runs: list[str]) -> pl.DataFrame:
    """The committed articles of some runs, with their text, in best-first order."""
    if not runs:
        return pl.DataFrame(schema={c: TABLES["articles"][c] for c in [*DOC_COLUMNS, "text"]})
    sql = f"SELECT {', '.join(DOC_COLUMNS)}, text FROM articles WHERE run_id IN (SELECT unnest($runs)) ORDER BY {RANK_ORDER}"
    return _utc(lake_con.sql(sql, params={"runs": runs}).pl())


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    """DuckDB hands back `Etc/UTC`; the lake's contracts (and frames built from them) say `UTC`."""
    return frame.with_columns(pl.col("published_at").dt.convert_time_zone("UTC"))


# ---------------------------------------------------------------------------------- building


@dataclass(frozen=True)
class IndexUpdate:
    """What an update did: runs added and removed, and whether it rebuilt the file."""

    added: int
    removed: int
    rebuilt: bool
    articles: int


def update_index(lake: Location, index: Path, rebuild: bool | None = None) -> IndexUpdate:
    """Bring the index up to the lake's committed runs: in place when the change is small, else (or
    when there is no usable index yet) by rebuilding it from the lake. `rebuild=True` always
    rebuilds; `rebuild=False` never does (a commit's cheap update: in place, or nothing without a
    usable index), leaving the re-sort to maintenance."""
    with _locked(index, "write.lock", fcntl.LOCK_EX):
        fingerprint = runs_fingerprint(lake)  # before reading the runs: a commit meanwhile shows as a change
        with _reading(index) as con:
            indexed, meta = (_indexed_runs(con), _meta(con)) if con is not None else ({}, None)
        if meta is not None and not rebuild and fingerprint is not None and meta["runs"] == fingerprint:
            return IndexUpdate(0, 0, False, meta["next_key"] - meta["dead"])
        if meta is None and rebuild is False:
            return IndexUpdate(0, 0, False, 0)
        with connect_lake(lake, only=frozenset({"articles"})) as lake_con:
            committed = _committed_runs(lake_con)
            if rebuild or meta is None:
                return _rebuild(lake_con, committed, index, fingerprint)
            removed = [run for run, version in indexed.items() if committed.get(run) != version]
            added = [run for run, version in committed.items() if indexed.get(run) != version]
            new = _run_articles(lake_con, added)
            unsorted = meta["next_key"] - meta["sorted_upto"] + new.height + meta["dead"]
            if rebuild is None and unsorted > REBUILD_FRACTION * max(meta["sorted_upto"], 1):
                return _rebuild(lake_con, committed, index, fingerprint)
        with _locked(index, "lock", fcntl.LOCK_EX), duckdb.connect(str(index)) as con:
            count = _apply(con, new, removed, {run: committed[run] for run in added}, fingerprint)
        return IndexUpdate(len(added), len(removed), False, count)


def _apply(con: duckdb.DuckDBPyConnection, new: pl.DataFrame, removed: list[str], added: dict[str, tuple], fingerprint: str | None) -> int:
    """Replace the removed runs' docs by the new rows, in one transaction; returns the live docs."""
    docs = new.with_row_index("article_key", offset=_meta(con)["next_key"]).with_columns(pl.col("article_key").cast(pl.Int32))
    postings_frame = document_terms(docs.select("article_key", "title", "text")).select("term", "article_key")
    docs_frame = docs.select("article_key", *DOC_COLUMNS)
    runs_frame = pl.DataFrame(
        {"run_id": list(added), "started_at": [v[0] for v in added.values()], "ended_at": [v[1] for v in added.values()]},
        schema={"run_id": pl.String, "started_at": pl.Datetime("us", "UTC"), "ended_at": pl.Datetime("us", "UTC")},
    )
    con.sql("BEGIN TRANSACTION")
    affected = con.sql(
        "SELECT DISTINCT article_id FROM docs WHERE run_id IN (SELECT unnest($removed))", params={"removed": removed}
    ).fetchall()
    con.sql("INSERT INTO dead_keys SELECT article_key FROM docs WHERE run_id IN (SELECT unnest($removed))", params={"removed": removed})
    dead = con.sql("DELETE FROM docs WHERE run_id IN (SELECT unnest($removed))", params={"removed": removed}).fetchall()[0][0]
    con.sql(f"INSERT INTO docs SELECT {', '.join(['article_key', *DOC_COLUMNS])}, false FROM docs_frame")
    con.sql("INSERT INTO postings SELECT term, article_key FROM postings_frame ORDER BY term, article_key")
    con.sql(
        """UPDATE docs SET current = (docs.run_id = latest.run_id)
        FROM (SELECT article_id, max(run_id) AS run_id FROM docs
              WHERE article_id IN (SELECT unnest($affected)) GROUP BY article_id) AS latest
        WHERE docs.article_id = latest.article_id""",
        params={"affected": sorted({row[0] for row in affected} | set(docs_frame["article_id"].to_list()))},
    )
    con.sql("DELETE FROM indexed_runs WHERE run_id IN (SELECT unnest($runs))", params={"runs": [*removed, *added]})
    con.sql("INSERT INTO indexed_runs SELECT * FROM runs_frame")
    con.sql(
        "UPDATE meta SET next_key = next_key + $n, dead = dead + $dead, runs = $runs",
        params={"n": docs_frame.height, "dead": dead, "runs": fingerprint},
    )
    con.sql("COMMIT")
    return con.sql("SELECT count(*) FROM docs").fetchall()[0][0]


def _rebuild(lake_con: duckdb.DuckDBPyConnection, committed: dict[str, tuple], index: Path, fingerprint: str | None) -> IndexUpdate:
    """Write a new index of the committed runs beside the old one and rename it into place."""
    temporary = index.with_name(f".{index.name}.{uuid.uuid4().hex[:8]}.tmp")
    runs_frame = pl.DataFrame(
        {"run_id": list(committed), "started_at": [v[0] for v in committed.values()], "ended_at": [v[1] for v in committed.values()]},
        schema={"run_id": pl.String, "started_at": pl.Datetime("us", "UTC"), "ended_at": pl.Datetime("us", "UTC")},
    )
    try:
        with tempfile.TemporaryDirectory(dir=index.parent, prefix=f".{index.name}.") as scratch:
            lake_con.sql("SET enable_progress_bar = false")
            lake_con.sql("ATTACH ? AS fresh", params=[str(temporary)])
            try:
                lake_con.sql("CREATE TABLE fresh.indexed_runs AS SELECT * FROM runs_frame")
                # Only the runs listed: a run committing meanwhile is left for the next update.
                lake_con.sql(
                    f"""CREATE TABLE fresh.docs AS
                    SELECT CAST(row_number() OVER (ORDER BY {RANK_ORDER}) - 1 AS INTEGER) AS article_key,
                           {', '.join(DOC_COLUMNS)},
                           run_id = max(run_id) OVER (PARTITION BY article_id) AS current
                    FROM articles WHERE run_id IN (SELECT run_id FROM fresh.indexed_runs)
                    ORDER BY article_key"""
                )
                # Results are read by key: the ART index finds 50 keys spread over the whole table
                # without reading every row group they fall in.
                lake_con.sql("CREATE UNIQUE INDEX docs_key ON fresh.docs (article_key)")
                reader = lake_con.sql(
                    """SELECT d.article_key, a.title, a.text FROM articles AS a
                    JOIN fresh.docs AS d USING (article_id, run_id)"""
                ).to_arrow_reader(BATCH_ROWS)
                parts = 0
                for batch in reader:
                    document_terms(pl.from_arrow(batch)).select("term", "article_key").write_parquet(
                        Path(scratch) / f"{parts:05d}.parquet"
                    )
                    parts += 1
                postings = Path(scratch, "*.parquet") if parts else None
                lake_con.sql(
                    "CREATE TABLE fresh.postings (term VARCHAR, article_key INTEGER)"
                )
                if postings:
                    lake_con.sql(
                        "INSERT INTO fresh.postings SELECT term, article_key FROM read_parquet(?) ORDER BY term, article_key",
                        params=[glob.escape(str(postings.parent)) + "/*.parquet"],
                    )
                lake_con.sql("CREATE TABLE fresh.dead_keys (article_key INTEGER)")
                count = lake_con.sql("SELECT count(*) FROM fresh.docs").fetchall()[0][0]
                lake_con.sql(
                    """CREATE TABLE fresh.meta AS SELECT $version AS version, $n AS sorted_upto, $n AS next_key,
                    0 AS dead, CAST($runs AS VARCHAR) AS runs""",
                    params={"version": INDEX_VERSION, "n": count, "runs": fingerprint},
                )
            finally:
                lake_con.sql("DETACH fresh")
        with _locked(index, "lock", fcntl.LOCK_EX):
            os.replace(temporary, index)
    finally:
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)
    return IndexUpdate(len(committed), 0, True, count)


# ---------------------------------------------------------------------------------- searching


def search_items(lake: Location, index: Path, query: str, limit: int = RESULT_LIMIT) -> pl.DataFrame:
    """Committed articles whose title or text holds every word of `query` (the last as a prefix),
    each once (its row from its latest run), best first: quality, then publication date.

    Answers from the index alone while the lake's `runs` files are as the index last saw them;
    otherwise adds a scan of the runs committed or rerun since; without an index every committed
    run is scanned (slow, still right).
    """
    terms = query_terms(query)
    fingerprint = runs_fingerprint(lake)
    with _reading(index) as con:
        meta = _meta(con) if con is not None else None
        if meta is not None and fingerprint is not None and meta["runs"] == fingerprint:
            return _index_top(con, terms, meta, [], limit)
    with connect_lake(lake, only=frozenset({"articles"})) as lake_con:
        committed = _committed_runs(lake_con)
        with _reading(index) as con:
            if con is None:
                found = _latest_rows(_run_articles(lake_con, list(committed)))
                return _best(matching_rows(found, terms), limit)
            return _merged(con, lake_con, committed, terms, limit)


def _merged(con: duckdb.DuckDBPyConnection, lake_con: duckdb.DuckDBPyConnection, committed: dict[str, tuple], terms: list[Term], limit: int) -> pl.DataFrame:
    """The index's answer corrected by the runs committed, rerun or withdrawn since its update."""
    indexed = _indexed_runs(con)
    hidden = [run for run, version in indexed.items() if committed.get(run) != version]
    pending = _run_articles(lake_con, [run for run, version in committed.items() if indexed.get(run) != version])
    # Articles whose latest row may differ from the index's: decided here, row by row.
    affected = set(pending["article_id"].to_list())
    if hidden:
        affected |= {r[0] for r in con.sql(
            "SELECT DISTINCT article_id FROM docs WHERE run_id IN (SELECT unnest($hidden))", params={"hidden": hidden}
        ).fetchall()}
    indexed_hits = _index_top(con, terms, _meta(con), sorted(affected), limit)
    if not affected:
        return indexed_hits
    older = con.sql(
        f"""SELECT article_key, {', '.join(DOC_COLUMNS)} FROM docs
        WHERE article_id IN (SELECT unnest($affected)) AND run_id NOT IN (SELECT unnest($hidden))""",
        params={"affected": sorted(affected), "hidden": hidden},
    ).pl()
    older = _utc(older)
    latest = _latest_rows(pl.concat(
        [older.with_columns(text=pl.lit(None, pl.String)), pending.with_columns(article_key=pl.lit(None, pl.Int32))],
        how="diagonal_relaxed",
    ))
    from_index = latest.filter(pl.col("article_key").is_not_null())
    index_matches = _keys_matching(con, terms, from_index["article_key"].to_list())
    revised = pl.concat([
        from_index.filter(pl.col("article_key").is_in(index_matches)).select(RESULT_COLUMNS),
        matching_rows(latest.filter(pl.col("article_key").is_null()), terms).select(RESULT_COLUMNS),
    ])
    return _best(pl.concat([indexed_hits, revised], how="vertical_relaxed"), limit)


def _latest_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Each article's row from its latest run."""
    return rows.sort("run_id", descending=True).unique("article_id", keep="first", maintain_order=True)


def _best(rows: pl.DataFrame, limit: int) -> pl.DataFrame:
    return rows.sort(
        ["quality", "published_at", "article_id"], descending=[True, True, False], nulls_last=True
    ).head(limit).select(RESULT_COLUMNS)


def _postings_sql(terms: list[Term], key_filter: str) -> tuple[str, dict[str, object]]:
    """The keys holding every term (an INTERSECT of each term's postings), restricted by `key_filter`."""
    parts, params = [], {}
    for i, term in enumerate(terms):
        condition, values = term.sql(i)
        parts.append(f"SELECT article_key FROM postings WHERE {condition} AND {key_filter}")
        params |= values
    return "\nINTERSECT\n".join(parts), params


def _index_top(con: duckdb.DuckDBPyConnection, terms: list[Term], meta: dict, excluded: list[str], limit: int) -> pl.DataFrame:
    """The best `limit` current indexed matches, leaving out the `excluded` articles.

    Keys below `sorted_upto` run best first: the search reads the postings of a window of keys,
    then of a window WINDOW_GROWTH times larger after it, and so on until it holds `limit` matches
    (or has read the sorted part), and then every match of the unsorted tail. Each step reads only
    its key range of postings and docs (the zonemaps skip the rest); the rows are fetched by key."""
    sorted_upto, next_key = meta["sorted_upto"], meta["next_key"]
    keys: list[int] = []
    low, width = 0, FIRST_WINDOW
    while len(keys) < limit and low < sorted_upto:
        high = min(low + width, sorted_upto)
        keys += _matching_keys(con, terms, excluded, low, high, limit - len(keys)).tolist()
        low, width = high, width * WINDOW_GROWTH
    best = keys  # in key order, which is best-first
    if next_key > sorted_upto:
        tail = _matching_keys(con, terms, excluded, sorted_upto, next_key)
        best += [row[0] for row in con.sql(
            f"""SELECT article_key FROM docs WHERE article_key >= $low AND article_key IN (SELECT unnest($keys))
            ORDER BY {RANK_ORDER} LIMIT $limit""",
            params={"low": sorted_upto, "keys": tail.tolist(), "limit": limit},
        ).fetchall()]
    return _best(_docs_by_key(con, best), limit)


def _matching_keys(
    con: duckdb.DuckDBPyConnection, terms: list[Term], excluded: list[str], low: int, high: int, limit: int | None = None
) -> np.ndarray:
    """The first `limit` (or all) keys in [low, high) of current docs holding every term, in order."""
    matched, params = _postings_sql(terms, "article_key >= $low AND article_key < $high")
    # Keys not shown: an article's row from an older run, one whose article is decided elsewhere,
    # and a deleted doc's (its postings stay until the next rebuild).
    hidden = "OR article_id IN (SELECT unnest($excluded))" if excluded else ""
    sql = f"""
    SELECT article_key FROM (
        {matched}
        EXCEPT
        (SELECT article_key FROM docs WHERE article_key >= $low AND article_key < $high AND (NOT current {hidden})
         UNION ALL SELECT article_key FROM dead_keys WHERE article_key >= $low AND article_key < $high)
    ) ORDER BY article_key {"LIMIT $limit" if limit is not None else ""}
    """
    params |= {"low": low, "high": high} | ({"excluded": excluded} if excluded else {})
    if limit is not None:
        params["limit"] = limit
    return con.sql(sql, params=params).fetchnumpy()["article_key"]


def _docs_by_key(con: duckdb.DuckDBPyConnection, keys: list[int]) -> pl.DataFrame:
    """Docs rows by key: a literal IN list, which DuckDB answers from the `docs_key` index."""
    placeholders = ", ".join(f"$k{i}" for i in range(len(keys))) or "NULL"
    sql = f"SELECT {', '.join(RESULT_COLUMNS)} FROM docs WHERE article_key IN ({placeholders})"
    return _utc(con.sql(sql, params={f"k{i}": key for i, key in enumerate(keys)}).pl())


def _keys_matching(con: duckdb.DuckDBPyConnection, terms: list[Term], keys: list[int]) -> list[int]:
    if not keys:
        return []
    matched, params = _postings_sql(terms, "article_key IN (SELECT unnest($keys))")
    return [row[0] for row in con.sql(matched, params=params | {"keys": keys}).fetchall()]
