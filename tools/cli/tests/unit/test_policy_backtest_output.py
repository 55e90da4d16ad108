"""`tierflow policy backtest`: the table, the summary and the JSON it prints from a result. Pure."""

from __future__ import annotations

import io
import json
import math

from rich.console import Console

from tierflow_cli.policy_commands import as_document, backtest_table, summary_lines
from tierflow_routing.domain.backtest import NO_FACTS, Backtest, Unsupported, estimate_outcome


def result(*, unsupported: tuple[Unsupported, ...] = ()) -> Backtest:
    returned = estimate_outcome("returned", [2.0, 0.0, 2.0, 0.0], [1.0, 1.0, 0.0, 0.0])
    inflow = estimate_outcome("net_inflow", [1.0], [1500.0])  # one decision: no interval
    assert returned is not None and inflow is not None
    gaps = sum(g.decisions for g in unsupported)
    return Backtest("cand-1", 6 + gaps, 4, {NO_FACTS: 2}, unsupported, 1.0, (returned, inflow))


def test_the_table_shows_the_logged_rate_both_estimates_and_the_counts() -> None:
    out = io.StringIO()
    Console(file=out, width=220).print(backtest_table(result(), window_days=30))
    text = out.getvalue()
    assert "cand-1: 30-day outcomes" in text and "candidate IPW [95%]" in text
    assert "50.0% [-48.0%, 148.0%]" in text  # 0.5 +- 1.96 * 0.5
    assert "1,500 CNY" in text


def test_supported_only_says_so_and_json_has_no_infinity() -> None:
    gap = Unsupported("default", "private_advisor/normal", "community/normal", 3)
    lines = summary_lines(result(unsupported=(gap,)), window_days=7)
    assert "estimated on 4" in lines[0] and any("SUPPORTED DECISIONS ONLY" in line for line in lines)
    assert any("rule default: candidate private_advisor/normal, logged community/normal: 3" in line for line in lines)
    assert any(f"skipped 2: {NO_FACTS}" in line for line in lines)
    document = as_document(result(unsupported=(gap,)), window_days=7, since=None)
    text = json.dumps(document, allow_nan=False)
    assert json.loads(text)["unsupported_decisions"] == 3
    inflow = document["estimates"][1]
    assert inflow["ipw"]["standard_error"] is None and not math.isnan(inflow["ipw"]["value"])
