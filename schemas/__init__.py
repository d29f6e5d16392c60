"""Data contracts: pydantic records, polars table schemas and expectation suites."""

from pathlib import Path

EXPECTATIONS_DIR = Path(__file__).parent / "expectations"
