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


class ApplicationError(TierflowError):
    """A use case refused a request; the edge (HTTP, CLI) translates the category, never the reverse.

    Services subclass the category that fits (`Forbidden`, `NotFound`, `Conflict`, `Invalid`, `Unavailable`) with
    errors named for their own rules (`NotRouted`, `OverrideRejected`, ...).
    """

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Forbidden(ApplicationError):
    """The caller may not do this to what the request names (an advisor closing another advisor's task)."""

    code = "forbidden"


class NotFound(ApplicationError):
    """What the request names does not exist (yet)."""

    code = "not_found"


class Conflict(ApplicationError):
    """The request clashes with the current state (a version taken, no capacity left)."""

    code = "conflict"


class Invalid(ApplicationError):
    """The request is well-formed but breaks a rule (an expiry in the past, an invalid policy)."""

    code = "invalid_request"


class Unavailable(ApplicationError):
    """The service cannot answer yet (nothing active to decide with)."""

    code = "unavailable"
