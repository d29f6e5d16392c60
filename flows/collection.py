"""The collection flow: collect → curate → store, keeping the lake and the HTTP cache warm."""

from prefect import flow, unmapped

from joshua.collect.collector import Collection, fetch_layer, fetch_plan
from joshua.progress import StageTimer
from joshua.run import COLLECTION_FLOW_NAME, RunContext, RunInputs
from schemas.records import AssessmentParams, CollectionParams
from tasks.collect import check_collection, collect
from tasks.curate import curate_articles
from tasks.run import commit_assessment_run, fail_assessment_run, open_assessment_run
from tasks.store import publish_collection


def collect_all(run: RunContext, inputs: RunInputs) -> Collection:
    """Collect every source of the run in parallel through one fetch layer, lent to the tasks by name."""
    settings = inputs.settings
    plan = fetch_plan(settings.collect, inputs.snapshot, inputs.sources, run.paths.cache, inputs.use_cache)
    with fetch_layer(run.run_id, plan) as layer:
        futures = collect.map(
            source=inputs.sources,
            fetch_layer=unmapped(layer),
            keywords=unmapped(inputs.lexicon.keywords),
            credential=[settings.credential_secret(source.credential) for source in inputs.sources],
            staging=unmapped(run.paths.staging),
            run_id=unmapped(run.run_id),
        )
        return Collection(outcomes=[future.result() for future in futures], skipped=inputs.skipped)


@flow(name=COLLECTION_FLOW_NAME, timeout_seconds=600)
def collect_and_curate(params: CollectionParams = CollectionParams()) -> str:
    """Collect and curate the sources into the lake, without an assessment; returns the run id."""
    run, inputs = open_assessment_run(AssessmentParams(**params.model_dump(), analyzer="heuristic"), COLLECTION_FLOW_NAME)
    settings = inputs.settings
    timer, collection = StageTimer(), Collection(outcomes=[], skipped=inputs.skipped)
    try:
        collection = timer.run("collect", collect_all, run, inputs)
        check_collection(collection, inputs.min_sources)
        timer.run(
            "curate", curate_articles, run, collection, inputs.declared, inputs.lexicon, settings.curate,
            settings.collect.max_text_chars,
        )
        timer.run("store", publish_collection, run)
        commit_assessment_run(run, inputs.analyzer.name, inputs.data_label, timer.stages, collection)
    except Exception as exc:
        fail_assessment_run(run, inputs.analyzer.name, inputs.data_label, timer.stages, collection, f"{type(exc).__name__}: {exc}")
        raise
    return run.run_id
