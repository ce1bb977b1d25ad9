"""The wallet rate limit counted in the shared store, so every instance counts together.

With a Redis store, N verifier processes behind one address would otherwise each allow
``limit`` requests a minute (N times the limit). Here a client's requests are counted in the
store's atomic counters (:meth:`~verifier.store.base.TransactionStore.add_within`), one group per
client and clock minute, and the window slides: the previous minute's count is carried over in
proportion to the part of it still inside the last 60 seconds (the sliding-window counter), so a
client cannot double its rate across a minute boundary. A refused request is not counted.

Cost: one store round trip per limited request. The previous minute's count is read from the
store too, but a minute is final once it is over - no instance counts into it after its clock
has passed it - so each process reads it once per client and minute, :data:`SETTLE` seconds into
the new minute at the earliest (instances' clocks and requests in flight at the boundary may
still add to it until then; before that it is read on every request). An unreachable store
fails closed (the request is answered 503 by the store error handler, like every other store
failure).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from verifier.ops.rate_limit import WINDOW, Decision
from verifier.store.base import TransactionStore

__all__ = ["SETTLE", "SharedRateLimit"]

SETTLE = 2.0  # seconds into a minute after which the previous minute's count is final


class SharedRateLimit:
    """At most ``limit`` events per client in any 60 seconds, across every instance."""

    MAX_CLIENTS = 4096  # remembered per process only to log the first refusal of a burst

    def __init__(
        self, store: TransactionStore, limit: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.limit = limit
        self.clock = clock
        self._refused: OrderedDict[str, bool] = OrderedDict()
        self._settled: OrderedDict[str, tuple[int, int]] = OrderedDict()  # client -> (minute, n)

    async def check(self, client: str) -> Decision:
        """Count one event for ``client`` if it is within the limit; else the wait."""
        now = self.clock()
        minute = math.floor(now / WINDOW)
        left = (minute + 1) * WINDOW - now  # seconds of this minute still to come
        previous = await self._previous(client, minute, settled=WINDOW - left >= SETTLE)
        carried = math.ceil(previous * left / WINDOW)  # never more than the limit
        room = self.limit - carried
        counted = None
        if room > 0:
            counted = await self.store.add_within(
                f"rate:{client}:{minute}", {"n": 1}, {"n": room}, ttl=2 * WINDOW
            )
        first = not self._refused.pop(client, False)
        if counted is not None:
            self._remember(client, refused=False)
            return Decision(True)
        self._remember(client, refused=True)
        return Decision(False, max(1, math.ceil(left)), first)

    async def _previous(self, client: str, minute: int, *, settled: bool) -> int:
        """The count of ``client``'s minute before ``minute``; kept once that count is final."""
        kept = self._settled.get(client)
        if kept is not None and kept[0] == minute - 1:
            return kept[1]
        before = await self.store.get_counters(f"rate:{client}:{minute - 1}")
        count = before.get("n", 0)
        if settled:
            self._settled[client] = (minute - 1, count)
            self._settled.move_to_end(client)
            while len(self._settled) > self.MAX_CLIENTS:
                self._settled.popitem(last=False)
        return count

    def _remember(self, client: str, *, refused: bool) -> None:
        self._refused[client] = refused
        while len(self._refused) > self.MAX_CLIENTS:
            self._refused.popitem(last=False)
