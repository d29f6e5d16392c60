"""The analyze task."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from joshua.analyze import AnalyzerSetup
from joshua.analyze.stage import ClaudeAccess, analyze_run
from joshua.curate.stage import CurateResult
from joshua.risk.assess import History
from joshua.run import RunContext
from joshua.settings import Settings
from joshua.store import month_to_date_spend
from schemas.records import Analysis


def anthropic_key(settings: Settings) -> SecretStr | None:
    """The API key: ANTHROPIC_API_KEY, else the configured Prefect Secret block, else None."""
    if settings.anthropic_api_key is not None:
        return settings.anthropic_api_key
    if settings.claude.secret_block:
        from prefect.blocks.system import Secret

        return SecretStr(Secret.load(settings.claude.secret_block).get())
    return None


@task(cache_policy=NO_CACHE)
def analyze_articles(
    run: RunContext, curated: CurateResult, setup: AnalyzerSetup, settings: Settings, use_cache: bool, history: History
) -> Analysis:
    """Rate the eight risk categories from the run's articles (Claude or the heuristic)."""
    key = anthropic_key(settings) if setup.name == "claude" else None
    claude = None
    if key is not None:
        claude = ClaudeAccess(
            settings=settings.claude,
            api_key=key,
            month_to_date_usd=month_to_date_spend(run),
            cache_dir=run.paths.cache / "claude" if use_cache else None,
        )
    return analyze_run(Path(curated.path), run.as_of, setup, settings.analyze, claude, history)
