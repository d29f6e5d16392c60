"""The nuclear-risk assessment flow: collect → curate → analyze → score → store → report.

Data flows one way: the run's context and inputs are fixed once; history is read once and handed
to the stages that need it; each stage returns a small typed result the next one takes.
"""

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
from tasks.run import commit_assessment_run, fail_assessment_run, open_assessment_run, read_history
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
        allow_sample: Let the sample write into a lake that holds real assessments (refused otherwise).
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
    run, inputs = open_assessment_run(params)
    settings, setup = inputs.settings, inputs.analyzer
    timer, collection = StageTimer(), Collection(outcomes=[], skipped=inputs.skipped)
    try:
        history = read_history(run)
        collection = timer.run("collect", collect_all, run, inputs)
        check_collection(collection, inputs.min_sources)
        curated = timer.run(
            "curate", curate_articles, run, collection, inputs.declared, inputs.lexicon, settings.curate,
            settings.collect.max_text_chars,
        )
        analysis = timer.run("analyze", analyze_articles, run, curated, setup, settings, inputs.use_cache, history)
        assessment = timer.run(
            "score", score_assessment, run, analysis, collection, history, settings.risk, inputs.data_label,
            inputs.sample_data,
        )
        stored = timer.run("store", store_assessment, run, assessment)
        report = timer.run(
            "report", report_assessment, run, assessment, stored, collection, timer.stages, settings.risk,
            settings.reports_url,
        )
        commit_assessment_run(run, setup.name, inputs.data_label, timer.stages, collection, analysis)
        publish_stage_table(run, timer.stages)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        fail_assessment_run(run, setup.name, inputs.data_label, timer.stages, collection, error)
        notify_failure(run, error, settings.notifications)
        raise
    previous_band = history.bands[-1] if history.bands else None
    notify_assessment(run, assessment, previous_band, collection, settings.notifications)
    return run_summary(run, analysis, assessment, timer.stages, collection.everything, report.path, report.evidence)


if __name__ == "__main__":
    assess()
