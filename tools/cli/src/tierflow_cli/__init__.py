"""The `tierflow` command."""
