"""Analyzing: factor ratings from curated evidence, by Claude or the offline heuristic."""

from pydantic import BaseModel

from joshua.errors import ConfigError


class AnalyzerSetup(BaseModel):
    """Which analyzer a run uses, and with which Claude model and consensus."""

    name: str
    model: str
    consensus: int


def resolve_analyzer(choice: str, has_api_key: bool) -> str:
    """The analyzer a run uses: `auto` means Claude when a key is configured, else the heuristic."""
    if choice == "auto":
        return "claude" if has_api_key else "heuristic"
    if choice == "claude" and not has_api_key:
        raise ConfigError("the claude analyzer needs ANTHROPIC_API_KEY (or claude.secret_block in joshua.toml)")
    return choice
