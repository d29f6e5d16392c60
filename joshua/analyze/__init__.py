"""Analyzing: factor ratings from curated evidence, by Claude or the offline heuristic."""

from joshua.errors import ConfigError

# The Claude analyzer arrives with its own issue; until then only the heuristic is implemented.
IMPLEMENTED = frozenset({"heuristic"})


def resolve_analyzer(choice: str, has_api_key: bool) -> str:
    """The analyzer a run uses: `auto` means Claude when a key is configured and Claude is available."""
    if choice == "auto":
        return "claude" if has_api_key and "claude" in IMPLEMENTED else "heuristic"
    if choice not in IMPLEMENTED:
        raise ConfigError(f"the {choice} analyzer is not yet available; use --analyzer heuristic or auto")
    return choice
