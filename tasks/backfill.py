"""Reconstruction tasks: one batch of years through the risk engine into the lake."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.backfill import backfill_summary, backfill_years, reconstruct, store_year, year_summary
from joshua.calibration import load_clock
from joshua.catalog import build_catalog
from joshua.settings import Settings, load_settings
from joshua.structural.history import load_record
from schemas.records import BackfillParams, BackfillSummary, YearSummary


@task(cache_policy=NO_CACHE)
def open_backfill(params: BackfillParams) -> Settings:
    """Read settings once for the whole reconstruction."""
    return load_settings(data_dir=params.data_dir)


@task(cache_policy=NO_CACHE)
def reconstruct_years(params: BackfillParams, settings: Settings) -> list[YearSummary]:
    """Assess every year as of its last day (today for this year) and commit each into the lake."""
    started_at = datetime.now(UTC)
    years = backfill_years(params, started_at.date())
    summaries = []
    for assessment in reconstruct(
        load_record(), years, today=started_at.date(), assessed_at=started_at, risk=settings.risk, clock=load_clock()
    ):
        store_year(assessment, settings.paths, started_at, datetime.now(UTC))
        summaries.append(year_summary(assessment))
    return summaries


@task(cache_policy=NO_CACHE)
def finish_backfill(settings: Settings, years: list[YearSummary]) -> BackfillSummary:
    """Refresh the catalog (views `reconstruction`, `calibration_loo`) and summarise."""
    paths = settings.paths
    build_catalog(paths.lake, paths.catalog)
    return backfill_summary(years, paths.lake)
