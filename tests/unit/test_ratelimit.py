"""The per-client sliding-window limiter (fixed clock): limit, slide, Retry-After, bounded
memory, how clients are named, and which proxies may name them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from verifier.ops.rate_limit import RateLimit, client_key
from verifier.settings import Settings


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_limit_plus_one_is_refused_and_not_counted() -> None:
    clock = Clock()
    limiter = RateLimit(3, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, True]
    refused = limiter.check("a")
    assert (refused.allowed, refused.first_refusal) == (False, True)
    again = limiter.check("a")
    assert (again.allowed, again.first_refusal) == (False, False)  # logged once per burst
    assert limiter.allow("b")  # another client has its own budget


def test_the_window_slides_in_whole_seconds_never_early() -> None:
    clock = Clock(1000.2)
    limiter = RateLimit(2, clock=clock)
    assert limiter.allow("a")  # second 1000
    clock.now = 1030.5
    assert limiter.allow("a")  # second 1030
    clock.now = 1059.9
    decision = limiter.check("a")
    assert not decision.allowed and decision.retry_after == 2  # second 1000 leaves at 1061
    clock.now = 1060.5
    assert not limiter.allow("a")  # an exact log would allow this; one second stricter at most
    clock.now = 1061.0
    assert limiter.allow("a")  # the first event has left the window
    assert not limiter.allow("a")
    clock.now = 1091.0
    assert limiter.allow("a")  # and the second one too


def test_retry_after_counts_down_to_the_bucket_that_frees_a_slot() -> None:
    clock = Clock(500.0)
    limiter = RateLimit(4, clock=clock)
    for now in (500.0, 500.5, 510.0, 520.0):
        clock.now = now
        assert limiter.allow("a")
    clock.now = 530.0
    assert limiter.check("a").retry_after == 31  # second 500 (two events) leaves at 561
    clock.now = 560.2
    assert limiter.check("a").retry_after == 1


@given(
    limit=st.integers(1, 8),
    steps=st.lists(st.floats(0, 40, allow_nan=False), min_size=1, max_size=60),
)
def test_decisions_match_an_exact_count_of_the_window(limit: int, steps: list[float]) -> None:
    """Against a plain log of every allowed event: the same decisions, wherever the buckets
    stand (the limiter keeps a running total instead of adding its buckets up)."""
    clock = Clock(1000.0)
    limiter = RateLimit(limit, clock=clock)
    allowed: list[int] = []  # the second of each allowed event
    for step in steps:
        clock.now += step
        # an event's bucket leaves once all of its second is 60 s old
        window = [second for second in allowed if clock.now - (second + 1) < 60]
        expected = len(window) < limit
        assert limiter.allow("a") == expected
        if expected:
            allowed.append(int(clock.now // 1))


def test_memory_is_bounded_by_clients_and_seconds() -> None:
    clock = Clock()
    limiter = RateLimit(100_000, clock=clock)
    for i in range(RateLimit.MAX_CLIENTS + 50):
        assert limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter.seen) == RateLimit.MAX_CLIENTS
    assert "10.0.0.0" not in limiter.seen  # the least recently active went first
    for _ in range(300):  # a busy client for five minutes: at most 61 buckets
        clock.now += 1.0
        limiter.allow("busy")
    assert len(limiter.seen["busy"].buckets) <= 61


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_clients_are_ipv4_addresses_or_ipv6_networks(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings(trusted_proxies="10.0.0.0/8, ::1,192.0.2.5")
    assert settings.trusted_proxy_list == ["10.0.0.0/8", "::1", "192.0.2.5"]
    assert Settings().trusted_proxy_list == []  # default: believe no X-Forwarded-For
    for wrong in ("proxy.example", "10.0.0.1/8", "*"):  # names, host bits, wildcards
        with pytest.raises(ValidationError, match="no address or network"):
            Settings(trusted_proxies=wrong)
