"""The rules scoring's use cases refuse requests by (categories from tierflow_common.exceptions)."""

from __future__ import annotations

from tierflow_common.db.registry import UnknownVersion, VersionConflict
from tierflow_common.exceptions import Invalid, NotFound, Unavailable

__all__ = ["FitRefused", "NoActivePolicy", "PolicyInvalid", "ScoreNotFound", "UnknownVersion", "VersionConflict"]


class PolicyInvalid(Invalid):
    """A policy document breaks the policy's rules; the detail lists every problem. Nothing was stored."""


class NoActivePolicy(Unavailable):
    """No policy is active yet (the scoring service installs the default when it starts)."""


class FitRefused(Invalid):
    """The data cannot be fitted (no customers, recency after T, an unknown time unit)."""


class ScoreNotFound(NotFound):
    """The customer has no stored score."""
