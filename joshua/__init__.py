"""JOSHUA: an open nuclear-risk monitor."""
