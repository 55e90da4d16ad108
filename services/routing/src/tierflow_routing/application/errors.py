"""What routing's use cases refuse, named for the rule; the API maps the categories to HTTP statuses."""

from __future__ import annotations

from tierflow_common.exceptions import Conflict, Invalid, NotFound, Unavailable


class NotRouted(NotFound):
    """The customer has no routing decision yet."""


class UnknownCustomer(NotFound):
    """Nothing is known of the customer yet (no profile or score arrived)."""


class NoOverride(NotFound):
    """The customer has no override to remove."""


class UnknownAdvisor(NotFound):
    """No advisor is registered under this id."""


class NoActivePolicy(NotFound):
    """No routing policy is active yet."""


class NotReady(Unavailable):
    """Nothing can be routed until a routing policy is active."""


class OverrideInvalid(Invalid):
    """The override breaks a rule of its own (expiry window, an advisor for another flow)."""


class OverrideRejected(Conflict):
    """The override cannot be honoured now (the advisor is unknown, ineligible or full)."""


class PolicyInvalid(Invalid):
    """The uploaded routing policy is not valid; the detail names every problem."""


class PolicyVersionTaken(Conflict):
    """The policy version exists with another content."""


class ExperimentLocked(Conflict):
    """The policy changes an experiment or holdout stored before (population, arms, weights, shares or salt)."""


class UnknownExperiment(NotFound):
    """No routing policy version defines the experiment or holdout."""


class ReportInvalid(Invalid):
    """An experiment report asked for a window, outcome or control that does not exist."""


class CandidateUnsupported(Invalid):
    """The logged decisions give a candidate policy's choices no support (the backtest refuses to estimate)."""
