"""The analyze task."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.analyze.stage import analyze_run
from joshua.curate.stage import CurateResult
from joshua.run import RunContext
from schemas.records import Analysis


@task(cache_policy=NO_CACHE)
def analyze_articles(run: RunContext, curated: CurateResult) -> Analysis:
    """Rate the eight risk categories from the run's articles."""
    return analyze_run(run, Path(curated.path))
