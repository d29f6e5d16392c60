"""Curation's judgement on the labelled set: relevance precision/recall/F1 and per-category tag precision/recall.

    .venv/bin/python benchmarks/relevance_eval.py [--set tests/data/relevance_eval.tsv] [--errors]

Runs the curate stage's own lexicon step (`with_lexicon`, the rules of joshua/curate/relevance.py and
data/lexicon.toml) on every labelled item and scores it with joshua/curate/evaluate.py against the
labels, at the settings' evidence floor (`curate.min_relevance`). `--errors` lists the items judged
wrongly. Targets on the bundled set: relevance precision >= 0.95, recall >= 0.90, each category's
tag precision >= 0.85.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from joshua.curate.evaluate import evaluate, evaluation_table, load_labelled  # noqa: E402
from joshua.curate.lexicon import load_lexicon  # noqa: E402
from joshua.curate.pipeline import with_lexicon  # noqa: E402
from joshua.settings import load_settings  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "data" / "relevance_eval.tsv"


def predictions(labelled: pl.DataFrame, lexicon) -> pl.DataFrame:
    """id, relevance and categories of each labelled item, as the curate stage judges them."""
    frame = labelled.select("id", "title", body="text", language="lang").lazy()
    return with_lexicon(frame, lexicon).select("id", "relevance", "categories").collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--errors", action="store_true", help="list the items judged wrongly")
    args = parser.parse_args()
    settings = load_settings()
    lexicon = load_lexicon(settings.lexicon_file)
    labelled = load_labelled(args.set)
    predicted = predictions(labelled, lexicon)
    evaluation = evaluate(labelled, predicted, lexicon.languages, settings.curate.min_relevance)
    print(f"set {args.set.relative_to(ROOT) if args.set.is_relative_to(ROOT) else args.set}, floor {settings.curate.min_relevance}")
    print(evaluation_table(evaluation))
    if args.errors:
        joined = labelled.join(predicted, on="id", suffix="_predicted")
        for label, ids in (("false positive", evaluation.false_positives), ("false negative", evaluation.false_negatives)):
            for row in joined.filter(pl.col("id").is_in(ids)).iter_rows(named=True):
                print(f"{label}: {row['id']} {row['relevance']:.2f} {row['title']}")
        for row in joined.filter(pl.col("relevant")).iter_rows(named=True):
            wrong = set(row["categories_predicted"]) ^ set(row["categories"])
            if wrong and row["relevance"] >= settings.curate.min_relevance:
                print(f"tags {row['id']}: labelled {row['categories']} predicted {row['categories_predicted']}")


if __name__ == "__main__":
    main()
