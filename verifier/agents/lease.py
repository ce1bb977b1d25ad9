"""A lease on an agent verification's decision: a decision whose process died is finished by
another instance, never lost and never counted twice.

The instance that decides first claims the record with a compare-and-set (``pending`` ->
``request_retrieved``, "deciding") that also writes ``meta.lease`` = {``token``, ``until``}: a
random token naming this attempt and the time its lease runs out. While the lease runs, every
other instance leaves the decision alone. Once it has run out (the decider crashed, was killed
or hung), the next evaluation on any instance - an RP reading the verification is enough - may
take it over with a second compare-and-set that expects the record exactly as it was (same
status, same lease) and writes a fresh lease: of several instances trying at once, one wins.

The attempt that records the result must still hold its lease: the final write expects the
record with *its* lease, so a decider that lost its lease (slow, not dead) changes nothing and
returns what the store holds. Counters are consumed under a name (``once`` = the verification
id, :meth:`~verifier.store.base.TransactionStore.add_within`), so a takeover that re-runs the
decision after the first attempt consumed the mandate's uses and budget gets the same counters
back instead of spending them again.

A record in ``request_retrieved`` without a lease (claimed by a version before leases) is never
taken over: nothing tells whether its decider still runs.
"""

from __future__ import annotations

import secrets
from typing import Any

from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = ["acquire", "holds_expired_lease", "lease_of"]

KIND = RecordKind.AGENT_VERIFICATION


def lease_of(av: Transaction) -> dict[str, Any] | None:
    """The record's lease {``token``, ``until``}, or None."""
    lease = av.meta.get("lease")
    if isinstance(lease, dict) and isinstance(lease.get("until"), int):
        return lease
    return None


def holds_expired_lease(av: Transaction, *, now: int) -> bool:
    """Is the record being decided under a lease that has run out?"""
    lease = lease_of(av)
    return av.status == TxStatus.REQUEST_RETRIEVED and lease is not None and now >= lease["until"]


async def acquire(
    store: TransactionStore, av: Transaction, *, now: int, seconds: int
) -> Transaction | None:
    """Claim the decision of a pending record, or take over one whose lease has run out; the
    record under our new lease, or None when another instance holds it (or just won it)."""
    if av.status == TxStatus.PENDING:
        expect: dict[str, Any] = {"status": TxStatus.PENDING, "meta": av.meta}
    elif holds_expired_lease(av, now=now):
        expect = {"status": TxStatus.REQUEST_RETRIEVED, "meta": av.meta}
    else:
        return None
    lease = {"token": secrets.token_urlsafe(16), "until": now + seconds}
    return await store.update_if(
        av.id,
        expect,
        {"status": TxStatus.REQUEST_RETRIEVED, "meta": {**av.meta, "lease": lease}},
        kind=KIND,
    )
