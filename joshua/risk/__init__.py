"""The risk engine: pure functions from factor ratings to a score, seconds and a band."""
