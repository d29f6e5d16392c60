"""The source registry: `data/sources.toml` read into validated `Source` records."""

import tomllib
from pathlib import Path

from pydantic import ValidationError

from joshua.errors import ConfigError
from schemas.records import Source


def load_sources(path: Path) -> list[Source]:
    """Read and validate every [[sources]] entry of a sources file; ids must be unique."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    entries = document.get("sources", [])
    if not entries:
        raise ConfigError(f"sources file {path} declares no [[sources]]")
    sources = []
    for position, entry in enumerate(entries, start=1):
        try:
            sources.append(Source(**entry))
        except (ValidationError, TypeError) as exc:
            raise ConfigError(f"source #{position} in {path} is invalid: {exc}") from exc
    ids = [source.id for source in sources]
    duplicates = sorted({source_id for source_id in ids if ids.count(source_id) > 1})
    if duplicates:
        raise ConfigError(f"duplicate source ids in {path}: {', '.join(duplicates)}")
    return sources
