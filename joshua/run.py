"""A run's context (id, clock, paths) and its inputs (data, sources, lexicon, analyzer), fixed once at the start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from joshua.analyze import AnalyzerSetup, resolve_analyzer
from joshua.catalog import connect_lake
from joshua.collect.endpoints import source_requests
from joshua.collect.snapshot import Snapshot, load_snapshot
from joshua.curate.lexicon import Lexicon, load_lexicon
from joshua.errors import SampleRefused
from joshua.lake import new_run_id, run_date
from joshua.settings import RunPaths, Settings
from joshua.storage import check_committable, check_reachable
from joshua.sources import load_sources
from schemas.records import (
    Analysis,
    Assessment,
    AssessmentParams,
    EvidenceRef,
    RunSummary,
    Source,
    SourceOutcome,
    StageMetrics,
)

FLOW_NAME = "nuclear-risk-assessment"
COLLECTION_FLOW_NAME = "nuclear-risk-collection"
LIVE_ASSESSMENTS_SQL = "SELECT count(*) FROM assessments WHERE NOT sample_data"


class RunContext(BaseModel):
    """Who a run is, when it is, and where it writes; stages take everything else as arguments."""

    run_id: str
    flow: str = FLOW_NAME
    started_at: datetime
    as_of: datetime
    paths: RunPaths


class RunInputs(BaseModel):
    """What `open_run` read and decided once: settings, the data to collect, the analyzer.

    The snapshot and the lexicon are parsed here and carried, never read again by a stage.
    """

    settings: Settings
    snapshot: Snapshot | None
    data_label: str
    sample_data: bool
    analyzer: AnalyzerSetup
    use_cache: bool
    min_sources: int
    declared: list[Source]
    sources: list[Source]
    skipped: list[SourceOutcome]
    lexicon: Lexicon


def open_run(
    params: AssessmentParams, settings: Settings, now: datetime | None = None, flow: str = FLOW_NAME
) -> tuple[RunContext, RunInputs]:
    """Fix a run's context and inputs; a bad snapshot, sources file or analyzer raises ConfigError."""
    started_at = now or datetime.now(UTC)
    run_id = params.run_id or new_run_id(started_at)
    run_date(run_id)  # validates a caller-supplied id
    if settings.paths.remote:
        check_committable(settings.paths.remote)
        check_reachable(settings.paths.remote)  # bad credentials or bucket: a ConfigError now, not mid-run
    sources = [source for source in load_sources(settings.sources_file) if source.enabled]
    has_key = settings.anthropic_api_key is not None or settings.claude.secret_block is not None
    analyzer = resolve_analyzer(params.analyzer, has_key)
    model = params.model or settings.claude.model
    if analyzer == "claude":
        settings.claude.price(model)  # a model without a price cannot be budgeted: refuse it now
    snapshot = None if params.live else load_snapshot(Path(params.snapshot or settings.sample_snapshot))
    if snapshot is not None and snapshot.info.sample and not params.allow_sample:
        refuse_sample_beside_live(settings.paths.lake)
    lexicon = load_lexicon(settings.lexicon_file)
    reasons = {source.id: why_skipped(source, snapshot, settings, lexicon.keywords) for source in sources}
    run = RunContext(
        run_id=run_id,
        flow=flow,
        started_at=started_at,
        # Replays are judged as of the recording, so the same snapshot always gives the same result.
        as_of=snapshot.info.recorded_at if snapshot else started_at,
        paths=settings.paths.for_run(run_id),
    )
    inputs = RunInputs(
        settings=settings,
        snapshot=snapshot,
        data_label=snapshot.label if snapshot else f"live collection at {started_at:%Y-%m-%d %H:%M} UTC",
        sample_data=snapshot.info.sample if snapshot else False,
        analyzer=AnalyzerSetup(name=analyzer, model=model, consensus=params.consensus or settings.claude.consensus),
        use_cache=params.use_cache,
        min_sources=params.min_sources or settings.collect.min_sources,
        declared=sources,
        sources=[source for source in sources if reasons[source.id] is None],
        skipped=[
            SourceOutcome(source_id=source_id, status="skipped", error=reason)
            for source_id, reason in reasons.items()
            if reason is not None
        ],
        lexicon=lexicon,
    )
    return run, inputs


def refuse_sample_beside_live(lake_dir: Path | str) -> None:
    """Raise SampleRefused when the lake holds assessments of real data (live, or replayed from a
    recording): fiction must not mix into their trend, history and "already seen" articles unless
    `allow_sample` asks for it."""
    with connect_lake(lake_dir, only=frozenset({"assessments"})) as con:
        live = con.execute(LIVE_ASSESSMENTS_SQL).fetchone()[0]
    if live:
        raise SampleRefused(
            f"{lake_dir} holds {live} assessment(s) of real data; this run would add the bundled fictional sample. "
            "Collect live (`--live`, parameter live=true), replay another snapshot, write elsewhere "
            "(--data-dir), or pass --allow-sample (parameter allow_sample=true) to mix them on purpose"
        )


def run_tags(run: RunContext, inputs: RunInputs) -> list[str]:
    """Tags of a run's Prefect flow run: where its data came from and which analyzer rated it."""
    data = ["live"] if inputs.snapshot is None else ["snapshot", *(["sample"] if inputs.sample_data else [])]
    return [*data, f"analyzer:{inputs.analyzer.name}"] if run.flow == FLOW_NAME else data


def why_skipped(source: Source, snapshot: Snapshot | None, settings: Settings, keywords: dict[str, list[str]]) -> str | None:
    """Why a run cannot collect a source, or None when it can.

    Live, a source whose credential is missing is skipped with "needs credential", never failed;
    a replay skips the sources the snapshot holds no response for (it needs no credentials).
    """
    if snapshot is not None:
        urls = [request.url for request in source_requests(source, keywords)]
        recorded = any(snapshot.response_for(url) is not None for url in urls)
        return None if recorded else "no recorded response in the snapshot"
    if source.credential and settings.credential(source.credential) is None:
        return f"needs credential: set {source.credential} to collect it"
    return None


def run_summary(
    run: RunContext,
    analysis: Analysis,
    assessment: Assessment,
    stages: list[StageMetrics],
    outcomes: list[SourceOutcome],
    report_path: Path,
    evidence: dict[str, EvidenceRef],
) -> RunSummary:
    """What a completed run returns to its caller."""
    return RunSummary(
        run_id=run.run_id,
        status="completed",
        assessment=assessment,
        stages=stages,
        sources=list(outcomes),
        evidence=evidence,
        fallback_reason=analysis.fallback_reason,
        claude_calls=analysis.calls,
        tokens_in=analysis.tokens_in,
        tokens_out=analysis.tokens_out,
        cost_usd=analysis.cost_usd,
        report_path=str(report_path),
        lake_path=str(run.paths.lake),
        catalog_path=str(run.paths.catalog),
    )
