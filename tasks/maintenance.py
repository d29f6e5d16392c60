"""Lake maintenance tasks."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.catalog import build_catalog
from joshua.lake import sweep_staging, sweep_uncommitted
from joshua.settings import load_settings


@task(cache_policy=NO_CACHE)
def sweep_dead_runs(data_dir: str | None) -> int:
    """Remove the staged and published files of runs that died before committing; how many went."""
    settings, now = load_settings(data_dir=data_dir), datetime.now(UTC)
    staged = sweep_staging(settings.data_dir / "staging", now)
    return len(staged) + len(sweep_uncommitted(settings.data_dir / "lake", now))


@task(cache_policy=NO_CACHE)
def rebuild_catalog(data_dir: str | None) -> None:
    """Rebuild the DuckDB catalog of views over the lake."""
    settings = load_settings(data_dir=data_dir)
    build_catalog(settings.data_dir / "lake", settings.data_dir / "joshua.duckdb")
