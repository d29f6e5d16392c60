"""The lake maintenance flow: remove what runs that died left behind, compact, rebuild the catalog."""

from prefect import flow

from tasks.maintenance import compact_partitions, rebuild_catalog, sweep_dead_runs

MAINTENANCE_FLOW_NAME = "lake-maintenance"


@flow(name=MAINTENANCE_FLOW_NAME, timeout_seconds=3600)
def maintain_lake(data_dir: str | None = None) -> int:
    """Sweep the files of runs that never committed, compact past days' partitions and rebuild the
    catalog; returns how many files of dead runs went."""
    removed = sweep_dead_runs(data_dir)
    compact_partitions(data_dir)
    rebuild_catalog(data_dir)
    return removed


if __name__ == "__main__":
    maintain_lake()
