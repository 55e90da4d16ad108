"""Scoring's use cases, shared by the worker and the CLI: they take their dependencies as arguments."""
