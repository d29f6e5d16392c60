"""Writing a report's files: Markdown with its clock and chart files, HTML, JSON."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from joshua.reporting.charts import all_charts
from joshua.reporting.clock import clock_svg
from joshua.reporting.data import ReportData
from joshua.reporting.markdown import render_markdown
from joshua.settings import RiskSettings

FORMATS = ("md", "html", "json")


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def write_report(data: ReportData, directory: Path, risk: RiskSettings, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write the report in the given formats, named by run id; returns {format: path}."""
    from joshua.reporting.html import render_html

    name = data.assessment.run_id
    formats = set(formats)
    written: dict[str, Path] = {}
    svgs = all_charts(data, risk) if formats - {"json"} else {}
    if "md" in formats:
        assets = directory / name
        for chart_name, svg in svgs.items():
            _write_atomic(assets / f"{chart_name}.svg", svg)
        _write_atomic(assets / "clock.svg", clock_svg(data.assessment.seconds_to_midnight, data.assessment.band))
        written["md"] = _write_atomic(directory / f"{name}.md", render_markdown(data, chart_dir=name))
    if "html" in formats:
        written["html"] = _write_atomic(directory / f"{name}.html", render_html(data, svgs))
    if "json" in formats:
        written["json"] = _write_atomic(directory / f"{name}.json", data.model_dump_json(indent=2))
    return written
