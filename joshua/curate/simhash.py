"""SimHash near-duplicate detection: 64-bit fingerprints of article text and a greedy first-seen-kept pass.

Fingerprint (Charikar's SimHash) of one text, usually `title + " " + body`:

* features are the whitespace tokens of the text (`str.split()` semantics), lower-cased (`str.lower()`),
  kept when longer than 3 characters after lower-casing, and counted with multiplicity;
* each feature is hashed with the stable hash `feature_hash`: the first 8 bytes of BLAKE2b of its UTF-8
  bytes read little-endian (stable across processes and Python versions, unlike `hash()`);
* bit b of the fingerprint is 1 when more features have bit b set in their hash than not (each feature
  votes +1 or -1). A text without features (empty, or only short tokens) has fingerprint 0.

Two fingerprints are similar by `similarity(a, b) = 1 - popcount(a ^ b) / 64`; they are near-duplicates
when it exceeds a threshold, i.e. when their Hamming distance is at most `max_distance(threshold)`.
`near_duplicates` keeps the first-seen article of each group (see its docstring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import combinations, pairwise
from math import comb
from typing import NamedTuple

import numpy as np
import polars as pl

BITS = 64
DEFAULT_THRESHOLD = 0.85
KEPT = -1

# The characters `str.isspace()` accepts, which is where `str.split()` splits (a test checks the list).
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Splitting on " " is several times faster than a regex, so only texts holding one of the others get
# them replaced first. Spelled out because Rust's `\s` (Unicode White_Space) lacks U+001C..U+001F.
_OTHER_WHITESPACE = "[" + "".join(f"\\x{{{ord(char):X}}}" for char in PY_WHITESPACE if char != " ") + "]"
_MIN_FEATURE_CHARS = 4
# Text per batch: bounds the token frames (a few copies of ~24 bytes per token) to some tens of MB.
_BATCH_CHARS = 4_000_000
# _NIBBLE_BITS[v, t] = bit t of v: turns per-article histograms of 4-bit hash digits into per-bit counts.
_NIBBLE_BITS = ((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(np.float64)

# near_duplicates: costs of a block probe and of a candidate pair, in units of one brute-force pair
# (measured at ~1.2 ns); candidate pairs per batch (~40 bytes each at peak); brute-force tile shape.
_PROBE_COST = 12.0
_CANDIDATE_COST = 6.0
_CANDIDATE_BUDGET = 1 << 18
_BATCH_ROWS = 256  # bounds the in-order Python walk over pairs inside one batch
_MIN_BLOCKS = 4  # so a block has at most 16 bits and its bucket table at most 65,536 entries
_TILE_ROWS = 128
_TILE_COLUMNS = 4096


class _Block(NamedTuple):
    """One pigeonhole block of bits, with the fingerprints bucketed by their value there."""

    shift: int
    width: int
    flips: np.ndarray  # the masks to probe: every value within the radius of a block value
    starts: np.ndarray  # bucket v is order[starts[v] : starts[v + 1]]
    order: np.ndarray  # positions sorted by block value
    values: np.ndarray  # the fingerprints in that order


def feature_hash(token: str) -> int:
    """The stable 64-bit hash of a feature: BLAKE2b-64 of its UTF-8 bytes, read little-endian."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def similarity(a: int, b: int) -> float:
    """SimHash similarity of two fingerprints: the share of their 64 bits that agree."""
    return 1 - (a ^ b).bit_count() / BITS


def max_distance(threshold: float = DEFAULT_THRESHOLD) -> int:
    """The largest Hamming distance d with `1 - d / 64 > threshold`; -1 when none (threshold >= 1)."""
    return max((d for d in range(BITS + 1) if 1 - d / BITS > threshold), default=-1)


def simhash64(texts: Sequence[str | None] | pl.Series) -> np.ndarray:
    """The uint64 SimHash fingerprint of each text (a null text has fingerprint 0)."""
    n = len(texts)
    if isinstance(texts, pl.Series):
        total = texts.str.len_bytes().sum() or 0
    else:
        total = sum(len(text) for text in texts if text)
    step = max(1, _BATCH_CHARS * n // max(total, 1))
    parts = [_batch_fingerprints(_text_batch(texts, start, step)) for start in range(0, n, step)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def _text_batch(texts: Sequence[str | None] | pl.Series, start: int, size: int) -> pl.Series:
    """Texts start..start+size as a String series, converting only that slice of a Python sequence."""
    if isinstance(texts, pl.Series):
        return texts.slice(start, size).cast(pl.String)
    # Encoding here, rather than letting polars read each str, stops CPython from caching a UTF-8 copy
    # inside every non-ASCII str for as long as the caller keeps it.
    encoded = [None if text is None else text.encode("utf-8") for text in texts[start : start + size]]
    return pl.Series(encoded, dtype=pl.Binary).cast(pl.String)


def _batch_fingerprints(texts: pl.Series) -> np.ndarray:
    """Fingerprints of one batch: features from polars, votes from per-article histograms in numpy."""
    rows = pl.DataFrame({"text": texts}).with_row_index("article")
    spaced = pl.col("text").str.contains(_OTHER_WHITESPACE)
    respaced = rows.filter(spaced).with_columns(pl.col("text").str.replace_all(_OTHER_WHITESPACE, " "))
    tokens = (
        pl.concat([rows.filter(~spaced), respaced])
        .select("article", pl.col("text").str.split(" ").alias("token"))
        .explode("token")
        # A token's UTF-8 length bounds its lower-cased length from above (a test checks every code
        # point), so this only drops tokens that cannot be features; `_vocabulary` decides the rest.
        .filter(pl.col("token").str.len_bytes() >= _MIN_FEATURE_CHARS)
    )
    features = tokens.join(_vocabulary(tokens["token"].unique()), on="token", maintain_order="left")
    return _fingerprints(features["article"].to_numpy(), features["hash"].to_numpy(), len(texts))


def _vocabulary(tokens: pl.Series) -> pl.DataFrame:
    """Each distinct raw token that is a feature, with its hash: the only per-token Python work."""
    raw = [token for token in tokens.to_list() if len(token.lower()) >= _MIN_FEATURE_CHARS]
    hashes = [feature_hash(token.lower()) for token in raw]
    return pl.DataFrame({"token": raw, "hash": hashes}, schema={"token": pl.String, "hash": pl.UInt64})


def _fingerprints(articles: np.ndarray, hashes: np.ndarray, n: int) -> np.ndarray:
    """Fingerprints of articles 0..n-1 from (article, feature hash) rows."""
    rows = articles.astype(np.int64) * 16
    # Byte k of every hash, as contiguous rows (little-endian: bits 8k..8k+7).
    hash_bytes = np.ascontiguousarray(np.ascontiguousarray(hashes, dtype="<u8").view(np.uint8).reshape(-1, 8).T)
    set_counts = np.empty((n, BITS))
    for k in range(16):
        # Per article, a histogram of the k-th 4-bit digit of the hashes; a matmul spreads it to the
        # digit's bits. Reads the features 16 times instead of 64, and 16 bins stay in cache.
        digit = (hash_bytes[k // 2] >> 4 * (k % 2)) & 0xF
        histogram = np.bincount(rows + digit, minlength=16 * n).reshape(n, 16)
        set_counts[:, 4 * k : 4 * k + 4] = histogram @ _NIBBLE_BITS  # float64 is exact for counts < 2**53
    features = np.bincount(articles, minlength=n)
    bits = 2 * set_counts > features[:, None]  # votes for minus votes against > 0
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").ravel().astype(np.uint64)


def near_duplicates(fingerprints: np.ndarray, max_distance: int, prior: np.ndarray | None = None) -> np.ndarray:
    """For each fingerprint, what it near-duplicates: -1 (kept), a current index i >= 0, or -2 - k for `prior[k]`.

    Greedy, first seen kept: fingerprints are taken in order, after all of `prior` (fingerprints kept
    by earlier runs, all counted as kept). One is a near-duplicate when an earlier kept one is within
    Hamming distance `max_distance`; it then points at the earliest such one (any match in `prior`
    precedes every current one), and is not kept, so it never absorbs later fingerprints. Exactly
    what comparing each fingerprint against the list kept so far gives, without the quadratic loop.
    `max_distance` usually comes from `max_distance(threshold)`; below 0 everything is kept.

    How: equal fingerprints collapse to one; batches of the rest find their close earlier partners
    through a pigeonhole index (see `_block_plan`), or by brute force against the kept ones when
    that is cheaper (large distances, few fingerprints); a Python loop then walks only the verified
    pairs, in order, to apply the greedy rule.
    """
    current = np.asarray(fingerprints, dtype=np.uint64)
    if max_distance < 0:  # a threshold of 1 or more: not even identical fingerprints are near-duplicates
        return np.full(len(current), KEPT, dtype=np.int64)
    earlier = np.empty(0, dtype=np.uint64) if prior is None else np.asarray(prior, dtype=np.uint64)
    # A repeated value can only echo its first occurrence, so the greedy pass sees each distinct value
    # once: prior ones first (a repeat within prior is never the earliest match), then current ones.
    prior_values, prior_first, _ = _distinct_in_order(earlier)
    values, first, inverse = _distinct_in_order(current)
    decided = _greedy(np.concatenate([prior_values, values]), max_distance, len(prior_values))[len(prior_values) :]
    marker = np.concatenate([-2 - prior_first, first])  # a sequence position as an output value
    outcome = np.where(decided == KEPT, KEPT, marker[decided])
    # A repeat duplicates its first occurrence when that was kept, else what that one duplicates.
    echo = np.where(outcome == KEPT, first, outcome)
    return np.where(first[inverse] == np.arange(len(current)), outcome[inverse], echo[inverse])


def _distinct_in_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values in order of first appearance, the index of that appearance, and each value's position."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return values[first[order]], first[order].astype(np.int64), rank[inverse]


def _greedy(sequence: np.ndarray, distance: int, start: int) -> np.ndarray:
    """First-seen-kept over distinct fingerprints from `start` on (all before it kept): -1 or the kept position."""
    n = len(sequence)
    decided = np.full(n, KEPT, dtype=np.int64)
    plan = _block_plan(distance, n)
    index = [] if plan is None else _block_index(sequence, *plan)
    load = _candidate_load(sequence, index, start)
    probes = sum(len(block.flips) for block in index)
    # kept[:kept_count]: the kept positions so far, ascending; at first the prior ones, 0..start-1.
    kept, kept_count = np.arange(n), start
    for low, high in pairwise(_batch_bounds(load, start, n)):
        rows = high - low
        # Per batch, whichever is cheaper: probing the index, or comparing with every kept position
        # (skewed fingerprints make some buckets huge; early rows have few kept positions before them).
        block_cost = _PROBE_COST * rows * probes + _CANDIDATE_COST * load[low - start : high - start].sum()
        if plan is None or rows * (kept_count + rows) <= block_cost:
            columns = np.concatenate([kept[:kept_count], np.arange(low, high)])
            later, earlier = _pairs_by_tiles(sequence, distance, low, high, columns)
        else:
            later, earlier = _pairs_by_blocks(sequence, distance, low, high, index)
        _settle(decided, later, earlier, low)
        new = low + np.flatnonzero(decided[low:high] == KEPT)
        kept[kept_count : kept_count + len(new)] = new
        kept_count += len(new)
    return decided


def _settle(decided: np.ndarray, later: np.ndarray, earlier: np.ndarray, low: int) -> None:
    """Apply the greedy rule to the close pairs (later, earlier) of the batch starting at `low`, in place."""
    n = len(decided)
    pairs = np.unique((later * n + earlier)[decided[earlier] == KEPT])  # sorted by (later, earlier)
    i, j = pairs // n, pairs % n
    # Partners before the batch are settled: each row takes its earliest kept one, vectorized.
    outer = j < low
    rows, first = np.unique(i[outer], return_index=True)
    decided[rows] = j[outer][first]
    # Partners inside the batch are settled as the walk goes, in order; at most rows**2 / 2 pairs.
    inner = ~outer & (decided[i] == KEPT)
    for row, partner in zip(i[inner].tolist(), j[inner].tolist(), strict=True):
        if decided[row] == KEPT and decided[partner] == KEPT:
            decided[row] = partner


def _block_plan(distance: int, n: int) -> tuple[list[tuple[int, int]], int] | None:
    """The cheapest pigeonhole split as (blocks as (shift, width), radius), or None when brute force is cheaper.

    With m blocks, two fingerprints within `distance` differ in at most `distance // m` bits on some
    block, so probing each block's values within that radius finds every such pair. The costs assume
    uniform fingerprints; skew (common words) makes buckets larger, which `_greedy` weighs per batch.
    """
    best, best_cost = None, n / 2
    # Past distance + 1 blocks the radius is 0 already, and more blocks only make them narrower.
    for m in range(_MIN_BLOCKS, max(_MIN_BLOCKS, min(distance + 1, BITS)) + 1):
        widths = [BITS // m + (1 if k < BITS % m else 0) for k in range(m)]
        radius = distance // m
        probes = [sum(comb(width, r) for r in range(radius + 1)) for width in widths]
        cost = sum(p * (_PROBE_COST + _CANDIDATE_COST * n / 2**w) for p, w in zip(probes, widths, strict=True))
        if cost < best_cost:
            shifts = np.cumsum([0, *widths[:-1]]).tolist()
            best, best_cost = (list(zip(shifts, widths, strict=True)), radius), cost
    return best


def _block_index(sequence: np.ndarray, blocks: list[tuple[int, int]], radius: int) -> list[_Block]:
    """Bucket the fingerprints by each block's value."""
    index = []
    for shift, width in blocks:
        key = _block_key(sequence, shift, width)
        order = np.argsort(key, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=1 << width))])
        index.append(_Block(shift, width, _flips(width, radius), starts, order, sequence[order]))
    return index


def _block_key(sequence: np.ndarray, shift: int, width: int) -> np.ndarray:
    """Bits shift..shift+width of each fingerprint."""
    return ((sequence >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)


def _flips(width: int, radius: int) -> np.ndarray:
    """Every `width`-bit mask with at most `radius` bits set."""
    masks = [sum(1 << bit for bit in bits) for r in range(radius + 1) for bits in combinations(range(width), r)]
    return np.array(masks, dtype=np.int64)


def _candidate_load(sequence: np.ndarray, index: list[_Block], start: int) -> np.ndarray:
    """Per position from `start`, how many candidates its block probes return (bucket sizes, exactly)."""
    load = np.zeros(len(sequence) - start, dtype=np.int64)
    for block in index:
        sizes = np.diff(block.starts)
        key = _block_key(sequence[start:], block.shift, block.width)
        for flip in block.flips:
            load += sizes[key ^ flip]
    return load


def _batch_bounds(load: np.ndarray, start: int, n: int) -> list[int]:
    """Batch boundaries from `start` to n: about `_CANDIDATE_BUDGET` candidates, and at most `_BATCH_ROWS` rows."""
    ends = np.cumsum(load) // _CANDIDATE_BUDGET + np.arange(len(load)) // _BATCH_ROWS
    cuts = np.flatnonzero(np.diff(ends)) + start + 1
    return [start, *cuts.tolist(), n]


def _pairs_by_blocks(
    sequence: np.ndarray, distance: int, low: int, high: int, index: list[_Block]
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with low <= i < high, j < i, within `distance`: block probes, then verified."""
    rows = np.arange(low, high)
    later, earlier = [], []
    for block in index:
        probe = (_block_key(sequence[low:high], block.shift, block.width)[:, None] ^ block.flips).ravel()
        first, counts = block.starts[probe], block.starts[probe + 1] - block.starts[probe]
        ends = np.cumsum(counts)
        # Whole buckets, restricted to j < i only after verifying: cheaper than searching each bucket for i.
        offsets = np.repeat(first - (ends - counts), counts) + np.arange(counts.sum())
        probed = np.repeat(np.repeat(sequence[low:high], len(block.flips)), counts)
        close = np.flatnonzero(np.bitwise_count(probed ^ block.values[offsets]) <= distance)
        later.append(rows[np.searchsorted(ends, close, side="right") // len(block.flips)])
        earlier.append(block.order[offsets[close]])
    i, j = np.concatenate(later), np.concatenate(earlier)
    return i[j < i], j[j < i]


def _pairs_by_tiles(
    sequence: np.ndarray, distance: int, low: int, high: int, columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with low <= i < high, j in `columns`, j < i, within `distance`: brute force in tiles."""
    values = sequence[columns]
    later, earlier = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for top in range(low, high, _TILE_ROWS):
        rows = sequence[top : min(top + _TILE_ROWS, high), None]
        for left in range(0, len(columns), _TILE_COLUMNS):
            close = np.bitwise_count(rows ^ values[left : left + _TILE_COLUMNS]) <= distance
            # nonzero costs several times the comparison, so it only scans the few rows with a pair.
            hit = np.flatnonzero(close.any(axis=1))
            row, column = np.nonzero(close[hit])
            later.append(top + hit[row])
            earlier.append(columns[left + column])
    i, j = np.concatenate(later), np.concatenate(earlier)
    return i[j < i], j[j < i]
