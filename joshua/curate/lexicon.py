"""The lexicon (`data/lexicon.toml`): term lists compiled into regular expressions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from joshua.errors import ConfigError
from schemas.records import Category


class RelevanceRules(BaseModel):
    """The `[relevance]` lists: anchors, their contexts, theatres and what never anchors."""

    anchors: list[str]
    contextual: list[str]
    context: list[str]
    theatres: list[str]
    rivals: list[tuple[list[str], list[str]]]
    conflict: list[str]
    masked: list[str]
    off_topic: list[str]


class Tagging(BaseModel):
    """The `[tagging]` thresholds of category counts."""

    min_score: float = Field(gt=0)
    min_single: float = Field(gt=0)
    min_share: float = Field(gt=0, le=1)
    masked: list[str]


class Lexicon(BaseModel):
    """Term lists for relevance, categories, escalation signals and quality cues."""

    keywords: dict[str, list[str]]
    languages: list[str]
    relevance: RelevanceRules
    categories: dict[Category, list[str]]
    tagging: Tagging
    escalatory: list[str]
    de_escalatory: list[str]
    attribution: list[str]
    uncertainty: list[str]
    primary_domains: list[str]

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[Category, list[str]]) -> dict[Category, list[str]]:
        missing = set(Category) - set(value)
        if missing:
            raise ValueError(f"no terms for categories {sorted(missing)}")
        return value


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon file into a validated `Lexicon`."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return Lexicon(
            keywords=document["keywords"],
            languages=document["languages"]["covered"],
            relevance=document["relevance"],
            categories=document["categories"],
            tagging=document["tagging"],
            escalatory=document["signals"]["escalatory"],
            de_escalatory=document["signals"]["de_escalatory"],
            attribution=document["quality"]["attribution"],
            uncertainty=document["quality"]["uncertainty"],
            primary_domains=document["quality"]["primary_domains"],
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValidationError) as exc:
        raise ConfigError(f"cannot use lexicon {path}: {exc}") from exc


def term_regex(term: str) -> str:
    """One term as a regex: words of a phrase apart by spaces or hyphens, `*` for any ending."""
    stem, wildcard = (term[:-1], r"\w*") if term.endswith("*") else (term, "")
    return r"[\s\-\u2010-\u2014]+".join(re.escape(word) for word in stem.split()) + wildcard


def terms_pattern(terms: list[str], *, lowered: bool = False) -> str:
    """One word-bounded regex for a term list; `term*` matches any ending.

    Case-insensitive, unless `lowered` says the text is already lower case: then the terms are
    lowered instead, which lets the regex engine stay on its fast path (about 10× on long texts).
    """
    alternatives = sorted((term_regex(term.lower() if lowered else term) for term in terms), key=len, reverse=True)
    return ("" if lowered else "(?i)") + r"\b(?:" + "|".join(alternatives) + r")\b"
