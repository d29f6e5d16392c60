"""SimHash: the vectorized module against a plain-Python reference of the spec."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from unittest import mock

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joshua.curate import simhash
from joshua.curate.simhash import (
    PY_WHITESPACE,
    feature_hash,
    max_distance,
    near_duplicates,
    similarity,
    simhash64,
)


def reference_fingerprint(text: str) -> int:
    """SimHash of one text, written out plainly: token by token, bit by bit."""
    votes = [0] * 64
    for token in text.lower().split():
        if len(token) > 3:
            value = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
            for bit in range(64):
                votes[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if votes[bit] > 0)


def reference_near_duplicates(fingerprints: Sequence[int], threshold: float, prior: Sequence[int] = ()) -> list[int]:
    """Greedy first-seen-kept: each fingerprint against every one kept so far, prior ones first."""
    kept = [(-2 - k, value) for k, value in enumerate(prior)]
    outcome = []
    for index, value in enumerate(fingerprints):
        match = next((label for label, other in kept if 1 - bin(value ^ other).count("1") / 64 > threshold), None)
        if match is None:
            kept.append((index, value))
        outcome.append(-1 if match is None else match)
    return outcome


def fast_near_duplicates(fingerprints: Sequence[int], threshold: float, prior: Sequence[int] = ()) -> list[int]:
    """`near_duplicates` with the reference's arguments."""
    array = np.array(fingerprints, dtype=np.uint64)
    earlier = np.array(prior, dtype=np.uint64) if prior else None
    return near_duplicates(array, max_distance(threshold), prior=earlier).tolist()


@contextmanager
def pair_search(path: str) -> Iterator[None]:
    """Force one way of finding close pairs, in many small batches: pigeonhole blocks, or brute-force tiles."""
    if path == "blocks":
        with (
            mock.patch.object(simhash, "_PROBE_COST", 0.0),
            mock.patch.object(simhash, "_CANDIDATE_COST", 0.0),
            mock.patch.object(simhash, "_CANDIDATE_BUDGET", 8),
        ):
            yield
    elif path == "tiles":
        with (
            mock.patch.object(simhash, "_block_plan", lambda distance, n: None),
            mock.patch.object(simhash, "_BATCH_ROWS", 5),
            mock.patch.object(simhash, "_TILE_ROWS", 2),
            mock.patch.object(simhash, "_TILE_COLUMNS", 3),
        ):
            yield
    else:
        yield


def flip(value: int, *bits: int) -> int:
    return value ^ sum(1 << bit for bit in bits)


A = 0xDEADBEEF12345678


# --- fingerprints


def test_the_stable_hash_is_pinned():
    assert feature_hash("nuclear") == 0x9CF468CD60BD8912
    assert feature_hash("nuclear") == reference_fingerprint("nuclear")


def test_whitespace_is_what_str_split_splits_on():
    assert set(PY_WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}


def test_lower_casing_never_outgrows_the_utf8_length():
    # simhash64 drops tokens under 4 UTF-8 bytes before lower-casing; that is safe only while this holds.
    for code in [*range(0xD800), *range(0xE000, sys.maxunicode + 1)]:
        char = chr(code)
        assert len(char.lower()) <= len(char.encode("utf-8")), hex(code)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nuclear", feature_hash("nuclear")),  # one feature: its hash
        ("NUCLEAR talks", feature_hash("nuclear") & feature_hash("talks")),  # a tie (0 votes) is a 0 bit
        ("nuclear nuclear nuclear talks treaty", feature_hash("nuclear")),  # multiplicity: 3 votes beat 2
        ("on the way to a", 0),  # short tokens only
        ("", 0),
        (" \t\n ", 0),
        ("of nuclear and the", feature_hash("nuclear")),
        ("İİ", feature_hash("İİ".lower())),  # two characters, four once lower-cased
    ],
)
def test_known_fingerprints(text, expected):
    assert simhash64([text]).tolist() == [expected] == [reference_fingerprint(text)]


def test_multiplicity_changes_the_fingerprint():
    once, thrice = simhash64(["nuclear talks treaty", "nuclear nuclear nuclear talks treaty"]).tolist()
    assert once == reference_fingerprint("nuclear talks treaty")
    assert once != thrice == feature_hash("nuclear")


def test_case_and_whitespace_do_not_matter():
    texts = [
        "Nuclear TALKS resume in Geneva",
        "nuclear talks\tresume\x1cin\u3000geneva\n",
        "  NUCLEAR talks resume in geneva",
    ]
    fingerprints = simhash64(texts).tolist()
    assert len(set(fingerprints)) == 1
    assert fingerprints[0] == reference_fingerprint(texts[0])


def test_series_nulls_and_empty_input():
    texts = ["warhead count rose", None, "treaty talks"]
    assert simhash64(pl.Series(texts)).tolist() == simhash64(texts).tolist()
    assert simhash64(texts).tolist()[1] == 0
    assert simhash64([]).dtype == np.uint64
    assert simhash64(pl.Series([], dtype=pl.String)).shape == (0,)


def test_identical_texts_are_duplicates_and_unrelated_ones_are_not():
    texts = [
        "Russia and the United States resume strategic stability talks in Geneva next week",
        "Russia and the United States resume strategic stability talks in Geneva next week",
        "Heavy rainfall floods farmland across the northern provinces, officials report",
    ]
    outcome = near_duplicates(simhash64(texts), max_distance())
    assert outcome.dtype == np.int64
    assert outcome.tolist() == [-1, 0, -1]


# --- the threshold


def test_max_distance():
    assert max_distance() == max_distance(0.85) == 9
    assert max_distance(0.859375) == 8  # 1 - 9/64 exactly: not strictly greater
    assert max_distance(1.0) == -1
    assert max_distance(0.0) == 63
    assert max_distance(-0.5) == 64
    for threshold in np.linspace(-0.1, 1.1, 241):
        d = max_distance(threshold)
        assert all(1 - e / 64 > threshold for e in range(d + 1))
        assert d == 64 or not 1 - (d + 1) / 64 > threshold


def test_boundary_distance_nine_is_a_duplicate_and_ten_is_not():
    nine, ten = flip(A, *range(0, 63, 7)), flip(A, *range(0, 63, 7), 5)
    assert (similarity(A, nine), similarity(A, ten)) == (1 - 9 / 64, 1 - 10 / 64)
    assert near_duplicates(np.array([A, nine], dtype=np.uint64), max_distance(0.85)).tolist() == [-1, 0]
    assert near_duplicates(np.array([A, ten], dtype=np.uint64), max_distance(0.85)).tolist() == [-1, -1]


def test_a_threshold_of_one_keeps_everything():
    assert near_duplicates(np.array([A, A], dtype=np.uint64), max_distance(1.0)).tolist() == [-1, -1]


# --- the greedy pass


@pytest.mark.parametrize("path", ["blocks", "tiles"])
def test_duplicates_do_not_absorb_and_the_earliest_kept_wins(path):
    b = flip(A, *range(6))  # 6 from A
    c = flip(A, *range(12))  # 6 from b, 12 from A
    far = ~A & (2**64 - 1)
    near_both = flip(A, 40, 41)
    with pair_search(path):
        assert fast_near_duplicates([A, b, c], 0.85) == [-1, 0, -1]
        assert fast_near_duplicates([far, A, near_both, A, A], 0.85) == [-1, -1, 1, 1, 1]
        assert fast_near_duplicates([A, b, c, b, c], 0.85) == [-1, 0, -1, 0, 2]


@pytest.mark.parametrize("path", ["blocks", "tiles"])
def test_prior_fingerprints_come_first(path):
    far = ~A & (2**64 - 1)
    with pair_search(path):
        # Matching prior[1] gives -3, also for a repeat.
        assert fast_near_duplicates([flip(A, 3), flip(A, 3)], 0.85, prior=[far, A]) == [-3, -3]
        # Within reach of a kept current fingerprint (index 0) and of prior[0]: the prior one.
        assert fast_near_duplicates([flip(A, *range(10)), flip(A, *range(5))], 0.85, prior=[A]) == [-1, -2]
        # Within reach of both prior fingerprints: the earliest.
        assert fast_near_duplicates([flip(A, 1)], 0.85, prior=[flip(A, 2), flip(A, 3)]) == [-2]
        # A repeated prior value points at its first occurrence.
        assert fast_near_duplicates([A], 0.85, prior=[far, A, A]) == [-3]
        # Prior fingerprints are all kept, even when close to each other.
        assert fast_near_duplicates([flip(A, 9)], 0.85, prior=[far, flip(A, 8), A]) == [-3]


def test_the_planner_uses_blocks_at_scale():
    blocks, radius = simhash._block_plan(9, 100_000)
    assert ([width for _, width in blocks], radius) == ([13, 13, 13, 13, 12], 1)
    assert simhash._block_plan(40, 100_000) is None


def test_medium_scale_against_the_reference():
    rng = np.random.default_rng(7)
    bases = rng.integers(0, 2**64 - 1, size=1500, dtype=np.uint64, endpoint=True)
    picks = bases[rng.integers(0, len(bases), size=2500)]
    noise = rng.random((2500, 64)) < 0.08  # about 5 bits flipped, sometimes more than 9
    values = picks ^ np.packbits(noise, axis=1, bitorder="little").view("<u8").ravel()
    fingerprints = values.tolist()
    with (
        mock.patch.object(simhash, "_pairs_by_blocks", wraps=simhash._pairs_by_blocks) as blocks,
        mock.patch.object(simhash, "_pairs_by_tiles", wraps=simhash._pairs_by_tiles) as tiles,
    ):
        assert fast_near_duplicates(fingerprints, 0.85) == reference_near_duplicates(fingerprints, 0.85)
    assert blocks.called and tiles.called  # tiles while few are kept, then the index


# --- properties

WORDS = ["nuclear", "Nuclear", "NUCLEAR", "talks", "treaty", "missile", "warhead", "test", "sanctions", "the",
         "of", "a", "to", "İİ", "İab", "ΣΑΣ", "Straße", "naïve", "abcd", "abc"]  # fmt: skip
SEPARATORS = [" ", "  ", "\t", "\n", "\r\n", "\x1c", "\xa0", "\u3000", " \u2028 "]


@st.composite
def article_texts(draw) -> list[str]:
    """Texts over a small vocabulary, some of them light edits of earlier ones, so near-duplicates occur."""
    texts: list[str] = []
    for _ in range(draw(st.integers(0, 24))):
        if texts and draw(st.booleans()):
            words = draw(st.sampled_from(texts)).split()
            for _ in range(draw(st.integers(0, 2))):
                position = draw(st.integers(0, len(words)))
                words[position:position + 1] = draw(st.lists(st.sampled_from(WORDS), max_size=1))
        else:
            words = draw(st.lists(st.sampled_from(WORDS), max_size=14))
        separators = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words) + 1, max_size=len(words) + 1))
        texts.append("".join(s + w for s, w in zip(separators, [*words, ""], strict=True)))
    return texts


thresholds = st.one_of(st.sampled_from([0.85, 0.8, 0.9, 0.75]), st.floats(0.5, 1.0))


@settings(deadline=None)  # shared CI machines make first runs slow
@given(texts=article_texts(), threshold=thresholds, batch_chars=st.sampled_from([1, 40, 4_000_000]))
def test_fast_equals_reference_on_texts(texts, threshold, batch_chars):
    with mock.patch.object(simhash, "_BATCH_CHARS", batch_chars):
        fingerprints = simhash64(texts).tolist()
    assert fingerprints == [reference_fingerprint(text) for text in texts]
    assert fast_near_duplicates(fingerprints, threshold) == reference_near_duplicates(fingerprints, threshold)


@st.composite
def fingerprint_families(draw, size: int) -> list[int]:
    """Fingerprints drawn around a few random centres, each with a handful of bits flipped."""
    centres = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6))
    return [
        flip(draw(st.sampled_from(centres)), *draw(st.sets(st.integers(0, 63), max_size=14)))
        for _ in range(draw(st.integers(0, size)))
    ]


@pytest.mark.parametrize("path", ["planned", "blocks", "tiles"])
@settings(deadline=None)  # shared CI machines make first runs slow
@given(
    family=fingerprint_families(45),
    prior_size=st.integers(0, 5),
    threshold=st.one_of(st.sampled_from([0.85, 0.8, 0.9]), st.floats(0.75, 1.0)),
)
def test_fast_equals_reference_on_fingerprints(path, family, prior_size, threshold):
    prior, fingerprints = family[:prior_size], family[prior_size:]  # same centres, so prior matches occur
    with pair_search(path):
        fast = fast_near_duplicates(fingerprints, threshold, prior)
    assert fast == reference_near_duplicates(fingerprints, threshold, prior)


@settings(deadline=None)  # shared CI machines make first runs slow
@given(fingerprints=fingerprint_families(30), threshold=st.floats(-0.1, 1.0))
def test_fast_equals_reference_at_any_threshold(fingerprints, threshold):
    assert fast_near_duplicates(fingerprints, threshold) == reference_near_duplicates(fingerprints, threshold)
