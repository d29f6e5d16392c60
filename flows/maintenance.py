"""The lake maintenance flow: remove what runs that died left behind, compact, rebuild the catalog
and bring the item-search index up to date."""

from prefect import flow

from tasks.maintenance import compact_partitions, rebuild_catalog, sweep_dead_runs, update_search_index

MAINTENANCE_FLOW_NAME = "lake-maintenance"


@flow(name=MAINTENANCE_FLOW_NAME, timeout_seconds=3600)
def maintain_lake(data_dir: str | None = None) -> int:
    """Sweep the files of runs that never committed, compact past days' partitions, rebuild the
    catalog and update the search index; returns how many files of dead runs went."""
    removed = sweep_dead_runs(data_dir)
    compact_partitions(data_dir)
    rebuild_catalog(data_dir)
    update_search_index(data_dir)
    return removed


if __name__ == "__main__":
    maintain_lake()
