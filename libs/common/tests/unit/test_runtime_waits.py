"""A service's start-up and consumer wait out an unavailable dependency instead of exiting."""

from __future__ import annotations

import asyncio

import pytest

from tierflow_common.runtime import _while_unavailable


async def test_an_outage_is_waited_out_and_the_step_runs_again() -> None:
    attempts = []

    async def step() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("database restarting")

    assert await _while_unavailable(step, asyncio.Event(), what="startup") is True
    assert len(attempts) == 3


async def test_a_bug_is_not_waited_out() -> None:
    async def step() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await _while_unavailable(step, asyncio.Event(), what="startup")


async def test_a_stop_ends_the_wait() -> None:
    stop = asyncio.Event()

    async def step() -> None:
        stop.set()
        raise TimeoutError("broker not answering")

    assert await _while_unavailable(step, stop, what="consumer") is False
