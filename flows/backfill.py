"""The reconstruction flow: one structural assessment per year, 1947 to today, into the lake."""

from prefect import flow

from joshua.backfill import BACKFILL_FLOW
from schemas.records import BackfillParams, BackfillSummary
from tasks.backfill import finish_backfill, open_backfill, reconstruct_years


@flow(name=BACKFILL_FLOW, timeout_seconds=1800)
def backfill(params: BackfillParams = BackfillParams()) -> BackfillSummary:
    """Reconstruct each year from the historical record through the risk engine (rerun replaces)."""
    settings = open_backfill(params)
    years = reconstruct_years(params, settings)
    return finish_backfill(settings, years)


if __name__ == "__main__":
    backfill()
