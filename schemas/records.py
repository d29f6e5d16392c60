"""Typed records that stages hand to each other: small, validated, serialisable."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator


class Category(StrEnum):
    """The eight weighted risk categories (DESIGN decision 2)."""

    NUCLEAR_ARSENAL = "nuclear_arsenal"
    DOCTRINE_POSTURE = "doctrine_posture"
    REGIONAL_CONFLICT = "regional_conflict"
    LEADERSHIP_RHETORIC = "leadership_rhetoric"
    TECHNICAL_INCIDENT = "technical_incident"
    COMMUNICATION_ARMS_CONTROL = "communication_arms_control"
    EMERGING_TECHNOLOGY = "emerging_technology"
    ECONOMIC = "economic"


class ConfidenceLevel(StrEnum):
    """Confidence labels, one spelling everywhere (DESIGN decision 8)."""

    VERY_LOW = "VeryLow"
    LOW = "Low"
    MODERATE = "Moderate"
    HIGH = "High"
    VERY_HIGH = "VeryHigh"

    @property
    def numeric(self) -> float:
        """The spec's numeric value of this level."""
        return CONFIDENCE_NUMERIC[self]

    @classmethod
    def from_numeric(cls, value: float) -> ConfidenceLevel:
        """The level whose numeric value is nearest below `value` (midpoints between levels)."""
        for level, floor in _CONFIDENCE_FLOORS:
            if value >= floor:
                return level
        return cls.VERY_LOW


CONFIDENCE_NUMERIC: dict[ConfidenceLevel, float] = {
    ConfidenceLevel.VERY_LOW: 0.40,
    ConfidenceLevel.LOW: 0.60,
    ConfidenceLevel.MODERATE: 0.775,
    ConfidenceLevel.HIGH: 0.90,
    ConfidenceLevel.VERY_HIGH: 0.975,
}
# A numeric confidence maps to the level whose value is nearest: the floors are midpoints.
_CONFIDENCE_FLOORS = [
    (ConfidenceLevel.VERY_HIGH, 0.9375),
    (ConfidenceLevel.HIGH, 0.8375),
    (ConfidenceLevel.MODERATE, 0.6875),
    (ConfidenceLevel.LOW, 0.50),
]

Trend = Literal["rising", "falling", "stable", "insufficient"]
AlertLevel = Literal["Info", "Warning", "Severe", "Critical", "Apocalyptic"]
AnalyzerChoice = Literal["auto", "claude", "heuristic"]
SourceKind = Literal["feed", "gdelt_artlist", "gdelt_timeline", "federal_register", "newsapi", "reddit", "x_search"]


class Source(BaseModel):
    """One declared source from `data/sources.toml` (the file's header documents each field)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    kind: SourceKind
    url: HttpUrl
    params: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    credential: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")
    reliability: float = Field(ge=0, le=1)
    editorial_independence: float = Field(default=0.7, ge=0, le=1)
    methodology_transparency: float = Field(default=0.7, ge=0, le=1)
    categories: tuple[Category, ...] = ()
    enabled: bool = True
    timeout_s: float = Field(default=30.0, gt=0)
    rate_limit_s: float = Field(default=1.0, ge=0, description="fewest seconds between requests to its host")
    cache_ttl_s: float = Field(default=3600.0, ge=0, description="how long a fetched body is reused unasked")
    language: str | None = Field(
        default=None, pattern=r"^[a-z]{2}$", description="ISO 639-1 code of its items when the service does not say"
    )
    allow_private_network: bool = Field(
        default=False, description="may reach loopback and private addresses by name or redirect (local mirrors, tests)"
    )


class RawItem(BaseModel):
    """One item as a source published it, before curation."""

    source_id: str
    url: str | None
    guid: str | None
    title: str
    body: str
    published_at: datetime | None
    language: str | None = None


class Signal(BaseModel):
    """One point of a time series a source publishes (GDELT's tone and volume timelines)."""

    source_id: str
    series: str
    at: datetime
    value: float


class SourceOutcome(BaseModel):
    """What collecting one source produced, and what its requests cost."""

    source_id: str
    status: Literal["ok", "failed", "skipped"]
    items: int = 0
    http_status: int | None = None
    bytes: int = Field(default=0, description="body bytes received over the network")
    seconds: float = 0.0
    error: str | None = None
    error_type: str | None = Field(
        default=None, description="class of the first error: FetchError or ParseError (joshua.errors)"
    )
    path: str | None = None
    fetches: int = Field(default=0, description="URLs the source needed")
    requests: int = Field(default=0, description="HTTP requests sent, retries included")
    not_modified: int = Field(default=0, description="304 answers to conditional requests")
    cache_hits: int = Field(default=0, description="URLs served from the HTTP cache (fresh or revalidated)")
    retries: int = 0


class FactorRating(BaseModel):
    """An analyzer's rating of one risk factor, resting on cited articles."""

    category: Category
    name: str
    value: float = Field(ge=0, le=1)
    confidence: ConfidenceLevel
    evidence: list[str] = Field(default_factory=list)
    reasoning: str


class StageCounts(BaseModel):
    """What a stage's result counts: items in and out, and Claude's calls, tokens and cost."""

    items_in: int = 0
    items_out: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_hits: int = 0


class Analysis(BaseModel):
    """An analyzer's output for one run."""

    analyzer: Literal["heuristic", "claude", "structural"]
    model: str | None = None
    factors: list[FactorRating]
    executive_summary: str
    articles_considered: int
    analyst_seconds: int | None = None
    tokens_in: int = 0  # all input tokens, cache reads and writes included
    tokens_out: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_hits: int = 0  # replies served from JOSHUA's own response cache
    agreement: float | None = None  # consensus: 1 − mean spread of the samples' values
    flags: list[str] = Field(default_factory=list)  # citation problems, failed samples
    fallback_reason: str | None = None  # why Claude was asked but the heuristic answered
    change_explanation: str | None = None  # what moved since the previous assessment, in plain words

    def metrics(self) -> StageCounts:
        return StageCounts(
            items_in=self.articles_considered,
            items_out=len(self.factors),
            tokens=self.tokens_in + self.tokens_out,
            cost_usd=self.cost_usd,
            calls=self.calls,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_hits=self.cache_hits,
        )


class ScoredFactor(BaseModel):
    """A factor rating placed in the score: its weight, contribution, rank and shrunk value."""

    rating: FactorRating
    weight: float
    contribution: float
    rank: int
    adjusted_value: float = Field(ge=0, le=1)


class SensitivitySummary(BaseModel):
    """How the score answers one category's weight moving by ±20 %."""

    category: Category
    max_elasticity: float
    score_delta_minus_20: float
    score_delta_plus_20: float


class Alert(BaseModel):
    """An alert as stored and reported."""

    level: AlertLevel
    kind: str
    message: str
    threshold: float
    value: float


class Assessment(BaseModel):
    """The headline result of one run.

    `score` is the headline: the base score after shrinkage toward history. Seconds, band and the
    interval follow from it; `analyst_seconds` (Claude's own estimate) is never the headline.
    """

    assessment_id: str
    run_id: str
    assessed_at: datetime
    as_of: datetime
    seconds_to_midnight: int = Field(ge=0, le=1440)
    score: float = Field(ge=0, le=1)
    base_score: float = Field(ge=0, le=1)
    adjusted_score: float = Field(ge=0, le=1)
    ci_low: float = Field(ge=0, le=1)
    ci_high: float = Field(ge=0, le=1)
    ci_seconds_low: int = Field(ge=0, le=1440)
    ci_seconds_high: int = Field(ge=0, le=1440)
    mc_seed: int
    mc_iterations: int
    band: str
    confidence: ConfidenceLevel
    confidence_score: float = Field(ge=0, le=1)
    trend: Trend
    trend_slope: float | None  # Sen's slope, seconds per assessment
    trend_p_value: float | None
    change_points: int
    delta_seconds: int | None
    analyst_seconds: int | None
    change_explanation: str | None = None
    p_nuclear_use_365d: float = Field(ge=0, le=1)
    p_use_ci_low: float = Field(ge=0, le=1)
    p_use_ci_high: float = Field(ge=0, le=1)
    escalation_runs: int
    escalation_pathway: list[str] | None
    most_sensitive_category: Category | None
    analyzer: str
    model: str | None
    executive_summary: str
    data_label: str
    sample_data: bool
    seconds_linear: int | None = Field(default=None, ge=0, le=1440)  # the spec's floor((1 − score) × 1440)
    seconds_calibrated: int | None = Field(default=None, ge=0, le=1440)  # the Bulletin-calibrated clock
    clock_score: float | None = Field(default=None, ge=0, le=1)  # what the calibrated clock reads
    structural_score: float | None = Field(default=None, ge=0, le=1)  # the structural level as of as_of
    mapping: str = "linear"  # which mapping gave seconds_to_midnight
    factors: list[ScoredFactor]
    sensitivity: list[SensitivitySummary] = Field(default_factory=list)
    correlations: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)

    def metrics(self) -> StageCounts:
        return StageCounts(items_in=len(self.factors), items_out=1)


class StageMetrics(StageCounts):
    """Timing and volume of one pipeline stage."""

    stage: str
    seconds: float

    def record(self, counts: StageCounts) -> None:
        """Take a stage result's counts (its `metrics()`)."""
        for name in StageCounts.model_fields:
            setattr(self, name, getattr(counts, name))


class CollectionParams(BaseModel):
    """Parameters of a collection run: the flow's parameters, checked together."""

    model_config = ConfigDict(extra="forbid")  # a typo such as `snapshots` is an error, not the sample

    snapshot: str | None = Field(
        default=None,
        description="Snapshot directory to replay; empty means the bundled sample unless `live`.",
    )
    live: bool = Field(default=False, description="Fetch the sources over the network.")
    allow_sample: bool = Field(
        default=False, description="Let the bundled (fictional) sample write into a lake that holds real assessments."
    )
    data_dir: str | None = Field(default=None, description="Where the run writes; default data/.")
    run_id: str | None = Field(default=None, description="Rerun (replace) an earlier run id.")
    min_sources: int | None = Field(default=None, ge=1, description="Fewest sources that must succeed.")

    @model_validator(mode="after")
    def _one_data_source(self) -> CollectionParams:
        if self.live and self.snapshot:
            raise ValueError(
                f"`live` and `snapshot` exclude each other (snapshot={self.snapshot!r}): "
                "set live to collect over the network, or a snapshot to replay it"
            )
        return self


class AssessmentParams(CollectionParams):
    """Parameters of one assessment run: the flow's parameters, checked together."""

    analyzer: AnalyzerChoice = Field(
        default="auto", description="auto: Claude when a key is configured, else heuristic."
    )
    model: str | None = Field(default=None, description="Claude model id; default from joshua.toml.")
    consensus: int | None = Field(default=None, ge=1, le=7, description="Claude samples to combine.")
    use_cache: bool = Field(default=True, description="Reuse cached Claude replies and HTTP responses within their TTL.")


class BackfillParams(BaseModel):
    """Parameters of the reconstruction (`joshua backfill`, deployment `historical-backfill`)."""

    first_year: int = Field(default=1947, ge=1945, description="First year to reconstruct (as of 31 December).")
    last_year: int | None = Field(default=None, ge=1945, description="Last year; default the current one (as of today).")
    data_dir: str | None = Field(default=None, description="Where the run writes; default data/.")

    @model_validator(mode="after")
    def _ordered(self) -> BackfillParams:
        if self.last_year is not None and self.last_year < self.first_year:
            raise ValueError(f"last_year {self.last_year} is before first_year {self.first_year}")
        return self


class YearSummary(BaseModel):
    """One reconstructed year, as `joshua backfill` prints it."""

    year: int
    run_id: str
    score: float
    seconds_to_midnight: int
    seconds_linear: int | None
    seconds_calibrated: int | None
    p_nuclear_use_365d: float


class BackfillSummary(BaseModel):
    """What the reconstruction returns: every year, the peak P(use) year and the expected uses."""

    years: list[YearSummary]
    peak_p_use_year: int
    expected_uses: float
    lake_path: str


class EvidenceRef(BaseModel):
    """An article cited as evidence, as readers see it."""

    article_id: str
    source_id: str
    title: str
    url: str | None


class RunSummary(BaseModel):
    """What an assessment run returns to its caller (the CLI prints it; `--json` dumps it)."""

    run_id: str
    status: Literal["completed", "failed"]
    assessment: Assessment | None
    stages: list[StageMetrics]
    sources: list[SourceOutcome]
    evidence: dict[str, EvidenceRef] = Field(default_factory=dict)
    fallback_reason: str | None = None
    claude_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    report_path: str | None
    lake_path: str
    catalog_path: str
    error: str | None = None
