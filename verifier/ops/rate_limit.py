"""Per-client request rate limits: at most ``limit`` events per client in any 60 seconds.

A sliding window counted in one-second steps: each client keeps at most 61 ``[second, count]``
buckets, and a bucket leaves the window once all of its second is 60 seconds old (so a slot
frees at most one second later than with an exact log - never earlier). At most
:attr:`RateLimit.MAX_CLIENTS` clients are remembered; beyond that the least recently active one
is forgotten. Memory is therefore bounded whatever the limit and however many addresses a
flood comes from.

Clients are named by :func:`client_key`: an IPv4 address, or an IPv6 address's /64 prefix (one
host usually holds a whole /64, so counting single IPv6 addresses would count nothing). The
address is the TCP peer's; behind a reverse proxy ``AGENTVP_TRUSTED_PROXIES`` makes the
application take it from ``X-Forwarded-For`` instead (:mod:`verifier.app`).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Decision", "RateLimit", "client_key"]

WINDOW = 60


class Decision(NamedTuple):
    """The answer for one event: allowed, or refused with the seconds until one would pass."""

    allowed: bool
    retry_after: int = 0
    first_refusal: bool = False  # refused, and this client's previous event was allowed


class _Client:
    __slots__ = ("buckets", "counted", "refused")

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [second, count], oldest first
        self.counted = 0  # the sum of the buckets' counts
        self.refused = False


class RateLimit:
    """At most ``limit`` events per client in any 60 seconds (bounded memory)."""

    MAX_CLIENTS = 4096

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self.seen: dict[str, _Client] = {}  # least recently active first

    def allow(self, client: str) -> bool:
        """Count one event for ``client`` if it is within the limit; False (not counted) else."""
        return self.check(client).allowed

    def check(self, client: str) -> Decision:
        """:meth:`allow` with the time to wait when refused."""
        now = self.clock()
        second = math.floor(now)
        state = self.seen.pop(client, None) or _Client()
        buckets = state.buckets
        while buckets and now - (buckets[0][0] + 1) >= WINDOW:
            state.counted -= buckets.popleft()[1]
        if len(self.seen) >= self.MAX_CLIENTS:
            self.seen.pop(next(iter(self.seen)))  # the least recently active client
        self.seen[client] = state
        if state.counted >= self.limit:
            first, state.refused = not state.refused, True
            return Decision(False, self._wait(buckets, state.counted, now), first)
        state.refused = False
        state.counted += 1
        if buckets and buckets[-1][0] == second:
            buckets[-1][1] += 1
        else:
            buckets.append([second, 1])
        return Decision(True)

    def _wait(self, buckets: deque[list[int]], counted: int, now: float) -> int:
        """Whole seconds until enough old buckets have left the window for one more event."""
        for start, count in buckets:
            counted -= count
            if counted < self.limit:
                return max(1, math.ceil(start + 1 + WINDOW - now))
        return 1  # unreachable while counted >= limit >= 1


def client_key(host: str | None) -> str:
    """The name a client is counted under: its IPv4 address or IPv6 /64; else the text."""
    if not host:
        return "unknown"
    return _client_key(host)


@functools.lru_cache(maxsize=RateLimit.MAX_CLIENTS)
def _client_key(host: str) -> str:
    """:func:`client_key` of a non-empty host, remembered for as many hosts as the limit
    counts (``ipaddress`` parses in Python: a few microseconds on every wallet request)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]  # not an IP address (e.g. a test transport's name)
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
