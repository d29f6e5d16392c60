"""The nuclear-risk assessment flow: collect → curate → analyze → score → store → report."""

from prefect import flow

from flows.collection import collect_all
from joshua.collect.collector import Collection
from joshua.progress import StageTimer
from joshua.run import FLOW_NAME, run_summary
from schemas.records import AssessmentParams, RunSummary
from tasks.analyze import analyze_articles
from tasks.collect import check_collection
from tasks.curate import curate_articles
from tasks.notify import notify_assessment, notify_failure
from tasks.report import publish_stage_table, report_assessment
from tasks.run import commit_assessment_run, fail_assessment_run, open_assessment_run
from tasks.score import score_assessment
from tasks.store import store_assessment


@flow(name=FLOW_NAME, timeout_seconds=600)
def assess(params: AssessmentParams = AssessmentParams()) -> RunSummary:
    """Collect, curate, analyze, score, store and report one nuclear-risk assessment."""
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
