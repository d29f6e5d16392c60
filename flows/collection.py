"""The collection flow: collect → curate → store, keeping the lake and the HTTP cache warm."""

from prefect import flow, unmapped

from joshua.collect.collector import Collection, open_fetcher
from joshua.progress import StageTimer
from joshua.run import COLLECTION_FLOW_NAME, RunContext
from schemas.records import AssessmentParams, CollectionParams
from tasks.collect import check_collection, collect
from tasks.curate import curate_articles
from tasks.run import commit_assessment_run, fail_assessment_run, open_assessment_run
from tasks.store import publish_collection


def collect_all(run: RunContext) -> Collection:
    """Collect every source of the run in parallel through one fetch layer (one HTTP client)."""
    with open_fetcher(run) as fetcher:
        futures = collect.map(fetcher=unmapped(fetcher), source=run.sources, run=unmapped(run))
        return Collection(outcomes=[future.result() for future in futures])


@flow(name=COLLECTION_FLOW_NAME, timeout_seconds=600)
def collect_and_curate(params: CollectionParams = CollectionParams()) -> str:
    """Collect and curate the sources into the lake, without an assessment; returns the run id."""
    run = open_assessment_run(AssessmentParams(**params.model_dump(), analyzer="heuristic"), COLLECTION_FLOW_NAME)
    timer, collection = StageTimer(), Collection(outcomes=[])
    try:
        collection = timer.run("collect", collect_all, run)
        check_collection(run, collection.outcomes)
        timer.run("curate", curate_articles, run, collection)
        timer.run("store", publish_collection, run)
        commit_assessment_run(run, timer.stages, collection.outcomes)
    except Exception as exc:
        fail_assessment_run(run, timer.stages, collection.outcomes, f"{type(exc).__name__}: {exc}")
        raise
    return run.run_id
