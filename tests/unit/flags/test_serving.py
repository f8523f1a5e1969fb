"""The OFREP rate limit (flags/serving.py `RateLimiter`): token buckets on a hand-moved clock.
The evaluator cache needs a database: tests/integration/api/test_api_ofrep.py covers it."""

from __future__ import annotations

import pytest

from launchdeck.flags.serving import RateLimiter


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_twice_the_rate_passes_then_the_next_waits() -> None:
    ticks = Ticks()
    limiter = RateLimiter(10, monotonic=ticks)

    waits = [limiter.wait_s("key") for _ in range(21)]

    assert waits[:20] == [0.0] * 20
    assert waits[20] == pytest.approx(0.1)


def test_the_bucket_refills_at_the_rate() -> None:
    ticks = Ticks()
    limiter = RateLimiter(10, burst=1, monotonic=ticks)
    assert limiter.wait_s("key") == 0.0
    assert limiter.wait_s("key") == pytest.approx(0.1)

    ticks.now += 0.05
    halfway = limiter.wait_s("key")
    ticks.now += 0.05
    refilled = limiter.wait_s("key")

    assert halfway == pytest.approx(0.05)
    assert refilled == 0.0


def test_a_refused_request_does_not_count() -> None:
    ticks = Ticks()
    limiter = RateLimiter(1, burst=1, monotonic=ticks)
    limiter.wait_s("key")

    refusals = [limiter.wait_s("key") for _ in range(5)]
    ticks.now += 1.0

    assert refusals == [pytest.approx(1.0)] * 5
    assert limiter.wait_s("key") == 0.0


def test_each_credential_has_its_own_bucket() -> None:
    limiter = RateLimiter(1, burst=1, monotonic=Ticks())
    limiter.wait_s("sdk-key-a")

    assert limiter.wait_s("sdk-key-a") > 0
    assert limiter.wait_s("sdk-key-b") == 0.0


def test_a_rate_of_zero_lets_everything_through() -> None:
    limiter = RateLimiter(0, monotonic=Ticks())

    assert {limiter.wait_s("key") for _ in range(10_000)} == {0.0}


def test_full_buckets_are_forgotten_when_too_many_keys_are_tracked() -> None:
    ticks = Ticks()
    limiter = RateLimiter(1, burst=1, monotonic=ticks, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.wait_s(key)
    ticks.now += 5.0  # every bucket is full again: forgetting one changes nothing

    limiter.wait_s("d")
    ticks.now += 0.5

    assert limiter.wait_s("d") == pytest.approx(0.5)
    assert limiter.wait_s("a") == 0.0
