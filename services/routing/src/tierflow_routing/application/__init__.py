"""Routing's use cases, shared by the worker, the API and the CLI; they raise application errors, never HTTP."""
