"""Lake maintenance tasks."""

from datetime import UTC, datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from joshua.catalog import build_catalog
from joshua.compaction import compact_lake, sweep_compactions
from joshua.lake import sweep_staging, sweep_uncommitted
from joshua.search import update_index
from joshua.settings import load_settings


@task(cache_policy=NO_CACHE)
def sweep_dead_runs(data_dir: str | None) -> int:
    """Remove the staged and published files of runs that died before committing; how many went."""
    paths, now = load_settings(data_dir=data_dir).paths, datetime.now(UTC)
    return len(sweep_staging(paths.staging, now)) + len(sweep_uncommitted(paths.lake, now))


@task(cache_policy=NO_CACHE)
def compact_partitions(data_dir: str | None) -> int:
    """Merge the small files of every partition dated before today, then remove what they replaced; how many files were merged."""
    paths, now = load_settings(data_dir=data_dir).paths, datetime.now(UTC)
    if isinstance(paths.lake, str):  # an object-store lake: compaction is local-only for now
        return 0
    report = compact_lake(paths.lake, now, before=now.date())
    sweep_compactions(paths.lake, now)
    return report.files_replaced


@task(cache_policy=NO_CACHE)
def rebuild_catalog(data_dir: str | None) -> None:
    """Rebuild the DuckDB catalog of views over the lake."""
    paths = load_settings(data_dir=data_dir).paths
    build_catalog(paths.lake, paths.catalog)


@task(cache_policy=NO_CACHE)
def update_search_index(data_dir: str | None) -> int:
    """Bring the item-search index up to the committed runs (built if missing); how many article rows it holds."""
    paths = load_settings(data_dir=data_dir).paths
    return update_index(paths.lake, paths.search_index).articles
