"""The assessment flow with the Claude analyzer, against a local Messages API server."""

import duckdb
import pytest

from flows.assessment import assess
from joshua.risk.clock import linear_seconds
from tests.fake_anthropic import FakeAnthropic, error

pytestmark = pytest.mark.usefixtures("prefect_server")
SECRET = "fake-test-key-DO-NOT-LEAK-0123456789"


@pytest.fixture
def fake(monkeypatch):
    with FakeAnthropic() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        yield server


def runs(data_dir):
    with duckdb.connect(str(data_dir / "joshua.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT analyzer, model, claude_calls, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, "
            "claude_cache_hits, cost_usd, fallback_reason FROM runs ORDER BY started_at"
        ).fetchall()


def test_claude_assessment_is_accounted_cached_and_keeps_the_key_secret(fake, data_dir):
    first = assess(data_dir=str(data_dir))
    a = first.assessment
    assert a.analyzer == "claude" and a.model == "claude-sonnet-5-5" and a.analyst_seconds == 300
    # The engine's figure, not Claude's 300: values of 0.6 are above average news (0.5 with no
    # history), so the score is the structural level moved by the whole bound.
    assert a.score == pytest.approx(a.structural_score + 0.05)
    assert a.seconds_linear == linear_seconds(a.score)
    assert a.mapping == "calibrated" and a.seconds_to_midnight == a.seconds_calibrated  # `auto`: the clock meets its targets
    analyzer, model, calls, tokens_in, tokens_out, _, cache_write, hits, cost, fallback = runs(data_dir)[0]
    assert (analyzer, model, calls, hits, fallback) == ("claude", "claude-sonnet-5-5", 1, 0, None)
    usage = fake.usages[0]
    assert tokens_in == usage["input_tokens"] + usage["cache_creation_input_tokens"]
    assert tokens_out == usage["output_tokens"] and cache_write == usage["cache_creation_input_tokens"]
    assert 0 < cost < 0.05

    # The second run's sources have a track record, so their reliability (and with it the evidence
    # offered) may change once: a changed rating request is paid for, an unchanged one comes from the
    # cache; the change explanation is paid for either way. From then on identical inputs give an
    # identical request.
    assess(data_dir=str(data_dir))
    ratings = [request for request in fake.message_requests if "tools" in request]
    changed = ratings[0] != ratings[-1]
    assert runs(data_dir)[1][2] == (2 if changed else 1) and runs(data_dir)[1][7] == (0 if changed else 1)
    requests_before = len(fake.message_requests)
    third = assess(data_dir=str(data_dir))
    assert third.assessment.change_explanation  # the small model explained the (lack of) change
    explain = fake.message_requests[-1]
    assert explain["model"] == "claude-haiku-5-5" and "tools" not in explain
    calls, hits = runs(data_dir)[2][2], runs(data_dir)[2][7]
    assert hits == 1 and calls == 1  # the assessment came from the cache; only the explanation was paid for
    assert len(fake.message_requests) == requests_before + 1

    fourth = assess(data_dir=str(data_dir), use_cache=False, consensus=3)
    assert runs(data_dir)[3][2] == 4  # three fresh samples and one explanation
    assert fourth.assessment.analyzer == "claude"

    leaked = [p for p in data_dir.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []


def test_claude_failure_falls_back_to_the_heuristic_and_says_why(fake, data_dir):
    fake.queue(*[error(500, "api_error", {"retry-after-ms": "10"})] * 10)
    summary = assess(data_dir=str(data_dir))
    assert summary.assessment.analyzer == "heuristic"
    assert "InternalServerError" in summary.fallback_reason
    analyzer, _, calls, *_, fallback = runs(data_dir)[0]
    assert analyzer == "heuristic" and calls == 0 and "InternalServerError" in fallback
    report = (data_dir / "reports" / f"{summary.run_id}.md").read_text()
    assert "Offline heuristic analyzer" in report


def test_budget_cap_falls_back_before_any_call(fake, data_dir, monkeypatch):
    monkeypatch.setenv("JOSHUA_CLAUDE__MAX_USD_PER_RUN", "0.0001")
    summary = assess(data_dir=str(data_dir))
    assert summary.assessment.analyzer == "heuristic" and "BudgetExceeded" in summary.fallback_reason
    assert fake.message_requests == []


def test_key_from_a_prefect_secret_block(data_dir, monkeypatch):
    from prefect.blocks.system import Secret

    with FakeAnthropic() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        Secret(value=SECRET).save("joshua-test-anthropic", overwrite=True)
        monkeypatch.setenv("JOSHUA_CLAUDE__SECRET_BLOCK", "joshua-test-anthropic")
        summary = assess(data_dir=str(data_dir))
        assert summary.assessment.analyzer == "claude"
        assert server.requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
