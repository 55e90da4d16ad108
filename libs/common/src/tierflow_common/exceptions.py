"""Errors the shared machinery raises; services translate them at their edges."""

from __future__ import annotations


class TierflowError(Exception):
    """Base of every tierflow error."""


class ContractViolation(TierflowError):
    """A message does not satisfy the event contract; it is dead-lettered, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentProcessingError(TierflowError):
    """Processing this event can never succeed; dead-letter it without further retries."""


class ConfigurationError(TierflowError):
    """Settings are missing or unsafe."""
