from datetime import UTC, datetime

from joshua.report import render_markdown, stage_rows
from joshua.risk.assess import History, build_assessment
from joshua.settings import RiskSettings
from schemas.records import Analysis, Category, ConfidenceLevel, EvidenceRef, FactorRating, SourceOutcome, StageMetrics

RISK = RiskSettings()


def assessment(sample: bool = True):
    factors = [
        FactorRating(
            category=c, name="reporting_signal", value=0.6, confidence=ConfidenceLevel.HIGH, evidence=["a1"], reasoning="r"
        )
        for c in Category
    ]
    analysis = Analysis(analyzer="heuristic", factors=factors, executive_summary="<b>summary</b>", articles_considered=1)
    return build_assessment(
        analysis,
        run_id="20261127T060000Z-abcdef",
        assessed_at=datetime(2026, 11, 27, 6, tzinfo=UTC),
        as_of=datetime(2026, 11, 26, 6, tzinfo=UTC),
        risk=RISK,
        sources_ok=2,
        sources_failed=1,
        history=History(base_scores=[0.6], seconds=[600], confidence_scores=[0.8], trends=["insufficient"], bands=["moderate"]),
        data_label="snapshot 'sample'",
        sample_data=sample,
    )


EVIDENCE = {"a1": EvidenceRef(article_id="a1", source_id="s", title="<script>alert(1)</script> | [x](y)", url="https://x.org/a")}
OUTCOMES = [SourceOutcome(source_id="s", status="ok", items=3), SourceOutcome(source_id="t", status="failed", error="t: HTTP 500")]


def test_report_sections_and_notices():
    markdown = render_markdown(assessment(), EVIDENCE, OUTCOMES, [StageMetrics(stage="collect", seconds=0.5)])
    for heading in ("## Executive summary", "## Risk level", "## Top drivers", "## Categories", "## Sources", "## Methodology"):
        assert heading in markdown
    assert markdown.index("**Sample data.**") < markdown.index("## Executive summary")
    assert "**Offline heuristic analyzer.**" in markdown
    assert "576 seconds to midnight" in markdown and "24 s closer to midnight" in markdown
    assert "t: HTTP 500" in markdown


def test_report_text_from_sources_is_inert():
    markdown = render_markdown(assessment(), EVIDENCE, OUTCOMES, [])
    assert "<script>" not in markdown and "<b>" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\[x\\](y)" in markdown


def test_real_data_report_has_no_sample_notice():
    assert "**Sample data.**" not in render_markdown(assessment(sample=False), EVIDENCE, OUTCOMES, [])


def test_stage_rows():
    rows = stage_rows([StageMetrics(stage="curate", seconds=1.23456, items_in=10, items_out=7)])
    assert rows == [
        {
            "stage": "curate",
            "seconds": 1.235,
            "items_in": 10,
            "items_out": 7,
            "claude_calls": 0,
            "tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "cache_hits": 0,
            "cost_usd": 0.0,
        }
    ]
