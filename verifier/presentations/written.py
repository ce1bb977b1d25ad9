"""The presentations this process last wrote, by request id: where a wallet's next step starts
when the same process serves it, instead of looking the record up (docs/PERFORMANCE.md,
round 22).

A cross-device flow's wallet steps each read the record and then compare-and-set it: the
request object (``pending`` → ``request_retrieved``), the response (→ final). When the process
that created the record, or served its request object, also serves the next step, the record
as it wrote it is at hand; the lookup is one store round trip (a Redis command, an SQLite
``SELECT``) that the compare-and-set repeats anyway.

What the service decides from a remembered record before its compare-and-set uses only values
no step changes (the id, the flow, the expiry, the nonce, the state, the query, the keys); the
status it expects is what the compare-and-set checks. So a record that another process changed
since (a second instance answered it, expired it) fails the compare-and-set, and the service
then goes the usual way from a fresh read: the same answers, the same state changes, exactly
once. A transaction's values are never changed in place, so what is remembered is the object
itself (a copy of its fields, so that a caller assigning to one changes nothing here).

An entry is used once (:meth:`WrittenHere.take` forgets it), at most :data:`REMEMBERED` are
kept (the oldest forgotten first), and a DC API transaction is never remembered: its wallet
answers through the browser, never at the wallet endpoints.
"""

from __future__ import annotations

from verifier.store.base import Transaction
from verifier.store.recent_rows import copy_of

__all__ = ["REMEMBERED", "WrittenHere"]

# More than the flows one process has between two of its steps at once.
REMEMBERED = 256


class WrittenHere:
    """Request id -> the presentation as this process last wrote it, the newest last."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._by_request: dict[str, Transaction] = {}

    def __len__(self) -> int:
        return len(self._by_request)

    def remember(self, tx: Transaction) -> None:
        """``tx`` is what this process just wrote (created, or its compare-and-set's result)."""
        if tx.flow == "dc_api":
            return
        written = self._by_request
        written.pop(tx.request_id, None)  # the newest last, for the oldest to go first
        written[tx.request_id] = copy_of(tx)
        if len(written) > self._size:
            del written[next(iter(written))]

    def take(self, request_id: str, status: str, now: float) -> Transaction | None:
        """The remembered record of ``request_id`` if this process wrote it in ``status`` and
        it is not due to expire at ``now``; forgotten either way."""
        tx = self._by_request.pop(request_id, None)
        if tx is None or tx.status != status or now >= tx.expires_at:
            return None
        return tx
