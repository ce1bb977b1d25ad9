"""AP2 usage state: budget, occurrences and spacing of each open mandate, across merchants and
verifier instances, consumed only when a verification is accepted.

Each open payment mandate has one counter group (its :attr:`Usage.key`: the hash of the signed
JWT that carries it and of its item digest, so disclosing other allow-list members does not
open a new budget) with ``uses``, ``spent`` and ``last`` (the time of the last accepted use).
Everything goes through the store's atomic ``add_within``:

- ``uses`` +1 within ``max_occurrences``, ``spent`` +amount within the budget;
- the spacing of ``payment.agent_recurrence`` as a compare-and-set on ``last``: we read
  ``last``, check ``now - last >= min_interval``, and add ``now - last`` with the bound
  ``last <= now`` - which only holds if nobody else moved ``last`` meanwhile (then we re-read).

Several open mandates in one verification (payment and checkout) are taken in order; if a later
one fails, the earlier ones are given back (negative increments), so a rejection changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.protocol.mandates.ap2 import Usage
from verifier.protocol.mandates.authority import Reason
from verifier.store.base import TransactionStore

__all__ = ["consume_all", "counter_key"]

RETRIES = 8
TTL = 400 * 86400  # a year of ANNUALLY spacing, and then some


def counter_key(usage: Usage) -> str:
    return f"ap2:open:{usage.key}"


async def _consume(
    store: TransactionStore, usage: Usage, now: int
) -> tuple[dict[str, int], int] | Reason:
    key = counter_key(usage)
    for _ in range(RETRIES):
        seen = await store.get_counters(key)
        last = seen.get("last", 0)
        if usage.min_interval and seen.get("uses", 0) and now - last < usage.min_interval:
            return Reason("recurrence_too_soon", f"last use {now - last} s ago")
        limits = {"last": now}
        if usage.max_occurrences is not None:
            limits["uses"] = usage.max_occurrences
        if usage.budget is not None:
            limits["spent"] = usage.budget
        increments = {"uses": 1, "spent": usage.amount, "last": now - last}
        counters = await store.add_within(key, increments, limits, ttl=TTL)
        if counters is not None:
            return counters, last
        after = await store.get_counters(key)
        if after.get("last", 0) != last:
            continue  # another use landed meanwhile: decide again on fresh counters
        if usage.max_occurrences is not None and after.get("uses", 0) + 1 > usage.max_occurrences:
            return Reason("recurrence_exhausted", f"{usage.max_occurrences} uses already made")
        return Reason(
            "budget_exhausted", f"{after.get('spent', 0)} + {usage.amount} > {usage.budget}"
        )
    return Reason("usage_contended", "too many concurrent uses of this open mandate")


async def consume_all(
    store: TransactionStore, usages: Sequence[Usage], *, now: int
) -> tuple[list[dict[str, int]], Reason | None]:
    """Consume every usage or none: the counters after, or the reason nothing was spent."""
    done: list[tuple[Usage, dict[str, int], int]] = []
    for usage in usages:
        result = await _consume(store, usage, now)
        if isinstance(result, Reason):
            for prior, _, prior_last in reversed(done):
                back = {"uses": -1, "spent": -prior.amount, "last": prior_last - now}
                await store.add_within(counter_key(prior), back, {}, ttl=TTL)
            return [], result
        done.append((usage, *result))
    return [counters for _, counters, _ in done], None
