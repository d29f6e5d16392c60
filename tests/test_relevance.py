import polars as pl
import pytest

from joshua.curate.evaluate import evaluate, load_labelled
from joshua.curate.lexicon import load_lexicon
from joshua.curate.pipeline import with_lexicon
from joshua.curate.relevance import compile_rules, is_covered, judge, relevance_of
from joshua.settings import PROJECT_ROOT

LEXICON = load_lexicon(PROJECT_ROOT / "data" / "lexicon.toml")
RULES = compile_rules(LEXICON)
FLOOR = 0.3
LABELLED = PROJECT_ROOT / "tests" / "data" / "relevance_eval.tsv"


def relevant(title: str, body: str = "", language: str | None = "en") -> bool:
    return judge(title, body, language, RULES).relevance >= FLOOR


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("988 Suicide and Crisis Lifeline grant program", "Funding to expand crisis hotline capacity in states."),
        ("Seven AI companies agree to safeguards at White House", "Firms pledged to test systems before release."),
        ("Senate Republicans invoke 'nuclear option' to confirm nominees", "The rule change ends the filibuster."),
        ("Certain Welded Line Pipe From India and Taiwan: Antidumping Duty Order", "Commerce determines sales below normal value."),
        ("Call of Duty review: a campaign of stolen missiles", "Players stop a plot; multiplayer remains strong."),
        ("Westinghouse to build reactors in Poland", "The nuclear power plant will supply clean electricity from 2036."),
        ("Hospital opens nuclear medicine unit", "Patients can get PET scans locally."),
        ("Fusion start-up raises $800m", "Investors back its plan for a fusion power plant."),
        ("Political fallout from the budget leak", "Opposition parties demanded an inquiry."),
        ("Arsenal beat Chelsea", "Saka fired a missile of a shot past the keeper."),
        ("India beat Pakistan in Asia Cup cricket clash", "The match in Dubai was overshadowed by a handshake row."),
        ("Migrants crossing the Channel hit a record", "Ministers promised tougher enforcement at the border."),
    ],
    ids=["hotline", "ai-safeguards", "senate-nuclear-option", "trade-remedy", "game-review", "civil-reactor",
         "nuclear-medicine", "fusion-funding", "fallout", "football", "cricket-clash", "migration"],
)  # fmt: skip
def test_hard_negatives_sharing_vocabulary_are_not_relevant(title, body):
    assert not relevant(title, body)


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Fighting escalates in Yemen as US strikes Houthi missile sites", "Iran condemned the strikes."),
        ("North Korea fires ballistic missile into the sea", ""),
        ("Shelling near Zaporizhzhia nuclear plant, IAEA warns", "Russian forces and Ukraine traded blame."),
        ("India and Pakistan exchange drone strikes across the border", "Both sides reported casualties."),
        ("New START expires with no replacement", "The last treaty limiting the two arsenals lapsed."),
    ],
)
def test_anchored_reporting_is_relevant(title, body):
    assert relevant(title, body)


def test_an_ambiguous_term_needs_a_context_word_in_its_sentence():
    assert not relevant("Company news", "The reactor restart was approved. Troops paraded in the capital on Sunday.")
    assert not relevant("Company news", "The reactor was hit by drone strikes, officials said.")  # one body sentence: h = 1
    assert relevant("Company news", "The reactor was hit by drone strikes. Another drone struck the reactor building.")


def test_a_theatre_needs_a_conflict_term_and_the_title_counts_double():
    assert not relevant("Taiwan's TSMC posts record profit", "China and Taiwan trade grew.")
    assert relevant("China holds drills near Taiwan", "")
    body_once = judge("Weekly digest", "Russian troops advanced near Kyiv.", "en", RULES).relevance
    title_once = judge("Russian troops advance near Kyiv", "", "en", RULES).relevance
    assert body_once < FLOOR <= title_once


def test_off_topic_cues_divide_the_anchor_weight():
    game = judge("DEFCON remastered brings nuclear war strategy to consoles", "Launch ICBMs in the classic game.", "en", RULES)
    assert game.relevance < FLOOR
    assert relevance_of(2.0, 0) == pytest.approx(0.3) and relevance_of(4.0, 1) == pytest.approx(0.3)


def test_categories_count_only_in_anchored_sentences():
    judged = judge(
        "Russia test-fires Sarmat ICBM",
        "The missile hit its target in Kamchatka. Separately, the central bank raised rates and oil exports rose.",
        "en",
        RULES,
    )
    assert judged.categories == ("nuclear_arsenal",)


def test_a_conditional_clause_is_no_conflict_event():
    judged = judge("Medvedev: nuclear response possible if Ukraine attacks Crimea", "", "en", RULES)
    assert "regional_conflict" not in judged.categories


def test_escalation_is_judged_in_the_window_around_the_anchor():
    calm = "North Korea and the US agreed to resume denuclearisation talks."
    noisy_elsewhere = calm + " In other news, a strike threatened to halt trains and the storm escalated."
    assert judge("Talks", calm, "en", RULES).escalation == judge("Talks", noisy_elsewhere, "en", RULES).escalation < 0.5


def test_languages_the_lexicon_does_not_cover_are_never_relevant():
    assert LEXICON.languages == ["en"]
    assert not relevant("ICBM", "Russland testet eine ICBM und droht mit Atomkrieg.", "de")
    assert is_covered(None, "North Korea fires a missile", RULES.covered)
    assert not is_covered(None, "परमाणु परीक्षण पर रूस का बयान", RULES.covered)


def test_curation_judges_like_the_rules():
    frame = pl.LazyFrame(
        {"title": ["ICBM test", "Football"], "body": ["North Korea fired an ICBM.", "A draw."], "language": ["en-GB", "English"]}
    )
    out = with_lexicon(frame, LEXICON).collect()
    assert out["relevance"].to_list() == [judge("ICBM test", "North Korea fired an ICBM.", "en", RULES).relevance, 0.0]
    assert out["language"].to_list() == ["en", "en"]


def test_labelled_set_meets_the_targets():
    labelled = load_labelled(LABELLED)
    assert labelled.height >= 500
    counts = labelled.explode("categories")["categories"].value_counts()
    assert counts.filter(pl.col("categories").is_not_null())["count"].min() >= 25
    predicted = with_lexicon(labelled.select("id", "title", body="text", language="lang").lazy(), LEXICON).collect()
    evaluation = evaluate(labelled, predicted.select("id", "relevance", "categories"), LEXICON.languages, FLOOR)
    assert evaluation.relevance.f1 >= 0.9
    assert evaluation.relevance.precision >= 0.95 and evaluation.relevance.recall >= 0.9
    assert {name: s.precision for name, s in evaluation.tags.items() if s.precision < 0.85} == {}


def test_the_prefix_tree_pattern_matches_like_the_plain_alternation():
    import re

    from joshua.curate.lexicon import terms_pattern
    from joshua.curate.relevance import trie_pattern

    texts = [f"{row['title']} {row['text']}".lower() for row in load_labelled(LABELLED).iter_rows(named=True)]
    lists = [LEXICON.relevance.anchors, LEXICON.relevance.conflict, *LEXICON.categories.values(), LEXICON.escalatory]
    for terms in lists:
        plain, folded = re.compile(terms_pattern(terms, lowered=True)), re.compile(trie_pattern(terms))
        assert [plain.findall(text) for text in texts] == [folded.findall(text) for text in texts]


def test_a_mixed_real_shaped_snapshot_cites_only_evidence_a_reader_would_accept():
    """data/snapshots/mixed-2025: nuclear-relevant news of October 2025 among hard negatives, ordinary
    news and non-English items; tests/data/mixed_2025_labels.tsv names the categories each item may
    be cited for ("-": never evidence)."""
    import csv

    from joshua.analyze.heuristic import analyze_heuristic
    from joshua.collect.collector import collect_sample_items
    from joshua.collect.snapshot import load_snapshot
    from joshua.curate.pipeline import canonical_url, curate
    from joshua.settings import load_settings
    from joshua.sources import load_sources

    settings = load_settings()
    snapshot = load_snapshot(PROJECT_ROOT / "data" / "snapshots" / "mixed-2025")
    sources = load_sources(settings.sources_file)
    raw = collect_sample_items(snapshot, sources, LEXICON.keywords, settings.collect)
    reliability = pl.LazyFrame({"source_id": [s.id for s in sources], "reliability": [s.reliability for s in sources]})
    articles = curate(
        raw.lazy(), reliability, LEXICON, run_id="r", as_of=snapshot.info.recorded_at, min_relevance=FLOOR, simhash_threshold=0.85
    ).collect()
    with (PROJECT_ROOT / "tests" / "data" / "mixed_2025_labels.tsv").open(encoding="utf-8") as handle:
        accepted = {canonical_url(row["url"]): set(row["accepted"].split(",")) - {"-"} for row in csv.DictReader(handle, delimiter="\t")}
    assert articles.height == len(accepted) == 36
    url_of = dict(zip(articles["article_id"], articles["canonical_url"], strict=True))
    evidence = articles.filter(pl.col("evidence"))
    assert {url_of[a] for a in evidence["article_id"]} <= {url for url, categories in accepted.items() if categories}
    assert evidence.filter(pl.col("language") != "en").height == 0
    analysis = analyze_heuristic(evidence, settings.analyze.reference_volume, settings.analyze.evidence_per_factor)
    cited = [(factor.category.value, url_of[a]) for factor in analysis.factors for a in factor.evidence]
    assert len(cited) >= 10
    assert [(category, url) for category, url in cited if category not in accepted[url]] == []
    recall = len(evidence) / sum(1 for categories in accepted.values() if categories)
    assert recall >= 0.8
