"""The lake maintenance flow: remove what runs that died left behind, then rebuild the catalog."""

from prefect import flow

from tasks.maintenance import rebuild_catalog, sweep_dead_runs

MAINTENANCE_FLOW_NAME = "lake-maintenance"


@flow(name=MAINTENANCE_FLOW_NAME, timeout_seconds=3600)
def maintain_lake(data_dir: str | None = None) -> int:
    """Sweep the files of runs that never committed and rebuild the catalog; returns how many went."""
    removed = sweep_dead_runs(data_dir)
    rebuild_catalog(data_dir)
    return removed


if __name__ == "__main__":
    maintain_lake()
