"""The change explanation: a few plain sentences, from the small model, on what moved since last time.

Only numbers go into this prompt (category values before and after), never article text, so there
is nothing in it for an injected instruction to hide in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schemas.records import FactorRating

EXPLAIN_MAX_TOKENS = 300
EXPLAIN_SYSTEM = (
    "You explain changes in a nuclear-risk monitor's category ratings (0 none, 0.25 peacetime, 0.5 elevated, "
    "0.75 crisis, 1 imminent) to a general reader in at most three plain sentences. Mention the largest moves "
    "first. Do not speculate beyond the numbers given."
)


def explain_request(
    model: str, previous: Mapping[str, float], current: Sequence[FactorRating], previous_seconds: int
) -> dict:
    """The Messages API request for a change explanation (pure)."""
    lines = [
        f"- {r.category.value}: {previous[r.category.value]:.2f} → {r.value:.2f}"
        for r in sorted(current, key=lambda r: abs(r.value - previous.get(r.category.value, r.value)), reverse=True)
        if r.category.value in previous
    ]
    text = (
        f"Previous assessment: {previous_seconds} seconds to midnight. Category values, previous → now:\n"
        + "\n".join(lines)
    )
    return {
        "model": model,
        "max_tokens": EXPLAIN_MAX_TOKENS,
        "system": EXPLAIN_SYSTEM,
        "messages": [{"role": "user", "content": text}],
    }


def explanation_text(reply: dict) -> str:
    """The text of an explanation reply (empty when there is none)."""
    return " ".join(b.get("text", "") for b in reply.get("content", []) if b.get("type") == "text").strip()
