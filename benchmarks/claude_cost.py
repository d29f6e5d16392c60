"""Tokens and dollars of a Claude assessment of the bundled sample, at consensus 1 and 3.

    .venv/bin/python benchmarks/claude_cost.py

Runs the real analyzer with default settings (joshua.toml) through the real SDK against the local
fake Messages API of the tests, whose `usage` mirrors the real request sizes (about four
characters a token) and simulates prompt caching of the system prompt and tools. Costs come from
the price table. A rerun within the cache TTL is shown to cost nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from joshua.analyze.claude import analyze_with_claude  # noqa: E402
from joshua.analyze.stage import open_session  # noqa: E402
from joshua.settings import load_settings  # noqa: E402
from joshua.simulate import sample_articles  # noqa: E402
from tests.fake_anthropic import FakeAnthropic  # noqa: E402


def main() -> None:
    settings = load_settings()
    articles, as_of = sample_articles(settings)
    claude = settings.claude
    print(f"model {claude.model}; prices per MTok {claude.price(claude.model)}")
    print(f"{'run':<30} {'calls':>5} {'input':>7} {'cache write':>11} {'cache read':>10} {'output':>6} {'cost $':>8}")
    with tempfile.TemporaryDirectory() as scratch:
        # Each scenario starts cold (empty reply cache, empty prompt cache) except the rerun,
        # which reuses the consensus-1 reply cache within its TTL.
        runs = (("consensus 1", 1, "c1"), ("consensus 3", 3, "c3"), ("consensus 1, rerun within TTL", 1, "c1"))
        for label, consensus, cache_name in runs:
            with FakeAnthropic() as fake:
                os.environ["ANTHROPIC_BASE_URL"] = fake.base_url  # the SDK finds the local fake as it would a gateway
                session = open_session(claude, "sk-fake", 0.0, Path(scratch) / cache_name)
                analyze_with_claude(
                    articles,
                    as_of,
                    session,
                    model=claude.model,
                    consensus=consensus,
                )
            u = session.budget.usage
            print(
                f"{label:<30} {session.budget.calls:>5} {u.input_tokens:>7} {u.cache_write_tokens:>11} "
                f"{u.cache_read_tokens:>10} {u.output_tokens:>6} {float(session.budget.spent):>8.4f}"
            )

if __name__ == "__main__":
    main()
