"""Test support for tierflow: infrastructure fixtures, event builders, Kafka and wait helpers."""
