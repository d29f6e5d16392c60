"""Relevance, category tags and escalation of one article, from the lexicon's rules. Pure functions.

An article is about nuclear risk only through an *anchor*, judged sentence by sentence (the title
counts as one more sentence, weighted double):

- an unambiguous nuclear or strategic term (`anchors`: "warhead", "ICBM", "New START") weighs 2;
- an ambiguous term (`contextual`: "nuclear", "missile", "reactor", "uranium") weighs 1, and only
  when another word of the same sentence is a military or proliferation `context` term;
- a theatre of confrontation between nuclear-armed states (`theatres`, or both sides of a `rivals`
  pair in one sentence) weighs 1, and only with a `conflict` term in the same sentence.

A sentence weighs its strongest anchor, so one sentence never counts twice. Phrases in `masked`
("nuclear option", "nuclear medicine", "suicide hotline") are removed before matching, and off-topic
cues (games, film, sport, fusion; title hits double) divide the sum:

    h = Σ sentence weights / (1 + off-topic hits)        relevance = 1 − 0.7^(h / 2)

so relevance reaches 0.3, the default evidence floor, at h = 2: one unambiguous anchor, or an
ambiguous anchor or a theatre in the title, or two such sentences in the body.

Categories are counted in the title (double) and in anchored sentences only, so a category word in
a sentence about something else does not tag the article. Escalation is judged in the same window,
the title and the anchored sentences: (e + 1) / (e + d + 2) for e escalatory and d de-escalatory
matches, 0.5 when neutral. An article whose language the lexicon does not cover gets relevance 0,
no category and a neutral escalation.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from joshua.curate.lexicon import Lexicon
from joshua.language import latin_script

# Relevance = 1 − BASE^(h / ANCHOR_UNIT): at h = ANCHOR_UNIT (one unambiguous anchor) it is 1 − BASE = 0.3.
RELEVANCE_BASE = 0.7
ANCHOR_UNIT = 2.0
STRONG, WEAK = 2.0, 1.0
TITLE_WEIGHT = 2.0
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# A conditional clause ("if troops were sent", "unless Kyiv attacks") describes no event: its words
# do not count toward categories.
_CONDITIONAL = re.compile(r"\b(?:if|unless|should)\b[^,.;:]*")


class Judgement(NamedTuple):
    """What the rules make of one article."""

    relevance: float
    categories: tuple[str, ...]
    escalation: float


_SEPARATOR = r"[\s\-\u2010-\u2014]+"  # between the words of a phrase, as in `lexicon.term_regex`
_WILDCARD = r"\w*"
_END = ""


def trie_pattern(terms: list[str]) -> str:
    """`lexicon.terms_pattern(terms, lowered=True)` with the alternatives folded into a prefix tree.

    Python's regex engine tries the alternatives of a group one by one at every position; folded,
    the first character rules out all but a few branches (about 4× faster on the lexicon's lists).
    """
    root: dict = {}
    for term in terms:
        stem, wildcard = (term[:-1], True) if term.endswith("*") else (term, False)
        atoms = [atom for i, word in enumerate(stem.lower().split()) for atom in ([_SEPARATOR] if i else []) + [re.escape(c) for c in word]]
        node = root
        for atom in [*atoms, *([_WILDCARD] if wildcard else [])]:
            node = node.setdefault(atom, {})
        node[_END] = {}

    def emit(node: dict) -> str:
        # A wildcard ending goes last, so a longer phrase is tried first ("ballistic missile submarine"
        # before "ballistic missile*"), as in the longest-first plain alternation.
        atoms = sorted((atom for atom in node if atom != _END), key=lambda atom: atom == _WILDCARD)
        branches = [atom + emit(node[atom]) for atom in atoms]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 and _END not in node else "(?:" + "|".join(branches) + ")"
        return group + ("?" if _END in node else "")

    return r"\b(?:" + emit(root) + r")\b"


def _compile(terms: list[str]) -> re.Pattern[str]:
    return re.compile(trie_pattern(terms))


@dataclass(frozen=True)
class Rules:
    """The lexicon's term lists compiled for lower-cased text."""

    covered: frozenset[str]
    masked: re.Pattern[str]
    strong: re.Pattern[str]
    weak: re.Pattern[str]
    context: re.Pattern[str]
    theatre: re.Pattern[str]
    rivals: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]
    conflict: re.Pattern[str]
    off_topic: re.Pattern[str]
    anywhere: re.Pattern[str]
    categories: tuple[tuple[str, re.Pattern[str]], ...]
    category_terms: re.Pattern[str]  # every category's terms in one pattern: one pass over the window
    hypothetical: re.Pattern[str]
    min_score: float
    min_single: float
    min_share: float
    escalatory: re.Pattern[str]
    de_escalatory: re.Pattern[str]
    term_categories: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)


def compile_rules(lexicon: Lexicon) -> Rules:
    """Compile a lexicon's relevance, tagging and signal lists once per run."""
    r = lexicon.relevance
    sides = [term for pair in r.rivals for side in pair for term in side]
    return Rules(
        covered=frozenset(lexicon.languages),
        masked=_compile(r.masked),
        strong=_compile(r.anchors),
        weak=_compile(r.contextual),
        context=_compile(r.context),
        theatre=_compile(r.theatres),
        rivals=tuple((_compile(a), _compile(b)) for a, b in r.rivals),
        conflict=_compile(r.conflict),
        off_topic=_compile(r.off_topic),
        anywhere=_compile([*r.anchors, *r.contextual, *r.theatres, *sides]),
        categories=tuple((category.value, _compile(terms)) for category, terms in lexicon.categories.items()),
        category_terms=_compile([term for terms in lexicon.categories.values() for term in terms]),
        min_score=lexicon.tagging.min_score,
        hypothetical=_compile(lexicon.tagging.masked),
        min_single=lexicon.tagging.min_single,
        min_share=lexicon.tagging.min_share,
        escalatory=_compile(lexicon.escalatory),
        de_escalatory=_compile(lexicon.de_escalatory),
    )


def _has_other(pattern: re.Pattern[str], sentence: str, span: tuple[int, int]) -> bool:
    """True when `pattern` matches somewhere in the sentence outside `span`."""
    return any(m.end() <= span[0] or m.start() >= span[1] for m in pattern.finditer(sentence))


def sentence_weight(sentence: str, rules: Rules) -> float:
    """The weight of a sentence's strongest anchor (module docstring), 0 without one."""
    if not rules.anywhere.search(sentence):  # most sentences: one search instead of four
        return 0.0
    if rules.strong.search(sentence):
        return STRONG
    for match in rules.weak.finditer(sentence):
        if _has_other(rules.context, sentence, match.span()):
            return WEAK
    theatres = [m.span() for m in rules.theatre.finditer(sentence)]
    theatres += [m.span() for a, b in rules.rivals if b.search(sentence) for m in a.finditer(sentence)]
    for span in theatres:
        if _has_other(rules.conflict, sentence, span):
            return WEAK
    return 0.0


def is_covered(language: str | None, text: str, covered: frozenset[str]) -> bool:
    """True when the lexicon can judge a text: its language is covered, or unknown and in Latin script."""
    if language is not None:
        return language in covered
    return latin_script(text)


def relevance_of(anchor_weight: float, off_topic: float) -> float:
    """relevance = 1 − 0.7^(h / 2), h = anchor weight / (1 + off-topic hits)."""
    return 1.0 - RELEVANCE_BASE ** (anchor_weight / (1.0 + off_topic) / ANCHOR_UNIT)


def judge(title: str, body: str, language: str | None, rules: Rules) -> Judgement:
    """Relevance, categories and escalation of one article (module docstring)."""
    neutral = Judgement(0.0, (), 0.5)
    if not is_covered(language, f"{title} {body}", rules.covered):
        return neutral
    title_l = rules.masked.sub(" ", title.lower())
    body_l = rules.masked.sub(" ", body.lower())
    if not rules.anywhere.search(title_l) and not rules.anywhere.search(body_l):
        return neutral
    weighed = [(s, sentence_weight(s, rules)) for s in _SENTENCE_END.split(body_l) if s]
    anchored = [sentence for sentence, weight in weighed if weight > 0]
    total = TITLE_WEIGHT * sentence_weight(title_l, rules) + sum(weight for _, weight in weighed)
    if total == 0:
        return neutral
    off_topic = TITLE_WEIGHT * len(rules.off_topic.findall(title_l)) + len(rules.off_topic.findall(body_l))
    relevance = relevance_of(total, off_topic)
    window = [title_l] * int(TITLE_WEIGHT) + anchored
    return Judgement(round(relevance, 6), categories_of(window, rules), escalation_of(window, rules))


def categories_of(window: list[str], rules: Rules) -> tuple[str, ...]:
    """Categories whose count in the window reaches `min_score` and `min_share` of the strongest's.

    When none does, the strongest alone if its count reaches `min_single`.
    """
    text = _CONDITIONAL.sub(" ", rules.hypothetical.sub(" ", " . ".join(window)))
    scores = Counter({name: 0 for name, _ in rules.categories})
    for match in rules.category_terms.findall(text):
        scores.update(categories_of_term(match, rules))
    ((strongest, best),) = scores.most_common(1)
    floor = max(rules.min_score, rules.min_share * best)
    tagged = tuple(name for name, _ in rules.categories if scores[name] >= floor)
    if tagged:
        return tagged
    return (strongest,) if best >= rules.min_single else ()


def categories_of_term(match: str, rules: Rules) -> tuple[str, ...]:
    """The categories whose terms match a matched phrase whole (remembered per phrase)."""
    known = rules.term_categories.get(match)
    if known is None:
        known = rules.term_categories[match] = tuple(name for name, pattern in rules.categories if pattern.fullmatch(match))
    return known


def escalation_of(window: list[str], rules: Rules) -> float:
    """(e + 1) / (e + d + 2) over the window; "de-escalation" does not count as "escalation"."""
    text = re.sub(r"\bde-escalat", "deescalat", " ".join(window))
    escalatory = len(rules.escalatory.findall(text))
    return (escalatory + 1) / (escalatory + len(rules.de_escalatory.findall(text)) + 2)
