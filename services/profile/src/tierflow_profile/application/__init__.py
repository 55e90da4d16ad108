"""The profile service's use cases shared by the worker and the CLI; dependencies come as arguments."""
