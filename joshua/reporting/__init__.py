"""Reports people want to read: Markdown, self-contained HTML and JSON, the clock and the charts."""
