"""The curate task."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.collect.collector import Collection
from joshua.curate.lexicon import Lexicon
from joshua.curate.stage import CurateResult, curate_run
from joshua.run import RunContext
from joshua.settings import CurateSettings
from schemas.records import Source


@task(cache_policy=NO_CACHE)
def curate_articles(
    run: RunContext,
    collection: Collection,
    declared: list[Source],
    lexicon: Lexicon,
    settings: CurateSettings,
    max_text_chars: int,
) -> CurateResult:
    """Deduplicate, tag, score and validate the run's raw items into its articles."""
    return curate_run(run, collection, declared, lexicon, settings, max_text_chars)
