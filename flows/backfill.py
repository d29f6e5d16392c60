"""The reconstruction flow: one structural assessment per year, 1947 to today, into the lake."""

from prefect import flow

from joshua.backfill import BACKFILL_FLOW
from schemas.records import BackfillParams, BackfillSummary
from tasks.backfill import finish_backfill, open_backfill, reconstruct_years


@flow(name=BACKFILL_FLOW, timeout_seconds=1800)
def backfill(first_year: int = 1947, last_year: int | None = None, data_dir: str | None = None) -> BackfillSummary:
    """Reconstruct each year from the historical record through the risk engine (rerun replaces).

    Args:
        first_year: First year to reconstruct (as of 31 December).
        last_year: Last year; default the current one (as of today).
        data_dir: Where the run writes; default data/ (or JOSHUA_DATA_DIR).
    """
    params = BackfillParams(first_year=first_year, last_year=last_year, data_dir=data_dir)
    settings = open_backfill(params)
    years = reconstruct_years(params, settings)
    return finish_backfill(settings, years)


if __name__ == "__main__":
    backfill()
