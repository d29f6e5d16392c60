"""The curate task."""

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.curate.lexicon import Lexicon
from joshua.curate.stage import CurateResult, curate_run
from joshua.run import RunContext
from joshua.runlog import curate_line
from joshua.settings import CurateSettings
from schemas.records import Source


@task(task_run_name="curate-{run.run_id}", cache_policy=NO_CACHE)
def curate_articles(
    run: RunContext,
    collection: Collection,
    declared: list[Source],
    lexicon: Lexicon,
    settings: CurateSettings,
    max_text_chars: int,
) -> CurateResult:
    """Deduplicate, tag, score and validate the run's raw items into its articles."""
    curated = curate_run(run, collection, declared, lexicon, settings, max_text_chars)
    get_run_logger().info(curate_line(curated))
    return curated
