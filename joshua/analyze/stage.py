"""The analyze stage's I/O edge: a run's staged articles in, an `Analysis` out.

With the Claude analyzer, any failure that leaves no usable rating (a budget cap, a refusal, an
invalid reply after its one repair, an open circuit) falls back to the heuristic analyzer; the
analysis then says why, and the Claude spend of the attempt stays in the accounting.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from pydantic import BaseModel, SecretStr

from joshua.analyze import AnalyzerSetup
from joshua.analyze.budget import Budget, Usage
from joshua.analyze.cache import ReplyCache
from joshua.analyze.explain import explain_request, explanation_text
from joshua.analyze.heuristic import analyze_heuristic
from joshua.errors import AnalysisError, BudgetExceeded
from joshua.reference import load_reference
from joshua.risk.assess import History
from joshua.settings import AnalyzeSettings, ClaudeSettings
from schemas.records import Analysis

if TYPE_CHECKING:
    from joshua.analyze.claude import ClaudeSession


class ClaudeAccess(BaseModel):
    """What a run brings to a Claude analysis: settings, key, this month's spend, reply cache."""

    settings: ClaudeSettings
    api_key: SecretStr
    month_to_date_usd: float
    cache_dir: Path | None


def open_session(s: ClaudeSettings, api_key: str, month_to_date_usd: float, cache_dir: Path | None) -> ClaudeSession:
    """A run's Claude session: one client (the SDK owns retries), budget, reply cache and breaker.

    The client honours ANTHROPIC_BASE_URL (a gateway, or the tests' local fake) as the SDK does.
    """
    import anthropic  # only runs that use Claude pay for loading the SDK

    from joshua.analyze.claude import CircuitBreaker, ClaudeSession

    client = anthropic.Anthropic(api_key=api_key, max_retries=s.max_retries, timeout=s.timeout_s)
    cache = ReplyCache(cache_dir, s.cache_ttl_hours) if cache_dir else None
    return ClaudeSession(client, s, Budget(s, month_to_date_usd), cache, CircuitBreaker(s.circuit_breaker_failures))


def explain_change(session: ClaudeSession, analysis: Analysis, history: History) -> str | None:
    """A plain account of what moved since the previous assessment, or None without one."""
    if not history.seconds:
        return None
    previous = {category: values[-1] for category, values in history.factor_values.items() if values}
    request = explain_request(session.settings.small_model, previous, analysis.factors, history.seconds[-1])
    return explanation_text(session.reply(request, sample=0)) or None


def analyze_run(
    articles_path: Path,
    as_of: datetime,
    setup: AnalyzerSetup,
    settings: AnalyzeSettings,
    claude: ClaudeAccess | None,
    history: History,
) -> Analysis:
    """Rate the eight categories from a run's articles with the run's analyzer.

    `claude` is what a Claude analysis needs (key, spend so far, cache); None means the heuristic.
    """
    articles = pl.read_parquet(articles_path).filter(pl.col("evidence"))
    reference = load_reference(as_of.date())
    heuristic = analyze_heuristic(articles, settings.reference_volume, settings.evidence_per_factor, reference)
    if setup.name != "claude" or claude is None:
        return heuristic
    from joshua.analyze.claude import analyze_with_claude

    session = open_session(claude.settings, claude.api_key.get_secret_value(), claude.month_to_date_usd, claude.cache_dir)
    try:
        analysis = analyze_with_claude(
            articles, as_of, session, model=setup.model, consensus=setup.consensus, reference=reference
        )
    except (AnalysisError, BudgetExceeded) as exc:
        return accounted(heuristic, session).model_copy(update={"fallback_reason": f"{type(exc).__name__}: {exc}"})
    try:
        explanation = explain_change(session, analysis, history)
    except (AnalysisError, BudgetExceeded) as exc:
        explanation = None
        session.flags.append(f"no change explanation: {exc}")
    return accounted(analysis, session).model_copy(update={"change_explanation": explanation})


def accounted(analysis: Analysis, session: ClaudeSession) -> Analysis:
    """An analysis carrying the session's whole Claude accounting (every call of the run)."""
    usage: Usage = session.budget.usage
    return analysis.model_copy(
        update={
            "tokens_in": usage.input_tokens + usage.cache_write_tokens + usage.cache_read_tokens,
            "tokens_out": usage.output_tokens,
            "cost_usd": float(session.budget.spent),
            "calls": session.budget.calls,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cache_hits": session.cache_hits,
            "flags": [*analysis.flags, *(f for f in session.flags if f not in analysis.flags)],
        }
    )
