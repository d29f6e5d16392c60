"""SimHash near-duplicate detection: the vectorized module against the plain-Python reference.

    .venv/bin/python benchmarks/simhash_speed.py [--articles 100000] [--words 150] [--reference-prefix 20000]

Builds `articles` synthetic articles of about `words` words from the sentences of the bundled sample
snapshot's bodies (fictional items, markup stripped crudely), about 10% of them light edits (1-4 words
dropped, replaced or inserted) of an earlier one. Times `simhash64` + `near_duplicates` on all of them,
and the reference of tests/test_simhash.py: its fingerprints on all of them, its greedy comparison
(quadratic: about 40 minutes at 100,000) on the first `reference-prefix` only. The comparison's full
time is then extrapolated as the measured time per fingerprint comparison times the number of
comparisons the reference makes on all articles, which the (identical) fast outcome gives exactly.
`--reference-prefix 0` skips the reference; a prefix equal to `articles` measures everything.
"""

from __future__ import annotations

import argparse
import html
import random
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joshua.curate.simhash import max_distance, near_duplicates, simhash64  # noqa: E402
from joshua.settings import PROJECT_ROOT  # noqa: E402
from tests.test_simhash import reference_fingerprint, reference_near_duplicates  # noqa: E402

THRESHOLD = 0.85
EDIT_SHARE = 0.1
TAG = re.compile(r"<[^>]*>")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sample_sentences() -> list[str]:
    """Sentences of the bundled sample snapshot's bodies, tags and markup stripped crudely."""
    sentences = []
    for body in sorted((PROJECT_ROOT / "data" / "snapshots" / "sample" / "bodies").iterdir()):
        raw = body.read_bytes().decode("utf-8", errors="replace").replace("<![CDATA[", " ").replace("]]>", " ")
        text = TAG.sub(" ", html.unescape(TAG.sub(" ", raw)))  # twice: descriptions hold escaped HTML
        for sentence in SENTENCE_END.split(" ".join(text.split())):
            words = sentence.split()
            if len(words) >= 4 and sum(word.isalpha() for word in words) >= len(words) / 2:  # prose, not URLs
                sentences.append(sentence)
    return sentences


def synthetic_articles(n: int, words: int, seed: int = 0) -> tuple[list[str], int]:
    """`n` articles mixed from sample sentences, about 10% light edits of earlier ones; and the edit count."""
    rng = random.Random(seed)
    sentences = sample_sentences()
    vocabulary = [word for sentence in sentences for word in sentence.split()]
    articles, edits = [], 0
    for index in range(n):
        if index and rng.random() < EDIT_SHARE:
            tokens = articles[rng.randrange(index)].split()
            for _ in range(rng.randint(1, 4)):
                position, operation = rng.randrange(len(tokens)), rng.randrange(3)
                if operation == 0:
                    del tokens[position]
                elif operation == 1:
                    tokens[position] = rng.choice(vocabulary)
                else:
                    tokens.insert(position, rng.choice(vocabulary))
            edits += 1
        else:
            tokens = []
            while len(tokens) < words:
                tokens += rng.choice(sentences).split()
        articles.append(" ".join(tokens))
    return articles, edits


def reference_comparisons(outcome: np.ndarray) -> int:
    """Fingerprint comparisons the reference makes to reach `outcome` (no prior fingerprints)."""
    kept = outcome == -1
    kept_before = np.cumsum(kept) - kept  # the kept list's length when each article is compared
    rank = np.cumsum(kept) - 1  # position in the kept list, for kept articles
    # A kept article is compared with the whole kept list, a duplicate until its match, included.
    per_article = np.where(kept, kept_before, rank[np.where(kept, 0, outcome)] + 1)
    return int(per_article.sum())


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--reference-prefix", type=int, default=20_000)
    args = parser.parse_args()
    prefix = min(args.reference_prefix, args.articles)
    distance = max_distance(THRESHOLD)

    articles, edits = synthetic_articles(args.articles, args.words)
    built_rss = peak_rss_mb()
    mean_chars = sum(map(len, articles)) / len(articles)
    print(f"articles            {len(articles):,} (mean {mean_chars:,.0f} chars, "
          f"{edits:,} light edits of earlier ones)")

    started = time.perf_counter()
    fingerprints = simhash64(articles)
    fast_hashing = time.perf_counter() - started
    started = time.perf_counter()
    outcome = near_duplicates(fingerprints, distance)
    fast_comparing = time.perf_counter() - started
    fast = fast_hashing + fast_comparing
    fast_rss = peak_rss_mb()
    print(f"fast                {fast:.2f} s (simhash64 {fast_hashing:.2f} s + near_duplicates "
          f"{fast_comparing:.2f} s), all {len(articles):,} measured")
    print(f"duplicates found    {int((outcome != -1).sum()):,} at threshold {THRESHOLD} (distance <= {distance})")
    print(f"peak RSS            {fast_rss:.0f} MB after the fast path; {built_rss:.0f} MB after building the "
          f"articles, so the fast path added at most {fast_rss - built_rss:.0f} MB")
    if not prefix:
        return

    started = time.perf_counter()
    reference_fingerprints = [reference_fingerprint(article) for article in articles]
    hashing = time.perf_counter() - started
    same_fingerprints = reference_fingerprints == fingerprints.tolist()
    print(f"reference hashing   {hashing:.1f} s, all {len(articles):,} measured; "
          f"fingerprints identical: {same_fingerprints}")

    started = time.perf_counter()
    reference_outcome = reference_near_duplicates(reference_fingerprints[:prefix], THRESHOLD)
    measured = time.perf_counter() - started
    # The greedy pass never looks ahead, so the fast outcome on all articles starts with the prefix's.
    same_outcome = reference_outcome == outcome[:prefix].tolist()
    done = max(reference_comparisons(np.array(reference_outcome, dtype=np.int64)), 1)
    total = reference_comparisons(outcome)
    comparing = measured * total / done
    if prefix == len(articles):
        how = "measured"
    else:
        how = f"extrapolated from {measured:.1f} s measured on the first {prefix:,}"
    print(f"reference compare   {comparing:.1f} s, {how} ({done:,} of {total:,} comparisons, "
          f"{measured / done * 1e9:.0f} ns each); duplicate_of identical on the first {prefix:,}: {same_outcome}")
    print(f"reference total     {hashing + comparing:.1f} s")
    print(f"speed-up            {(hashing + comparing) / fast:.0f}x (hashing {hashing / fast_hashing:.0f}x, "
          f"comparing {comparing / fast_comparing:.0f}x)")
    print(f"peak RSS            {peak_rss_mb():.0f} MB at the end")


if __name__ == "__main__":
    main()
