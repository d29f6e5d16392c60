"""The nuclear-risk assessment flow: collect → curate → analyze → score → store → report."""

from prefect import flow
from prefect.runtime import flow_run

from flows.collection import collect_all
from flows.naming import run_id_name
from joshua.collect.collector import Collection
from joshua.progress import StageTimer
from joshua.run import FLOW_NAME, run_summary
from schemas.records import AnalyzerChoice, AssessmentParams, RunSummary
from tasks.analyze import analyze_articles
from tasks.collect import check_collection
from tasks.curate import curate_articles
from tasks.notify import notify_assessment, notify_failure
from tasks.report import publish_stage_table, report_assessment
from tasks.run import commit_assessment_run, fail_assessment_run, open_assessment_run
from tasks.score import score_assessment
from tasks.store import store_assessment


@flow(name=FLOW_NAME, flow_run_name=run_id_name, timeout_seconds=600)
def assess(
    live: bool = False,
    snapshot: str | None = None,
    allow_sample: bool = False,
    analyzer: AnalyzerChoice = "auto",
    model: str | None = None,
    consensus: int | None = None,
    use_cache: bool = True,
    data_dir: str | None = None,
    run_id: str | None = None,
    min_sources: int | None = None,
) -> RunSummary:
    """Collect, curate, analyze, score, store and report one nuclear-risk assessment.

    Args:
        live: Fetch the sources over the network (what the schedules do).
        snapshot: A recorded snapshot directory to replay; with neither, the bundled fictional sample.
        allow_sample: Let the sample write into a lake that holds live assessments (refused otherwise).
        analyzer: auto (Claude when a key is configured, else the heuristic), claude or heuristic.
        model: Claude model id; default from joshua.toml.
        consensus: Claude samples to combine (1-7).
        use_cache: Reuse cached Claude replies and HTTP responses within their TTL.
        data_dir: Where the run writes; default data/ (or JOSHUA_DATA_DIR).
        run_id: Rerun (replace) an earlier run id; by default the flow run's name, a new run id.
        min_sources: Fewest sources that must succeed.
    """
    params = AssessmentParams(
        live=live, snapshot=snapshot, allow_sample=allow_sample, analyzer=analyzer, model=model, consensus=consensus,
        use_cache=use_cache, data_dir=data_dir, run_id=run_id or flow_run.get_name(), min_sources=min_sources,
    )  # fmt: skip
    run = open_assessment_run(params)
    timer, collection = StageTimer(), Collection(outcomes=[])
    try:
        collection = timer.run("collect", collect_all, run)
        check_collection(run, collection.outcomes)
        curated = timer.run("curate", curate_articles, run, collection)
        analysis = timer.run("analyze", analyze_articles, run, curated)
        assessment = timer.run("score", score_assessment, run, analysis, collection)
        timer.run("store", store_assessment, run, assessment)
        report_path, evidence = timer.run("report", report_assessment, run, assessment, collection, timer.stages)
        commit_assessment_run(run, timer.stages, collection.outcomes, analysis)
        publish_stage_table(run, timer.stages)
    except Exception as exc:
        fail_assessment_run(run, timer.stages, collection.outcomes, f"{type(exc).__name__}: {exc}")
        notify_failure(run, f"{type(exc).__name__}: {exc}")
        raise
    notify_assessment(run, assessment, collection)
    return run_summary(run, analysis, assessment, timer.stages, collection.outcomes, report_path, evidence)


if __name__ == "__main__":
    assess()
