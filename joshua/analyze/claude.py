"""The Claude analyzer: evidence under a budget → one tool call → a validated, cited rating.

Three parts, as the house style asks: `build_request` (pure), `call_claude` (the only I/O) and
`parse_reply` (pure, validated). Retries of 429/529/5xx/timeouts belong to the SDK (`max_retries`
in joshua.toml, DESIGN decision 10); on top of them a per-run circuit breaker stops calling after
repeated failures, and a reply that breaks the contract gets one repair attempt at most.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anthropic
import polars as pl
from pydantic import ValidationError

from joshua.analyze.budget import Budget, Usage
from joshua.analyze.cache import ReplyCache, cache_key
from joshua.analyze.evidence import EvidenceItem, estimate_tokens, select_evidence
from joshua.analyze.prompt import evidence_block, system_blocks
from joshua.reference import ReferenceSignals
from joshua.errors import (
    AnalysisError,
    BudgetExceeded,
    CircuitOpen,
    ClaudeRefused,
    ClaudeUnavailable,
    InvalidReply,
    NoEvidence,
)
from joshua.settings import ClaudeSettings
from schemas.claude import SCHEMA_VERSION, TOOL_NAME, ClaudeAssessment, tool_definition
from schemas.records import Analysis, Category, ConfidenceLevel, FactorRating

LEVELS = list(ConfidenceLevel)
# Consensus spread (max − min of a category's values across samples) that costs a confidence level.
SPREAD_PER_LEVEL = 0.1


def build_request(
    model: str, evidence: Sequence[EvidenceItem], settings: ClaudeSettings, reference: ReferenceSignals | None = None
) -> dict[str, Any]:
    """The Messages API request for a set of evidence (pure; also the basis of the cache key)."""
    # Current models refuse forced tool choice and sampling parameters (HTTP 400), so the tool is
    # offered with "auto" and the prompt requires it; a reply without the call is repaired once.
    return {
        "model": model,
        "max_tokens": settings.max_tokens,
        "system": system_blocks(reference),
        "tools": [tool_definition()],
        "tool_choice": {"type": "auto"},
        "messages": [{"role": "user", "content": evidence_block(evidence)}],
    }


def with_repair_note(request: dict[str, Any], problem: str) -> dict[str, Any]:
    """The request again, with a note on what was wrong with the previous reply."""
    note = (
        f"\n\nYour previous reply could not be used: {problem[:500]}. Call {TOOL_NAME} again with input that "
        "follows the schema exactly; keep each reasoning under two sentences."
    )
    messages = [{"role": "user", "content": request["messages"][0]["content"] + note}]
    return {**request, "messages": messages}


def call_claude(client: anthropic.Anthropic, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request; the reply as plain JSON data."""
    return client.messages.create(**request).model_dump(mode="json")


def usage_of(reply: dict[str, Any]) -> Usage:
    """The token usage a reply reports."""
    usage = reply.get("usage") or {}
    return Usage(
        input_tokens=usage.get("input_tokens") or 0,
        output_tokens=usage.get("output_tokens") or 0,
        cache_write_tokens=usage.get("cache_creation_input_tokens") or 0,
        cache_read_tokens=usage.get("cache_read_input_tokens") or 0,
    )


@dataclass
class ParsedReply:
    """A valid reply, its citations mapped to article ids, and what was wrong with them."""

    assessment: ClaudeAssessment
    evidence: dict[Category, list[str]]
    flags: list[str] = field(default_factory=list)


def lowered(level: ConfidenceLevel, steps: int = 1) -> ConfidenceLevel:
    """A confidence level `steps` below another (never below VeryLow)."""
    return LEVELS[max(0, LEVELS.index(level) - steps)]


def parse_reply(reply: dict[str, Any], refs: dict[str, str]) -> ParsedReply:
    """Validate a reply against the contract; `refs` maps evidence refs (A01…) to article ids.

    A refusal is ClaudeRefused; a `max_tokens` stop, a missing tool call or input that breaks
    the schema is an InvalidReply, which one more attempt may fix. A citation of an unknown ref is
    dropped and flagged; a rating left without a known citation is flagged and its confidence
    lowered one level.
    """
    stop = reply.get("stop_reason")
    if stop == "refusal":
        raise ClaudeRefused("Claude declined to answer (stop_reason refusal)")
    if stop == "max_tokens":
        raise InvalidReply("the reply was cut off at max_tokens")
    calls = [b for b in reply.get("content", []) if b.get("type") == "tool_use" and b.get("name") == TOOL_NAME]
    if not calls:
        raise InvalidReply(f"no {TOOL_NAME} tool call in the reply (stop_reason {stop})")
    try:
        assessment = ClaudeAssessment.model_validate(calls[0].get("input"))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:6])
        raise InvalidReply(f"the tool input broke the schema: {problems}") from exc
    flags, evidence, factors = [], {}, []
    for factor in assessment.factors:
        known = [refs[ref] for ref in factor.evidence if ref in refs]
        unknown = [ref for ref in factor.evidence if ref not in refs]
        if unknown:
            flags.append(f"{factor.category.value}: cited unknown articles {unknown}")
        if not known:
            flags.append(f"{factor.category.value}: no citation of the evidence; confidence lowered")
            factor = factor.model_copy(update={"confidence": lowered(factor.confidence)})
        evidence[factor.category] = known
        factors.append(factor)
    return ParsedReply(assessment.model_copy(update={"factors": factors}), evidence, flags)


class CircuitBreaker:
    """Stops a run's calls after `limit` failed calls (the SDK has already retried each)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.failures = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.failures >= self.limit:
            raise CircuitOpen(f"Claude circuit open after {self.failures} failed calls this run")

    def failed(self) -> None:
        with self._lock:
            self.failures += 1


@dataclass
class ClaudeSession:
    """What every call of one run shares: client, settings, budget, cache and breaker."""

    client: anthropic.Anthropic
    settings: ClaudeSettings
    budget: Budget
    cache: ReplyCache | None
    breaker: CircuitBreaker
    cache_hits: int = 0
    flags: list[str] = field(default_factory=list)

    def reply(self, request: dict[str, Any], sample: int) -> dict[str, Any]:
        """A reply from the cache, or from Claude within the budget and the breaker."""
        key = cache_key({**request, "schema_version": SCHEMA_VERSION}, sample)
        cached = self.cache.get(key) if self.cache else None
        if cached is not None:
            self.cache_hits += 1
            return cached
        self.breaker.check()
        model = request["model"]
        self.budget.check(model, self.input_tokens(request), request["max_tokens"])
        try:
            reply = call_claude(self.client, request)
        except (anthropic.APIError, json.JSONDecodeError) as exc:  # the SDK lets a non-JSON body through raw
            self.breaker.failed()
            raise ClaudeUnavailable(f"Claude call failed: {type(exc).__name__}: {exc}") from exc
        self.budget.charge(model, usage_of(reply))
        return reply

    def remember(self, request: dict[str, Any], sample: int, reply: dict[str, Any]) -> None:
        """Cache a reply that passed validation."""
        if self.cache:
            self.cache.put(cache_key({**request, "schema_version": SCHEMA_VERSION}, sample), reply)

    def input_tokens(self, request: dict[str, Any]) -> int:
        """Input tokens of a request: counted by the API when enabled, else estimated."""
        prompt = {k: request[k] for k in ("system", "tools", "messages") if k in request}
        if self.settings.count_tokens:
            return self.client.messages.count_tokens(model=request["model"], **prompt).input_tokens
        return estimate_tokens(json.dumps(prompt))


def sample(session: ClaudeSession, request: dict[str, Any], refs: dict[str, str], number: int) -> ParsedReply:
    """One consensus sample: a reply, validated, with one repair attempt if it broke the contract."""
    reply = session.reply(request, number)
    try:
        parsed = parse_reply(reply, refs)
    except InvalidReply as problem:
        reply = session.reply(with_repair_note(request, str(problem)), number)
        parsed = parse_reply(reply, refs)  # a second failure is final
    session.remember(request, number, reply)  # only valid replies are cached
    return parsed


def combine(samples: Sequence[ParsedReply], requested: int) -> tuple[list[FactorRating], int, float]:
    """Consensus: mean values, combined citations, confidence lowered by spread; median seconds.

    Returns the ratings, the median analyst seconds and the agreement (1 − mean spread).
    """
    ratings, spreads = [], []
    for category in Category:
        factors = [next(f for f in s.assessment.factors if f.category == category) for s in samples]
        values = [f.value for f in factors]
        spread = max(values) - min(values)
        spreads.append(spread)
        base_level = min((f.confidence for f in factors), key=LEVELS.index)
        cited = Counter(article for s in samples for article in s.evidence[category])
        note = f" (mean of {len(samples)} samples; spread {spread:.2f})" if len(samples) > 1 else ""
        ratings.append(
            FactorRating(
                category=category,
                name="analyst_rating",
                value=round(statistics.fmean(values), 4),
                confidence=lowered(base_level, int(spread // SPREAD_PER_LEVEL)),
                evidence=[article for article, _ in cited.most_common(8)],
                reasoning=factors[0].reasoning + note,
            )
        )
    seconds = int(statistics.median(s.assessment.analyst_seconds for s in samples))
    return ratings, seconds, max(0.0, 1.0 - statistics.fmean(spreads))


def analyze_with_claude(
    articles: pl.DataFrame,
    as_of: datetime,
    session: ClaudeSession,
    *,
    model: str,
    consensus: int,
    reference: ReferenceSignals | None = None,
) -> Analysis:
    """Rate the eight categories with Claude; AnalysisError or BudgetExceeded when it cannot."""
    s = session.settings
    overhead = estimate_tokens(json.dumps({"system": system_blocks(reference), "tools": [tool_definition()]}))
    evidence = select_evidence(
        articles,
        as_of,
        per_category=s.evidence_per_category,
        snippet_chars=s.snippet_chars,
        token_budget=s.max_input_tokens - overhead - 200,
    )
    if not evidence:
        raise NoEvidence("no article is relevant enough to offer Claude as evidence")
    refs = {item.ref: item.article_id for item in evidence}
    request = build_request(model, evidence, s, reference)
    with ThreadPoolExecutor(max_workers=consensus) as pool:
        futures = [pool.submit(sample, session, request, refs, number) for number in range(consensus)]
    outcomes, failures = [], []
    for future in futures:
        try:
            outcomes.append(future.result())
        except (AnalysisError, BudgetExceeded) as exc:
            failures.append(exc)
    if not outcomes or (consensus > 1 and len(outcomes) < 2):
        raise failures[0]
    ratings, seconds, agreement = combine(outcomes, consensus)
    summary = outcomes[0].assessment.executive_summary
    if consensus > 1:
        summary += f" (Consensus of {len(outcomes)} of {consensus} samples; agreement {agreement:.2f}.)"
    return Analysis(
        analyzer="claude",
        model=model,
        factors=ratings,
        executive_summary=summary,
        articles_considered=len(evidence),
        analyst_seconds=seconds,
        flags=[flag for outcome in outcomes for flag in outcome.flags] + [str(f) for f in failures],
        agreement=agreement if consensus > 1 else None,
    )
