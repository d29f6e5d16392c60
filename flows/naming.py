"""Flow run names: a flow run is named after the JOSHUA run id it writes."""

from datetime import UTC, datetime

from prefect.runtime import flow_run

from joshua.lake import new_run_id


def run_id_name() -> str:
    """The `run_id` parameter (a rerun), else a new run id, which the flow adopts as its run id."""
    return flow_run.parameters.get("run_id") or new_run_id(datetime.now(UTC))
