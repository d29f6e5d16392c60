"""The analyze task."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from joshua.analyze import AnalyzerSetup
from joshua.analyze.stage import ClaudeAccess, analyze_run
from joshua.curate.stage import CurateResult
from joshua.risk.assess import History
from joshua.run import RunContext
from joshua.runlog import analysis_lines
from joshua.settings import Settings
from joshua.store import month_to_date_spend
from schemas.records import Analysis
from tasks.run import read_secret_block


def anthropic_key(settings: Settings) -> SecretStr | None:
    """The API key: ANTHROPIC_API_KEY, else the configured Prefect Secret block, else None."""
    if settings.anthropic_api_key is not None:
        return settings.anthropic_api_key
    if settings.claude.secret_block:
        return SecretStr(read_secret_block(settings.claude.secret_block))
    return None


@task(task_run_name="analyze-{run.run_id}-{setup.name}", cache_policy=NO_CACHE)
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
    analysis = analyze_run(Path(curated.path), run.as_of, setup, settings.analyze, claude, history)
    for level, line in analysis_lines(analysis, setup.name):
        get_run_logger().log(level, line)
    return analysis
