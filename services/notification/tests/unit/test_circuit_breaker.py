"""The webhook's circuit breaker: opens after failures in a row, lets one trial through, closes on success."""

from __future__ import annotations

import pytest

from tierflow_notification.adapters.channels import CircuitBreaker, CircuitOpen
from tierflow_notification.runner import DeliveryPolicy


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_threshold_failures_and_half_opens_after_the_pause() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=3, reset_after_s=30, clock=time)
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    time.now = 10
    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()
    assert raised.value.retry_in_s == 20
    time.now = 31
    breaker.before_call()  # the one trial call
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # nobody else while the trial runs
    breaker.failed()
    assert breaker.state == "open"  # a failed trial opens it again at once
    time.now = 62
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.before_call()


def test_a_success_resets_the_count_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after_s=30, clock=FakeTime())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"


def test_retries_back_off_exponentially_up_to_the_maximum_and_stretch_with_the_clock() -> None:
    policy = DeliveryPolicy(backoff_s=2, backoff_max_s=60)
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]
    fast = DeliveryPolicy(backoff_s=2, clock_speed=100)
    assert fast.backoff(1).total_seconds() == 200
