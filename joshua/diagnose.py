"""`joshua diagnose`: is this installation ready to assess? Each check says ok, warn or fail."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from joshua.catalog import connect_lake
from joshua.collect.snapshot import load_snapshot
from joshua.errors import ConfigError, JoshuaError
from joshua.settings import Settings, load_settings
from joshua.sources import load_sources
from joshua.storage import check_reachable, redact

RUN_COUNTS_SQL = "SELECT count(*), count(*) FILTER (WHERE status = 'completed') FROM runs"
SOURCE_HEALTH_SQL = "SELECT source_id, status, error, consecutive_failures FROM sources ORDER BY source_id"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn, fail
    detail: str


def diagnose(data_dir: Path | str | None, prefect_api_url: str | None, prefect_api_origin: str = "PREFECT_API_URL") -> list[Check]:
    """Run every check; the settings check failing stops the others that need settings."""
    try:
        settings = load_settings(data_dir=data_dir)
    except JoshuaError as exc:
        return [Check("configuration", "fail", str(exc))]
    risk = settings.risk
    checks = [Check("configuration", "ok", f"weights sum to 1, {len(risk.bands)} bands, mapping {risk.mapping}")]
    checks += [_sources(settings), _snapshot(settings), _data_dir(settings), *_lake(settings)]
    checks.append(_prefect(prefect_api_url, prefect_api_origin))
    checks.append(_credentials(settings))
    return checks


def _sources(settings: Settings) -> Check:
    try:
        sources = load_sources(settings.sources_file)
    except JoshuaError as exc:
        return Check("sources", "fail", str(exc))
    enabled = sum(s.enabled for s in sources)
    return Check("sources", "ok", f"{enabled} enabled of {len(sources)} in {settings.sources_file.name}")


def _snapshot(settings: Settings) -> Check:
    try:
        snapshot = load_snapshot(settings.sample_snapshot)
    except JoshuaError as exc:
        return Check("offline snapshot", "fail", str(exc))
    return Check("offline snapshot", "ok", f"{snapshot.info.name}: {len(snapshot.responses)} recorded responses")


def _data_dir(settings: Settings) -> Check:
    if isinstance(settings.data_dir, str):
        try:
            check_reachable(settings.data_dir)
        except ConfigError as exc:
            return Check("data directory", "fail", str(exc))
        return Check("data directory", "ok", f"{redact(settings.data_dir)} is reachable")
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        return Check("data directory", "fail", f"{path} is not writable: {exc.strerror}")
    return Check("data directory", "ok", f"{path} is writable")


def _lake(settings: Settings) -> list[Check]:
    catalog = settings.paths.catalog
    try:
        with connect_lake(settings.paths.lake) as con:
            runs, completed = con.execute(RUN_COUNTS_SQL).fetchone()
            sources = con.execute(SOURCE_HEALTH_SQL).fetchall()
    except duckdb.Error as exc:
        return [Check("lake", "fail", f"cannot read the lake: {exc}")]
    summary = f"{completed} completed of {runs} runs" if runs else "empty: run `joshua assess`"
    checks = [Check("lake", "ok" if runs else "warn", summary)]
    checks.append(
        Check("catalog", "ok", f"{catalog}") if catalog.is_file() else Check("catalog", "warn", "missing: `joshua db rebuild`")
    )
    failed = [
        f"{source} failing for {failures} run(s) ({error})"
        for source, status, error, failures in sources
        if status == "failed"
    ]
    if sources:
        detail = "; ".join(failed) or f"no source failing among the {len(sources)} the last runs saw"
        checks.append(Check("source health", "warn" if failed else "ok", detail))
    return checks


def _prefect(api_url: str | None, origin: str) -> Check:
    if not api_url:
        return Check("prefect", "ok", f"no Prefect API URL ({origin}): runs use a temporary local server")
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=5)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return Check("prefect", "fail", f"{api_url} (from {origin}) is not reachable: {type(exc).__name__}")
    return Check("prefect", "ok", f"{api_url} (from {origin}) answers")


def _credentials(settings: Settings) -> Check:
    present = []
    if settings.anthropic_api_key is not None:
        present.append("ANTHROPIC_API_KEY set")
    if settings.claude.secret_block:
        present.append(f"Prefect Secret block {settings.claude.secret_block!r} configured")
    present += [f"{name} set" for name, secret in settings.credentials().items() if secret is not None]
    if not present:
        return Check("credentials", "warn", "no Claude key: assessments use the offline heuristic analyzer")
    return Check("credentials", "ok", ", ".join(present))


def overall(checks: list[Check]) -> str:
    if any(c.status == "fail" for c in checks):
        return "NOT READY"
    return "DEGRADED" if any(c.status == "warn" for c in checks) else "READY"
