"""From an analysis to the assessment: score, seconds, band, confidence, change and trend."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from joshua.risk.clock import band_for, seconds_to_midnight
from joshua.risk.score import base_score, overall_confidence, scored_factors, trend_of
from schemas.records import Analysis, Assessment, Category, ConfidenceLevel

ASSESSMENT_NAMESPACE = uuid.UUID("6f1c7a52-5b0e-4d3c-9a51-0a1e5d2c7b11")


def assessment_id(run_id: str) -> str:
    """The assessment id of a run: stable, so a rerun replaces the same assessment."""
    return str(uuid.uuid5(ASSESSMENT_NAMESPACE, run_id))


def build_assessment(
    analysis: Analysis,
    *,
    run_id: str,
    assessed_at: datetime,
    as_of: datetime,
    weights: dict[Category, float],
    bands: dict[str, int],
    mapping: str,
    sources_ok: int,
    sources_failed: int,
    previous_seconds: Sequence[int],
    data_label: str,
    sample_data: bool,
) -> Assessment:
    """Score an analysis; `previous_seconds` is the chronological history of earlier runs."""
    base = base_score(analysis.factors, weights)
    seconds = seconds_to_midnight(base.score, mapping)
    confidence = overall_confidence(base, sources_ok, sources_failed)
    return Assessment(
        assessment_id=assessment_id(run_id),
        run_id=run_id,
        assessed_at=assessed_at,
        as_of=as_of,
        seconds_to_midnight=seconds,
        score=base.score,
        base_score=base.score,
        band=band_for(seconds, bands),
        confidence=ConfidenceLevel.from_numeric(confidence),
        confidence_score=confidence,
        trend=trend_of([*previous_seconds, seconds]),
        delta_seconds=seconds - previous_seconds[-1] if previous_seconds else None,
        analyst_seconds=analysis.analyst_seconds,
        analyzer=analysis.analyzer,
        model=analysis.model,
        executive_summary=analysis.executive_summary,
        data_label=data_label,
        sample_data=sample_data,
        factors=scored_factors(analysis.factors, base),
    )
