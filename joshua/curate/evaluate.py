"""Scoring curation's judgement against a labelled set (tests/data/relevance_eval.tsv). Pure functions.

The set's README gives the labelling rules. An item is *expected evidence* when it is labelled
relevant and its language is one the lexicon covers; it is *predicted relevant* when curation gives
it a relevance at or above the floor. Tags are scored over the items predicted relevant (a tag on an
item that is not is never offered as evidence) against the labels of expected-evidence items.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from schemas.records import Category

LABELLED_SCHEMA = {
    "id": pl.String,
    "lang": pl.String,
    "relevant": pl.Boolean,
    "categories": pl.List(pl.String),
    "kind": pl.String,
    "title": pl.String,
    "text": pl.String,
}


def load_labelled(path: Path) -> pl.DataFrame:
    """The labelled set: one row per item (tab-separated, a header line, `-` for no category)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return pl.DataFrame(
        [
            {
                **row,
                "relevant": row["relevant"] == "1",
                "categories": [] if row["categories"] == "-" else row["categories"].split(","),
                "text": row["text"] or "",
            }
            for row in rows
        ],
        schema=LABELLED_SCHEMA,
    )


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 with the counts behind them."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Evaluation:
    """Relevance scores, per-category tag scores, and the ids of the items judged wrongly."""

    items: int
    relevance: Scores
    tags: dict[str, Scores]
    false_positives: list[str]
    false_negatives: list[str]


def evaluate(labelled: pl.DataFrame, predicted: pl.DataFrame, covered: list[str], floor: float) -> Evaluation:
    """Score predictions (id, relevance, categories) against the labels."""
    frame = labelled.join(predicted.rename({"categories": "predicted"}), on="id", how="left", validate="1:1")
    rows = frame.to_dicts()
    expected = {row["id"] for row in rows if row["relevant"] and row["lang"] in covered}
    judged = {row["id"] for row in rows if (row["relevance"] or 0.0) >= floor}
    tags = {}
    for category in Category:
        gold = {row["id"] for row in rows if row["id"] in expected and category.value in row["categories"]}
        tagged = {row["id"] for row in rows if row["id"] in judged and category.value in (row["predicted"] or [])}
        tags[category.value] = Scores(len(gold & tagged), len(tagged - gold), len(gold - tagged))
    return Evaluation(
        items=len(rows),
        relevance=Scores(len(expected & judged), len(judged - expected), len(expected - judged)),
        tags=tags,
        false_positives=sorted(judged - expected),
        false_negatives=sorted(expected - judged),
    )


def evaluation_table(evaluation: Evaluation) -> str:
    """The figures as a plain-text table."""
    r = evaluation.relevance
    lines = [
        f"items {evaluation.items}",
        f"relevance  precision {r.precision:.3f}  recall {r.recall:.3f}  F1 {r.f1:.3f}  (tp {r.tp}, fp {r.fp}, fn {r.fn})",
        f"{'category':<28}{'precision':>10}{'recall':>8}{'tp':>5}{'fp':>5}{'fn':>5}",
    ]
    for name, s in evaluation.tags.items():
        lines.append(f"{name:<28}{s.precision:>10.3f}{s.recall:>8.3f}{s.tp:>5}{s.fp:>5}{s.fn:>5}")
    return "\n".join(lines)
