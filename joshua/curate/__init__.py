"""Curating: raw items into deduplicated, tagged, quality-scored articles."""
