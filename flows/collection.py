"""The collection flow: collect → curate → store, keeping the lake and the HTTP cache warm."""

from prefect import flow, unmapped
from prefect.runtime import flow_run

from flows.naming import run_id_name
from joshua.collect.collector import Collection, fetch_layer, fetch_plan
from joshua.progress import StageTimer
from joshua.run import COLLECTION_FLOW_NAME, RunContext, RunInputs
from schemas.records import AssessmentParams
from tasks.collect import check_collection, collect, source_outcome
from tasks.curate import curate_articles
from tasks.report import publish_collection_table
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
        return Collection(outcomes=[source_outcome(future) for future in futures], skipped=inputs.skipped)


@flow(name=COLLECTION_FLOW_NAME, flow_run_name=run_id_name, timeout_seconds=600)
def collect_and_curate(
    live: bool = False,
    snapshot: str | None = None,
    allow_sample: bool = False,
    data_dir: str | None = None,
    run_id: str | None = None,
    min_sources: int | None = None,
) -> str:
    """Collect and curate the sources into the lake, without an assessment; returns the run id.

    Args:
        live: Fetch the sources over the network (what the schedule does).
        snapshot: A recorded snapshot directory to replay; with neither, the bundled fictional sample.
        allow_sample: Let the sample write into a lake that holds real assessments (refused otherwise).
        data_dir: Where the run writes; default data/ (or JOSHUA_DATA_DIR).
        run_id: Rerun (replace) an earlier run id; by default the flow run's name, a new run id.
        min_sources: Fewest sources that must succeed.
    """
    params = AssessmentParams(
        live=live, snapshot=snapshot, allow_sample=allow_sample, analyzer="heuristic", data_dir=data_dir,
        run_id=run_id or flow_run.get_name(), min_sources=min_sources,
    )  # fmt: skip
    run, inputs = open_assessment_run(params, COLLECTION_FLOW_NAME)
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
    finally:
        publish_collection_table(run, collection, timer.stages)
    return run.run_id
