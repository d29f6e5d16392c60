"""Settings, read once: defaults < joshua.toml < JOSHUA_* environment < flow parameters.

The flow entrypoint or the CLI builds a `Settings` and passes values down; pure code never
reads `os.environ`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from joshua.errors import ConfigError
from joshua.storage import check_url, is_url
from schemas.records import Category

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_FILE_ENV = "JOSHUA_CONFIG"
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "joshua.toml"


class CollectSettings(BaseModel):
    """How sources are fetched: limits, politeness, retries (DESIGN decision 10: here only) and cache."""

    min_sources: int = Field(default=3, ge=1)
    max_workers: int = Field(default=8, ge=1, le=64)
    user_agent: str = "JOSHUA/0.1 (open-source nuclear-risk monitor; python-httpx)"
    max_body_bytes: int = Field(default=10_000_000, gt=0, description="cap on a decompressed body")
    max_text_chars: int = Field(default=5_000, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10, description="tries per request on 429, 5xx and transport errors")
    backoff_s: float = Field(default=1.0, ge=0, description="first retry delay; doubles each retry, plus 0-1 s jitter")
    max_backoff_s: float = Field(default=30.0, ge=0)
    max_retry_after_s: float = Field(default=60.0, ge=0, description="a longer Retry-After fails the source instead")
    max_redirects: int = Field(default=5, ge=0)
    http_cache: bool = Field(default=True, description="conditional GETs and fresh reuse from data/cache/http/")


class CurateSettings(BaseModel):
    """How raw items become articles."""

    min_relevance: float = Field(default=0.3, ge=0, le=1, description="below it an article is kept but not evidence")
    simhash_threshold: float = Field(default=0.85, ge=0.5, lt=1, description="similarity above which items are near-duplicates")
    lookback_days: float = Field(default=7.0, ge=0, description="earlier runs' articles that count as already seen")


class AnalyzeSettings(BaseModel):
    """The offline heuristic analyzer's knobs."""

    reference_volume: int = Field(default=12, ge=1, description="Articles that make a category salient.")
    evidence_per_factor: int = Field(default=5, ge=1)


class ModelPrice(BaseModel):
    """Dollars per million tokens of one model, and when the figures were taken."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float = Field(ge=0, description="5-minute cache writes")
    cache_read: float = Field(ge=0, description="cache hits and refreshes")
    as_of: str


class ClaudeSettings(BaseModel):
    """The Claude analyzer: models, prices, budgets, evidence, cache and retries."""

    model: str = "claude-sonnet-5-5"
    small_model: str = "claude-haiku-5-5"
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    max_tokens: int = Field(default=1800, ge=256, description="output cap per call")
    consensus: int = Field(default=1, ge=1, le=7)
    evidence_per_category: int = Field(default=4, ge=1)
    snippet_chars: int = Field(default=360, ge=80)
    max_input_tokens: int = Field(default=9_000, ge=1_000, description="hard cap per call")
    max_usd_per_run: float = Field(default=0.25, ge=0)
    max_usd_per_month: float = Field(default=20.0, ge=0)
    cache_ttl_hours: float = Field(default=6.0, ge=0)
    max_retries: int = Field(default=3, ge=0, le=10, description="the SDK's own retries (DESIGN decision 10)")
    timeout_s: float = Field(default=120.0, gt=0)
    circuit_breaker_failures: int = Field(default=2, ge=1, description="failed calls that stop Claude for the run")
    count_tokens: bool = Field(default=False, description="ask messages.count_tokens before each call")
    secret_block: str | None = Field(default=None, description="Prefect Secret block holding the key")

    def price(self, model: str) -> ModelPrice:
        """The price row of a model; a model without one cannot be budgeted and is refused."""
        try:
            return self.prices[model]
        except KeyError:
            raise ConfigError(f"no price for model {model!r} in [claude.prices] of joshua.toml") from None


NOTIFICATION_EVENTS = (
    "assessment.completed",
    "assessment.failed",
    "risk.level_change",
    "risk.critical_change",
    "data.source_failed",
)


class NotificationSettings(BaseModel):
    """Where events go: a signed generic webhook, a Slack-compatible webhook, SMTP email."""

    # Webhook URLs carry their own secrets (Slack's path, `?token=`): kept as secrets, shown as scheme://host.
    webhook_url: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    slack_webhook_url: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the SMTP server with (default: the system's)")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    email_from: str = "joshua@localhost"
    email_to: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: list(NOTIFICATION_EVENTS))
    attempts: int = Field(default=3, ge=1, le=10, description="delivery attempts per event and channel")
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _webhook_is_signed(self) -> NotificationSettings:
        if self.webhook_url and not (self.webhook_secret and self.webhook_secret.get_secret_value()):
            raise ValueError("webhook_url needs a non-empty webhook_secret to sign deliveries with")
        return self


class SecretBlocks(BaseModel):
    """Prefect Secret blocks, by name, holding secrets the environment does not set (DESIGN decision 11).

    E.g. `JOSHUA_SECRET_BLOCKS__NEWSAPI_KEY=joshua-newsapi-key`; the environment variable itself
    (NEWSAPI_KEY) wins when both are set. The Claude key's block is `claude.secret_block`.
    """

    newsapi_key: str | None = None
    x_bearer_token: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    slack_webhook_url: str | None = None
    smtp_password: str | None = None


# Where each secret lives in Settings (None: top level); every one is held as a SecretStr.
SECRET_FIELDS: dict[str, str | None] = {
    "newsapi_key": None,
    "x_bearer_token": None,
    "webhook_url": "notifications",
    "webhook_secret": "notifications",
    "slack_webhook_url": "notifications",
    "smtp_password": "notifications",
}


class RiskSettings(BaseModel):
    """Weights, bands and the clock mapping (DESIGN decisions 2-4)."""

    weights: dict[Category, float] = Field(
        default_factory=lambda: {
            Category.NUCLEAR_ARSENAL: 0.15,
            Category.DOCTRINE_POSTURE: 0.15,
            Category.REGIONAL_CONFLICT: 0.20,
            Category.LEADERSHIP_RHETORIC: 0.10,
            Category.TECHNICAL_INCIDENT: 0.15,
            Category.COMMUNICATION_ARMS_CONTROL: 0.10,
            Category.EMERGING_TECHNOLOGY: 0.10,
            Category.ECONOMIC: 0.05,
        }
    )
    # Upper bounds in seconds, nearest midnight first; above the last bound the band is "minimal".
    bands: dict[str, int] = Field(
        default_factory=lambda: {"critical": 100, "severe": 200, "high": 400, "moderate": 600, "low": 900}
    )
    mapping: Literal["linear", "calibrated", "auto"] = Field(
        default="auto", description="linear; calibrated; auto = calibrated once its fit meets the targets"
    )
    news_bound: float = Field(
        default=0.05, ge=0, le=0.5, description="How far news may move a daily score from the structural level."
    )
    mc_iterations: int = Field(default=10_000, ge=100, description="Monte Carlo draws for the score interval.")
    escalation_runs: int = Field(default=10_000, ge=100, description="Simulated years for P(nuclear use).")

    @model_validator(mode="after")
    def _check(self) -> RiskSettings:
        total = sum(self.weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"risk weights must sum to 1.0, they sum to {total:.4f}")
        bounds = list(self.bands.values())
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("risk bands must be listed with strictly increasing seconds")
        return self


class RunPaths(BaseModel):
    """Where runs write: the lake, staging, reports, caches and the DuckDB catalog.

    `Settings.paths` gives the layout of a data directory (staging is the root of every run's
    staging area); `for_run` narrows staging to one run's own directory. With an object-store data
    directory (`remote`, a URL) the lake is a URL below it, and staging, reports, caches and the
    catalog are a local working directory: reports and caches are published under `remote` too.
    """

    model_config = {"frozen": True}

    lake: Path | str
    staging: Path
    reports: Path
    cache: Path
    catalog: Path
    remote: str | None = None

    @classmethod
    def under(cls, data_dir: Path) -> RunPaths:
        """The layout of a data directory."""
        return cls(
            lake=data_dir / "lake",
            staging=data_dir / "staging",
            reports=data_dir / "reports",
            cache=data_dir / "cache",
            catalog=data_dir / "joshua.duckdb",
        )

    @classmethod
    def remote_under(cls, url: str, work_dir: Path) -> RunPaths:
        """The layout of an object-store data directory worked on from a local directory."""
        return cls.under(work_dir).model_copy(update={"lake": f"{url}/lake", "remote": url})

    @property
    def search_index(self) -> Path:
        """The item-search index (joshua/search.py), a derived local file beside the catalog."""
        return self.catalog.with_name("search.duckdb")

    def for_run(self, run_id: str) -> RunPaths:
        """The same layout with staging narrowed to one run's directory."""
        return self.model_copy(update={"staging": self.staging / run_id})


def default_work_dir(url: str) -> Path:
    """The local working directory of an object-store data directory: ~/.cache/joshua/<bucket-prefix-hash>."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[1]).strip("-")[:60]
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return Path.home() / ".cache" / "joshua" / f"{slug}-{digest}"


class Settings(BaseSettings):
    """Everything a run needs to know, from defaults, joshua.toml and JOSHUA_* variables."""

    model_config = SettingsConfigDict(
        env_prefix="JOSHUA_", env_nested_delimiter="__", extra="forbid", populate_by_name=True
    )

    data_dir: Path | str = Field(
        default=PROJECT_ROOT / "data", description="A local directory, or an object-store URL (s3://bucket/prefix)"
    )
    work_dir: Path | None = Field(
        default=None, description="Local working directory of an object-store data_dir (default ~/.cache/joshua/…)"
    )
    sources_file: Path = PROJECT_ROOT / "data" / "sources.toml"
    lexicon_file: Path = PROJECT_ROOT / "data" / "lexicon.toml"
    sample_snapshot: Path = PROJECT_ROOT / "data" / "snapshots" / "sample"
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("JOSHUA_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    newsapi_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("JOSHUA_NEWSAPI_KEY", "NEWSAPI_KEY"))
    x_bearer_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("JOSHUA_X_BEARER_TOKEN", "X_BEARER_TOKEN")
    )
    reports_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="Base URL where data/reports is served; the run's link artifact and the report's charts point there",
    )
    collect: CollectSettings = CollectSettings()
    curate: CurateSettings = CurateSettings()
    analyze: AnalyzeSettings = AnalyzeSettings()
    claude: ClaudeSettings = ClaudeSettings()
    notifications: NotificationSettings = NotificationSettings()
    risk: RiskSettings = RiskSettings()
    secret_blocks: SecretBlocks = SecretBlocks()

    @field_validator("data_dir", mode="before")
    @classmethod
    def _path_or_url(cls, value: object) -> object:
        """A URL stays a string (a Path would fold its `//`); anything else is a local path."""
        if isinstance(value, str) and is_url(value):
            return check_url(value)
        return Path(value) if isinstance(value, str | os.PathLike) else value

    @field_validator("data_dir")
    @classmethod
    def _duckdb_can_open(cls, path: Path | str) -> Path | str:
        if isinstance(path, Path) and "?" in str(path):  # DuckDB takes `?` in a database path for the start of URI parameters
            raise ValueError(f"{path}: DuckDB cannot keep its catalog under a path containing '?'")
        return path

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file))

    @property
    def paths(self) -> RunPaths:
        """The data directory's layout (lake, staging root, reports, caches, catalog)."""
        if isinstance(self.data_dir, str):
            return RunPaths.remote_under(self.data_dir, self.local_dir)
        return RunPaths.under(self.data_dir)

    @property
    def local_dir(self) -> Path:
        """Where local files go: the data directory itself, or an object-store one's working directory."""
        if isinstance(self.data_dir, str):
            return self.work_dir or default_work_dir(self.data_dir)
        return self.data_dir

    def credentials(self) -> dict[str, SecretStr | None]:
        """The source credentials, by the environment variable that names them."""
        return {"NEWSAPI_KEY": self.newsapi_key, "X_BEARER_TOKEN": self.x_bearer_token}

    def credential_secret(self, name: str | None) -> SecretStr | None:
        """A source's credential, still a secret (what tasks receive), or None."""
        return self.credentials().get(name) if name else None

    def missing_secret_blocks(self) -> dict[str, str]:
        """{secret: block name} for each secret the environment left unset and a block is named for."""
        wanted = {}
        for name, section in SECRET_FIELDS.items():
            block = getattr(self.secret_blocks, name)
            if block and getattr(getattr(self, section) if section else self, name) is None:
                wanted[name] = block
        return wanted

    def with_secrets(self, values: dict[str, str]) -> Settings:
        """A copy with these secrets (read from their blocks) filled in."""
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            section = SECRET_FIELDS[name]
            (sections.setdefault(section, {}) if section else top)[name] = SecretStr(value)
        for section, update in sections.items():
            top[section] = getattr(self, section).model_copy(update=update)
        return self.model_copy(update=top)

    def credential(self, name: str) -> str | None:
        """The value of a source's credential (named by its environment variable), or None."""
        secret = self.credential_secret(name)
        return secret.get_secret_value() if secret else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings, overrides (flow parameters, CLI options) winning; bad values raise ConfigError."""
    config_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    if CONFIG_FILE_ENV in os.environ and not config_file.is_file():
        raise ConfigError(f"{CONFIG_FILE_ENV} points to {config_file}, which is not a file")
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
    except ValueError as exc:  # a malformed joshua.toml
        raise ConfigError(f"cannot read {config_file}: {exc}") from exc
