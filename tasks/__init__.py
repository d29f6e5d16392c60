"""Prefect tasks: thin wrappers that do the I/O at the edge and call into joshua/."""
