"""Command-line tools: the only place that prints or exits."""
