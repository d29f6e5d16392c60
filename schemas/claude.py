"""The contract of Claude's reply: one rating per category, citing evidence by article id.

The tool Claude must call (`record_assessment`) takes exactly `ClaudeAssessment`'s JSON schema, so
the schema Claude sees and the validation JOSHUA applies come from one model. There is nowhere in
it to set weights, bands, the clock mapping or the headline seconds: those belong to the risk
engine, whatever the evidence says.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.records import Category, ConfidenceLevel

SCHEMA_VERSION = "2026-11-27.1"
TOOL_NAME = "record_assessment"


class ClaudeFactor(BaseModel):
    """Claude's rating of one risk category."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    value: float = Field(ge=0, le=1, description="0 none, 0.25 normal peacetime, 0.5 elevated, 0.75 crisis, 1 imminent")
    confidence: ConfidenceLevel
    evidence: list[str] = Field(min_length=1, max_length=8, description="ids of the articles this rests on, e.g. A07")
    trend: str = Field(pattern="^(rising|falling|stable)$", description="rising means toward danger")
    reasoning: str = Field(min_length=1, max_length=600)

    @field_validator("confidence", mode="before")
    @classmethod
    def _one_spelling(cls, value: object) -> object:
        """Accept "Very High" for "VeryHigh": one spelling is stored, whatever the reply used."""
        return value.replace(" ", "") if isinstance(value, str) else value


class ClaudeAssessment(BaseModel):
    """The whole reply: eight ratings, a summary and Claude's own seconds estimate."""

    model_config = ConfigDict(extra="forbid")

    factors: list[ClaudeFactor] = Field(min_length=8, max_length=8)
    executive_summary: str = Field(min_length=1, max_length=1500)
    analyst_seconds: int = Field(ge=0, le=1440, description="your own seconds-to-midnight estimate")

    @field_validator("factors")
    @classmethod
    def _each_category_once(cls, factors: list[ClaudeFactor]) -> list[ClaudeFactor]:
        seen = [factor.category for factor in factors]
        missing = set(Category) - set(seen)
        if missing or len(set(seen)) != len(seen):
            raise ValueError(f"rate each of the eight categories exactly once (missing: {sorted(missing)})")
        return factors


def tool_definition() -> dict:
    """The tool Claude is made to call, its input schema generated from `ClaudeAssessment`."""
    return {
        "name": TOOL_NAME,
        "description": "Record the risk assessment: one rating per category, each citing article ids.",
        "input_schema": ClaudeAssessment.model_json_schema(),
    }
