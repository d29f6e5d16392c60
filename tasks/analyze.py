"""The analyze task."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.analyze.stage import analyze_run
from joshua.curate.stage import CurateResult
from joshua.risk.assess import History
from joshua.run import RunContext
from joshua.settings import Settings
from joshua.store import load_history, month_to_date_spend
from schemas.records import Analysis


def anthropic_key(settings: Settings) -> str | None:
    """The API key: ANTHROPIC_API_KEY, else the configured Prefect Secret block, else None."""
    if settings.anthropic_api_key is not None:
        return settings.anthropic_api_key.get_secret_value()
    if settings.claude.secret_block:
        from prefect.blocks.system import Secret

        return Secret.load(settings.claude.secret_block).get()
    return None


@task(cache_policy=NO_CACHE)
def analyze_articles(run: RunContext, curated: CurateResult) -> Analysis:
    """Rate the eight risk categories from the run's articles (Claude or the heuristic)."""
    if run.analyzer != "claude":
        return analyze_run(run, Path(curated.path), None, History(), 0.0)
    return analyze_run(run, Path(curated.path), anthropic_key(run.settings), load_history(run), month_to_date_spend(run))
