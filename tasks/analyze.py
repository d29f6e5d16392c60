"""The analyze task."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from joshua.analyze.stage import analyze_run
from joshua.curate.stage import CurateResult
from joshua.risk.assess import History
from joshua.run import RunContext
from joshua.runlog import analysis_lines
from joshua.settings import Settings
from joshua.store import load_history, month_to_date_spend
from schemas.records import Analysis
from tasks.run import read_secret_block


def anthropic_key(settings: Settings) -> str | None:
    """The API key: ANTHROPIC_API_KEY, else the configured Prefect Secret block, else None."""
    if settings.anthropic_api_key is not None:
        return settings.anthropic_api_key.get_secret_value()
    if settings.claude.secret_block:
        return read_secret_block(settings.claude.secret_block)
    return None


@task(task_run_name="analyze-{run.run_id}-{run.analyzer}", cache_policy=NO_CACHE)
def analyze_articles(run: RunContext, curated: CurateResult) -> Analysis:
    """Rate the eight risk categories from the run's articles (Claude or the heuristic)."""
    if run.analyzer != "claude":
        analysis = analyze_run(run, Path(curated.path), None, History(), 0.0)
    else:
        key = anthropic_key(run.settings)
        analysis = analyze_run(run, Path(curated.path), key, load_history(run), month_to_date_spend(run))
    for level, line in analysis_lines(analysis, run.analyzer):
        get_run_logger().log(level, line)
    return analysis
