"""The curate stage at scale: wall time and peak RSS of curating N synthetic raw items.

    .venv/bin/python benchmarks/curate_scale.py [--items 100000] [--prior 20000]

The items are the bundled sample's raw items scaled up: each copy gets its own URL and a few
words swapped, dropped or added, so most are distinct articles and some are near-duplicates.
`--prior` adds that many fingerprints of "earlier runs" to the SimHash look-back. The curate
pipeline (identity, lexicon, SimHash dedup, quality, evidence flag) runs in a fresh process that
reads the items from Parquet as the stage does; its peak RSS is that process's ru_maxrss, which
includes the interpreter and the polars/numpy imports. Validation (polars expressions from the
expectation suites) is not part of this figure.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sample_raw_items() -> pl.DataFrame:
    """The bundled sample's raw items, parsed as a run parses them."""
    from joshua.collect.collector import collect_sample_items
    from joshua.collect.snapshot import load_snapshot
    from joshua.curate.lexicon import load_lexicon
    from joshua.settings import load_settings
    from joshua.sources import load_sources

    settings = load_settings()
    snapshot = load_snapshot(settings.sample_snapshot)
    keywords = load_lexicon(settings.lexicon_file).keywords
    return collect_sample_items(snapshot, load_sources(settings.sources_file), keywords, settings.collect)


def perturb(text: str, rng: random.Random, vocabulary: list[str], edits: int) -> str:
    """A text with `edits` random word replacements, drops or insertions."""
    words = text.split()
    for _ in range(edits):
        if not words:
            break
        position = rng.randrange(len(words))
        action = rng.random()
        if action < 0.4:
            words[position] = rng.choice(vocabulary)
        elif action < 0.7:
            words.pop(position)
        else:
            words.insert(position, rng.choice(vocabulary))
    return " ".join(words)


def synthesize(items: int, seed: int = 7) -> pl.DataFrame:
    """`items` raw items: 90 % heavily edited copies (distinct), 10 % lightly edited (near-duplicates)."""
    rng = random.Random(seed)
    base = sample_raw_items()
    rows = base.to_dicts()
    vocabulary = sorted({word for row in rows for word in (row["title"] + " " + row["body"]).split() if len(word) > 3})
    out = []
    for number in range(items):
        row = dict(rows[number % len(rows)])
        edits = 2 if rng.random() < 0.1 else 40
        row["title"] = perturb(row["title"], rng, vocabulary, 1 if edits == 2 else 4)
        row["body"] = perturb(row["body"] + " " + " ".join(rng.sample(vocabulary, 30)), rng, vocabulary, edits)
        row["url"] = f"https://synthetic.example/{row['source_id']}/{number}"
        row["guid"] = None
        out.append(row)
    return pl.DataFrame(out, schema=base.schema)


def child(raw_path: str, prior: int) -> None:
    """Curate the Parquet file and print the figures as JSON (runs in its own process)."""
    import numpy as np

    from joshua.curate.lexicon import load_lexicon
    from joshua.curate.pipeline import PRIOR_SCHEMA, curate
    from joshua.curate.reliability import reliability_frame
    from joshua.settings import load_settings
    from joshua.sources import load_sources
    from schemas.tables import UTC_TS

    settings = load_settings()
    rng = np.random.default_rng(1)
    prior_frame = pl.DataFrame(
        {"article_id": [f"prior-{i}" for i in range(prior)], "simhash": rng.integers(0, 2**63, prior, dtype=np.uint64)},
        schema=PRIOR_SCHEMA,
    )
    started = time.perf_counter()
    articles = curate(
        pl.scan_parquet(raw_path),
        reliability_frame(load_sources(settings.sources_file), {}),
        load_lexicon(settings.lexicon_file),
        run_id="bench",
        as_of=datetime(2026, 11, 26, 6, tzinfo=UTC),
        min_relevance=settings.curate.min_relevance,
        simhash_threshold=settings.curate.simhash_threshold,
        prior=prior_frame,
    ).collect()
    seconds = time.perf_counter() - started
    assert articles.schema["published_at"] == UTC_TS
    print(
        json.dumps(
            {
                "articles": articles.height,
                "duplicates": int(articles["duplicate_of"].is_not_null().sum()),
                "evidence": int(articles["evidence"].sum()),
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--prior", type=int, default=20_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.prior)
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = Path(tmp) / "raw.parquet"
        built = time.perf_counter()
        frame = synthesize(args.items)
        frame.write_parquet(raw_path)
        print(f"synthesized {frame.height} raw items ({raw_path.stat().st_size / 1e6:.1f} MB Parquet) in {time.perf_counter() - built:.1f} s")
        del frame
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(raw_path), "--prior", str(args.prior)],
            check=True, capture_output=True, text=True,
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"curate: {args.items} raw items + {args.prior} look-back fingerprints")
    for name, value in figures.items():
        print(f"  {name:<12} {value}")


if __name__ == "__main__":
    main()
