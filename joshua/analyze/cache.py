"""A content-addressed cache of Claude replies in `data/cache/claude/`.

The key hashes everything that determines a reply (model, system prompt, tool schema version,
messages, sampling parameters, consensus sample number) and nothing that does not (no timestamps),
so a rerun on the same evidence within the TTL is answered from disk at zero tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any


def cache_key(request: dict[str, Any], sample: int) -> str:
    """The hex digest naming a request's cached reply."""
    canonical = json.dumps({"request": request, "sample": sample}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ReplyCache:
    """Replies stored as JSON files named by their key, valid for `ttl_hours`."""

    def __init__(self, directory: Path, ttl_hours: float):
        self.directory = directory
        self.ttl_seconds = ttl_hours * 3600

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached reply, or None when absent, expired or unreadable."""
        path = self.directory / f"{key}.json"
        try:
            if time.time() - path.stat().st_mtime > self.ttl_seconds:
                return None
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def put(self, key: str, reply: dict[str, Any]) -> None:
        """Store a reply atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
        temporary.write_text(json.dumps(reply), encoding="utf-8")
        os.replace(temporary, self.directory / f"{key}.json")
