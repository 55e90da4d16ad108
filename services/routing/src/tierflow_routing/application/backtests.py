"""Backtesting a candidate routing policy on the decision log (docs/experiments.md, "Backtesting a policy").

Reads every stored policy version (each decision is weighed against the version that made it) and
streams the decisions with a matured window of the length asked, with their kept facts and outcome,
through domain/backtest.Backtester. Refuses when some decisions give the candidate's choices no
support, unless the caller accepts an estimate on the supported decisions only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_routing.adapters import backtests
from tierflow_routing.adapters.policies import POLICIES
from tierflow_routing.application.errors import CandidateUnsupported, ReportInvalid
from tierflow_routing.domain.backtest import DEFAULT_CONFIDENCE, Backtest, Backtester, Unsupported
from tierflow_routing.domain.outcomes import WINDOW_DAYS
from tierflow_routing.domain.policy import RoutingPolicy


def unsupported_message(result: Backtest) -> str:
    """Why the backtest refuses: per (candidate rule, candidate action, logged action), the decisions lacking
    support."""
    lines = [
        f"{result.unsupported_decisions:,} of {result.decisions:,} decisions give the candidate "
        f"{result.candidate}'s choices no support: it chooses an action the logging policy never took for them "
        "(nothing logged says what that action leads to). Per candidate rule, candidate action and logged action:"
    ]
    lines += [_line(gap) for gap in result.unsupported]
    lines.append(
        "Randomise those choices in an experiment first, or estimate on the supported decisions only "
        "(--supported-only), which answers a narrower question."
    )
    return "\n".join(lines)


def _line(gap: Unsupported) -> str:
    return (
        f"  rule {gap.candidate_rule}: candidate {gap.candidate_action}, logged {gap.logged_action}: "
        f"{gap.decisions:,} decisions"
    )


async def backtest_policy(
    engine: AsyncEngine,
    candidate: RoutingPolicy,
    *,
    window_days: int = 30,
    since: datetime | None = None,
    supported_only: bool = False,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Backtest:
    """The candidate's outcome rates over `window_days` estimated from the logged decisions (IPW and SNIPW);
    CandidateUnsupported when some decisions lack support and `supported_only` is not given."""
    if window_days not in WINDOW_DAYS:
        raise ReportInvalid(f"window: one of {', '.join(map(str, WINDOW_DAYS))} days")
    if not 0 < confidence < 1:
        raise ReportInvalid(f"confidence: between 0 and 1, not {confidence}")
    async with engine.connect() as conn:
        logging = {stored.document.version: stored.document for stored in await POLICIES.versions(conn)}
        backtester = Backtester(candidate, logging, confidence=confidence)
        async for decision in backtests.logged_decisions(conn, window_days=window_days, since=since):
            backtester.add(decision)
    result = backtester.result()
    if result.unsupported and not supported_only:
        raise CandidateUnsupported(unsupported_message(result))
    return result
