import json
from datetime import UTC, datetime, timedelta

import pytest

from joshua.reporting.clock import clock_ascii, clock_svg, hand_angle
from joshua.reporting.data import HistoryPoint, ReportData, point_of
from joshua.reporting.html import render_html
from joshua.reporting.markdown import render_markdown, summary_markdown
from joshua.reporting.text import stage_rows
from joshua.reporting.write import write_report
from joshua.risk.assess import History, build_assessment
from joshua.settings import RiskSettings
from schemas.records import (
    Analysis,
    Category,
    ConfidenceLevel,
    EvidenceRef,
    FactorRating,
    SourceOutcome,
    StageMetrics,
)

RISK = RiskSettings(mc_iterations=2_000, escalation_runs=2_000)
HOSTILE = '<script>alert("x")</script> | [click](javascript:alert(1))'


def assessment(sample: bool = True, analyzer: str = "heuristic"):
    factors = [
        FactorRating(
            category=c, name="reporting_signal", value=0.6, confidence=ConfidenceLevel.HIGH, evidence=["a1"],
            reasoning=f"reasoning with {HOSTILE}",
        )
        for c in Category
    ]
    analysis = Analysis(analyzer=analyzer, factors=factors, executive_summary=f"summary {HOSTILE}", articles_considered=1)
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


def report_data(sample: bool = True, analyzer: str = "heuristic") -> ReportData:
    a = assessment(sample, analyzer)
    earlier = [
        HistoryPoint(assessed_at=a.assessed_at - timedelta(days=d), seconds=600 + d, categories={"economic": 0.5})
        for d in (100, 40, 20, 1)
    ]
    return ReportData(
        assessment=a,
        evidence={"a1": EvidenceRef(article_id="a1", source_id="s", title=HOSTILE, url="https://x.org/a")},
        sources=[SourceOutcome(source_id="s", status="ok", items=3), SourceOutcome(source_id="t", status="failed", error=f"t: HTTP 500 {HOSTILE}")],
        stages=[StageMetrics(stage="collect", seconds=0.5, items_in=2, items_out=3)],
        history=[*earlier, point_of(a)],
        considered={"economic": 7, "regional_conflict": 12},
    )


def test_reports_list_articles_considered_and_cited_per_category():
    data = report_data()
    markdown = render_markdown(data)
    assert "| Category | Weight | Score | Contribution | Trend | Articles considered | Cited |" in markdown
    assert "| Economic | 0.05 | 0.60 |" in markdown and "| 7 | 1 |" in markdown and "| 12 | 1 |" in markdown
    assert "| 0 | 1 |" in markdown  # a category with no article of the run
    html = render_html(data, charts={})
    assert '<td class="num">12</td><td class="num">1</td>' in html


def test_markdown_sections_in_the_spec_order():
    markdown = render_markdown(report_data(), chart_dir="run")
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Executive summary",
        "## Risk level",
        "## Top risk factors",
        "## Categories",
        "## Detailed analysis",
        "## Recommendations",
        "## Appendix A: data sources",
        "## Appendix B: methodology",
        "## Appendix C: historical comparison",
        "## Appendix D: statistics",
    ]
    assert markdown.index("**Sample data.") < markdown.index("## Executive summary")
    assert "**Offline heuristic analyzer." in markdown
    assert "576 seconds to midnight" in markdown and "24 s closer to midnight" in markdown
    assert "30-day average: 599 s" in markdown  # 576 now, 601 a day back, 620 twenty days back
    assert "![Risk over time](run/risk_over_time.svg)" in markdown and "![Doomsday Clock](run/clock.svg)" in markdown


def test_markdown_makes_source_text_inert():
    markdown = render_markdown(report_data())
    assert "<script>" not in markdown and "[click](" not in markdown  # escaped brackets form no link
    assert "&lt;script&gt;" in markdown


def test_html_escapes_source_text_and_is_self_contained():
    html = render_html(report_data(), charts={name: "<svg></svg>" for name in
                                              ("risk_over_time", "top_factors", "category_breakdown", "category_heatmap", "monte_carlo")})
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'href="javascript' not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "<link" not in html and "src=" not in html  # nothing fetched from anywhere
    assert html.count("<svg") >= 6  # the clock and five charts, inline


def test_real_data_from_claude_has_no_notices():
    markdown = render_markdown(report_data(sample=False, analyzer="claude"))
    assert "Sample data" not in markdown and "heuristic analyzer" not in markdown


def test_summary_carries_the_clock():
    summary = summary_markdown(report_data())
    assert summary.startswith("# 576 seconds to midnight") and "```" in summary and "V" in summary


@pytest.mark.parametrize(("seconds", "angle"), [(0, 0.0), (900, 270.0), (89, 351.1), (3600, 0.0)])
def test_the_minute_hand_stands_before_midnight(seconds, angle):
    assert hand_angle(seconds) % 360 == pytest.approx(angle, abs=0.01)


def test_clock_svg_and_ascii():
    svg = clock_svg(89, "critical")
    assert "89 seconds to midnight" in svg and "#b00020" in svg and 'data-angle="351.10"' in svg
    ascii_clock = clock_ascii(89, "critical")
    assert "1:29 before midnight" in ascii_clock and "CRITICAL" in ascii_clock


def test_write_report_in_three_formats(tmp_path):
    data = report_data()
    paths = write_report(data, tmp_path, RISK)
    assert set(paths) == {"md", "html", "json"}
    charts = sorted(p.name for p in (tmp_path / data.assessment.run_id).iterdir())
    assert charts == ["category_breakdown.svg", "category_heatmap.svg", "clock.svg", "monte_carlo.svg", "risk_over_time.svg", "top_factors.svg"]
    assert all((tmp_path / data.assessment.run_id / c).read_text().startswith("<svg") for c in charts)
    back = ReportData.model_validate(json.loads(paths["json"].read_text()))
    assert back.assessment == data.assessment


def test_stage_rows():
    rows = stage_rows([StageMetrics(stage="curate", seconds=1.23456, items_in=10, items_out=7)])
    assert rows[0]["seconds"] == 1.235 and rows[0]["items_in"] == 10 and rows[0]["cost_usd"] == 0.0


def test_charts_are_well_formed_svg_with_data_text_escaped():
    from xml.etree import ElementTree

    from joshua.reporting.charts import all_charts

    data = report_data()
    hostile_point = data.history[0].model_copy(update={"categories": {HOSTILE: 0.7}})
    charts = all_charts(data.model_copy(update={"history": [hostile_point, *data.history[1:]]}), RISK)
    assert sorted(charts) == ["category_breakdown", "category_heatmap", "monte_carlo", "risk_over_time", "top_factors"]
    for name, svg in charts.items():
        root = ElementTree.fromstring(svg)  # parses: every data text is escaped
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert "<script" not in svg
    heatmap = ElementTree.fromstring(charts["category_heatmap"])
    labels = [t.text for t in heatmap.iter("{http://www.w3.org/2000/svg}text")]
    assert HOSTILE in labels and "economic" in labels
    bars = [r for r in ElementTree.fromstring(charts["top_factors"]).iter("{http://www.w3.org/2000/svg}rect")]
    assert len(bars) == 1 + len(Category)  # the background and one bar per factor


def test_long_timelines_are_drawn_as_weekly_means():
    from joshua.reporting.charts import risk_over_time

    data = report_data()
    start = data.assessment.assessed_at - timedelta(days=700)
    history = [HistoryPoint(assessed_at=start + timedelta(days=n), seconds=600 + n % 7) for n in range(700)]
    svg = risk_over_time(data.model_copy(update={"history": history}))
    polyline = svg.split("<polyline points=\"", 1)[1].split('"', 1)[0]
    assert 95 <= len(polyline.split()) <= 105  # 700 days: about a hundred weeks


def test_nice_ticks_and_heat_colours():
    from joshua.reporting.charts import heat_colour, nice_ticks

    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(512, 688) == [550, 600, 650]
    assert nice_ticks(3, 3) == [3]
    assert heat_colour(0) == "#fff5eb" and heat_colour(1) == "#a63603" and heat_colour(7) == heat_colour(1)


def test_considered_counts_evidence_articles_per_category(tmp_path):
    import polars as pl

    from joshua.reporting.data import load_considered

    path = tmp_path / "articles.parquet"
    pl.DataFrame(
        {
            "article_id": ["a", "b", "c", "d"],
            "evidence": [True, True, False, True],
            "categories": [["economic", "regional_conflict"], ["economic"], ["economic"], []],
        }
    ).write_parquet(path)
    assert load_considered(path) == {"economic": 2, "regional_conflict": 1}


def test_a_long_category_heatmap_is_drawn_as_weekly_means():
    from joshua.reporting.charts import category_heatmap

    data = report_data()
    start = data.assessment.assessed_at - timedelta(days=365)
    values = {category.value: 0.5 for category in Category}
    history = [HistoryPoint(assessed_at=start + timedelta(days=n), seconds=600, categories=values) for n in range(365)]
    svg = category_heatmap(data.model_copy(update={"history": history}))  # 2,920 points: more than MAX_POINTS
    assert 50 * len(Category) <= svg.count("<rect") <= 60 * len(Category) + 1


def test_the_clock_history_says_which_readings_are_in_sample_and_which_out_of_sample():
    from joshua.reporting.charts import all_charts
    from joshua.reporting.data import CalibrationRow, YearReading

    data = report_data().model_copy(
        update={
            "reconstruction": [
                YearReading(year=y, seconds_calibrated=400, seconds_linear=700, p_nuclear_use_365d=0.004) for y in (1962, 1963)
            ],
            "calibration": [
                CalibrationRow(year=1963, bulletin_seconds=720, loo_seconds=400, fitted_seconds=410),
                CalibrationRow(year=2026, bulletin_seconds=85, loo_seconds=75, fitted_seconds=80),
            ],
        }
    )
    svg = all_charts(data, RiskSettings())["clock_history"]
    assert "reconstruction, calibrated (in sample)" in svg and "leave-one-out (out of sample)" in svg
    markdown = render_markdown(data, chart_dir="charts")
    assert "calibrated seconds are in sample" in markdown and "mean absolute error 165.0 s over 2 settings" in markdown
    html = render_html(data, charts={"clock_history": svg})
    assert "Only the leave-one-out predictions (circles) are out of sample" in html
    linear_only = data.model_copy(
        update={
            "reconstruction": [YearReading(year=1962, seconds_calibrated=None, seconds_linear=700, p_nuclear_use_365d=0.004)]
        }
    )
    assert "reconstruction, linear mapping" in all_charts(linear_only, RiskSettings())["clock_history"]
