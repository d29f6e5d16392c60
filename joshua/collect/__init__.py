"""Collecting: fetch each source (live or from a snapshot) and parse it into raw items."""
