"""In-process :class:`~verifier.store.base.TransactionStore` (tests and ``memory://``).

Atomicity: every method is a plain ``async def`` that never awaits, so on one event loop each
call runs to completion before the next starts - a compare-and-set cannot interleave with
another. The store is therefore correct for one process only; it is not thread-safe.

State lives in dicts holding *encoded* values (transaction JSON, event JSON), so callers never
share mutable objects with the store:

- ``_txs``: kind:id -> (transaction JSON, retain_until); ``_by_request``: kind:request_id ->
  kind:id (:func:`~verifier.store.base.record_key`)
- ``_claims``: key -> expiry; ``_counters``: key -> (counters, expiry); ``_applied``:
  (counter key, once) -> (values, expiry); ``_events``: stream -> (event JSON list, expiry)

Expiry is lazy and driven by the injected ``clock``: an entry past its deadline is dropped when
it is next touched, and a sweep over everything runs at most once per ``sweep_interval`` seconds
of clock time so untouched entries do not accumulate.

This module also holds the reference semantics of ``update_if`` shared by every backend
(:class:`CompareAndSet`, :func:`encode`): expected values and changes are compared and stored as
their canonical JSON (``json.dumps(v, separators=(",", ":"), sort_keys=True)``), exactly the
strings of :meth:`Transaction.to_fields`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from verifier.protocol.jsonfast import Encoder, loads

from .base import QueueItem, Transaction, record_key

__all__ = ["CompareAndSet", "MemoryStore", "encode", "require_once", "require_ttl"]

TX_FIELDS = frozenset(f.name for f in fields(Transaction))
IMMUTABLE_FIELDS = frozenset({"id", "request_id", "version", "kind"})
STATUS_IN = "status__in"


def encode(value: Any) -> str:
    """Canonical JSON of one field value (identical to :meth:`Transaction.to_fields`)."""
    return _canonical(value)


# ``json.dumps(value, separators=(",", ":"), sort_keys=True)``, the same text, written by orjson
# where it writes the same (:mod:`verifier.protocol.jsonfast`): a response's ``result`` change is
# the largest value a flow encodes here.
_canonical = Encoder(sort_keys=True).text


def require_ttl(ttl: int) -> None:
    """TTLs are whole positive seconds (Redis refuses ``EX 0``; a zero TTL is a caller bug)."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")


def require_once(once: str | None) -> None:
    """An ``add_within`` name is a non-empty string (or None: an unnamed add)."""
    if once is not None and (not isinstance(once, str) or not once):
        raise ValueError(f"once must name the add (a non-empty string) or be None, got {once!r}")


@dataclass(frozen=True)
class CompareAndSet:
    """A validated ``update_if`` request with every value in canonical JSON."""

    expect: dict[str, str]
    status_in: frozenset[str] | None  # None: no ``status__in`` condition
    changes: dict[str, str]

    @classmethod
    def parse(cls, expect: Mapping[str, Any], changes: Mapping[str, Any]) -> CompareAndSet:
        """Validate field names; ``ValueError`` for unknown fields or changes to id,
        request_id or version (the store owns those)."""
        status_in: frozenset[str] | None = None
        plain: dict[str, str] = {}
        for name, value in expect.items():
            if name == STATUS_IN:
                if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set):
                    raise ValueError(f"{STATUS_IN} needs a list of statuses, got {value!r}")
                status_in = frozenset(encode(v) for v in value)
            elif name in TX_FIELDS:
                plain[name] = encode(value)
            else:
                raise ValueError(f"update_if: unknown transaction field {name!r} in expect")
        for name in changes:
            if name not in TX_FIELDS:
                raise ValueError(f"update_if: unknown transaction field {name!r} in changes")
            if name in IMMUTABLE_FIELDS:
                raise ValueError(f"update_if: field {name!r} cannot be changed")
        return cls(plain, status_in, {k: encode(v) for k, v in changes.items()})

    @property
    def impossible(self) -> bool:
        """``status__in: []`` can never hold."""
        return self.status_in is not None and not self.status_in

    def matches(self, current: Mapping[str, str]) -> bool:
        """Whether the encoded fields ``current`` satisfy every expectation."""
        if any(current.get(k) != v for k, v in self.expect.items()):
            return False
        return self.status_in is None or current.get("status") in self.status_in

    def apply(self, tx: Transaction) -> Transaction | None:
        """The updated transaction (version bumped), or None if an expectation fails.

        Only the compared fields are encoded, and only the changed ones decoded (from their
        canonical JSON, as a store would read them back); ``tx`` is a fresh parse from the
        store, so its other values are already what a full encode/decode round trip gives."""
        current = {name: encode(getattr(tx, name)) for name in self.expect}
        if self.status_in is not None:
            current["status"] = encode(tx.status)
        if not self.matches(current):
            return None
        # ``dataclasses.replace(tx, **changes, version=...)`` without its ``__init__`` call:
        # a Transaction's ``__init__`` only assigns its fields (as from_json relies on too:
        # tests/store/test_transaction_fields.py); :meth:`parse` checked the names.
        updated = object.__new__(type(tx))
        values = updated.__dict__
        values.update(tx.__dict__)
        for name, text in self.changes.items():
            values[name] = loads(text)
        values["version"] = tx.version + 1
        return updated


class MemoryStore:
    """Dict-backed store for one process; ``clock`` returns UNIX seconds."""

    def __init__(
        self, clock: Callable[[], float] = time.time, *, sweep_interval: float = 60.0
    ) -> None:
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval
        self._txs: dict[str, tuple[str, int]] = {}
        self._by_request: dict[str, str] = {}
        self._claims: dict[str, float] = {}
        self._counters: dict[str, tuple[dict[str, int], float]] = {}
        # (counter key, once) -> the values that add produced, expiry (that of the group)
        self._applied: dict[tuple[str, str], tuple[dict[str, int], float]] = {}
        self._events: dict[str, tuple[list[str], float]] = {}
        # queue -> item id -> [payload JSON, due_at, attempts, expires]
        self._queues: dict[str, dict[str, list[Any]]] = {}

    # -- expiry -------------------------------------------------------------------------------

    def _now(self) -> float:
        now = self._clock()
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_interval
            self._sweep(now)
        return now

    def _sweep(self, now: float) -> None:
        for tx_id in [k for k, (_, until) in self._txs.items() if now > until]:
            self._drop_tx(tx_id)
        for key in [k for k, exp in self._claims.items() if now > exp]:
            del self._claims[key]
        for key in [k for k, (_, exp) in self._counters.items() if now > exp]:
            del self._counters[key]
        for op in [k for k, (_, exp) in self._applied.items() if now > exp]:
            del self._applied[op]
        for key in [k for k, (_, exp) in self._events.items() if now > exp]:
            del self._events[key]

    def _drop_tx(self, key: str) -> None:
        text, _ = self._txs.pop(key)
        tx = Transaction.from_json(text)
        request_key = record_key(tx.kind, tx.request_id)
        if self._by_request.get(request_key) == key:
            del self._by_request[request_key]

    def _live_tx(self, tx_id: str, now: float) -> Transaction | None:
        entry = self._txs.get(tx_id)
        if entry is None:
            return None
        if now > entry[1]:
            self._drop_tx(tx_id)
            return None
        return Transaction.from_json(entry[0])

    def _live_counters(self, key: str, now: float) -> dict[str, int]:
        entry = self._counters.get(key)
        if entry is None:
            return {}
        if now > entry[1]:
            del self._counters[key]
            return {}
        return dict(entry[0])

    def _live_events(self, stream: str, now: float) -> tuple[list[str], float]:
        entry = self._events.get(stream)
        if entry is None or now > entry[1]:
            self._events.pop(stream, None)
            return [], now
        return entry

    # -- transactions -------------------------------------------------------------------------

    async def create(self, tx: Transaction, *, retain_until: int) -> None:
        now = self._now()
        key = record_key(tx.kind, tx.id)
        if self._live_tx(key, now) is not None:
            raise ValueError(f"transaction id {tx.id!r} already exists")
        request_key = record_key(tx.kind, tx.request_id)
        owner = self._by_request.get(request_key)
        if owner is not None and self._live_tx(owner, now) is not None:
            raise ValueError(f"request_id {tx.request_id!r} already exists")
        self._txs[key] = (tx.to_json(), retain_until)
        self._by_request[request_key] = key

    async def get(self, tx_id: str, *, kind: str) -> Transaction | None:
        return self._live_tx(record_key(kind, tx_id), self._now())

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        key = self._by_request.get(record_key(kind, request_id))
        return None if key is None else self._live_tx(key, self._now())

    async def update_if(
        self, tx_id: str, expect: Mapping[str, Any], changes: Mapping[str, Any], *, kind: str
    ) -> Transaction | None:
        cas = CompareAndSet.parse(expect, changes)
        key = record_key(kind, tx_id)
        tx = self._live_tx(key, self._now())
        if tx is None or cas.impossible:
            return None
        updated = cas.apply(tx)
        if updated is not None:
            self._txs[key] = (updated.to_json(), self._txs[key][1])
        return updated

    # -- single-use markers and counters ------------------------------------------------------

    async def claim(self, key: str, *, ttl: int) -> bool:
        require_ttl(ttl)
        now = self._now()
        expiry = self._claims.get(key)
        if expiry is not None and now <= expiry:
            return False
        self._claims[key] = now + ttl
        return True

    async def add_within(
        self,
        key: str,
        increments: Mapping[str, int],
        limits: Mapping[str, int],
        *,
        ttl: int,
        once: str | None = None,
    ) -> dict[str, int] | None:
        require_ttl(ttl)
        require_once(once)
        now = self._now()
        applied = self._applied.get((key, once)) if once is not None else None
        if applied is not None and now <= applied[1]:
            return dict(applied[0])
        values = self._live_counters(key, now)
        for name, amount in increments.items():
            values[name] = values.get(name, 0) + amount
        if any(values.get(name, 0) > limit for name, limit in limits.items()):
            return None
        old_expiry = self._counters[key][1] if key in self._counters else now
        expiry = max(old_expiry, now + ttl)
        if values:
            self._counters[key] = (values, expiry)
        if once is not None:
            self._applied[(key, once)] = (dict(values), expiry)
        return dict(values)

    async def get_counters(self, key: str) -> dict[str, int]:
        return self._live_counters(key, self._now())

    # -- events -------------------------------------------------------------------------------

    async def append_event(self, stream: str, event: Mapping[str, Any], *, ttl: int) -> int:
        require_ttl(ttl)
        now = self._now()
        events, expiry = self._live_events(stream, now)
        events.append(encode(dict(event)))
        self._events[stream] = (events, max(expiry, now + ttl))
        return len(events) - 1

    async def read_events(self, stream: str) -> list[dict[str, Any]]:
        events, _ = self._live_events(stream, self._now())
        return [json.loads(e) for e in events]

    # -- lifecycle ----------------------------------------------------------------------------

    # -- durable queue ------------------------------------------------------------------------

    async def enqueue(
        self, queue: str, item_id: str, payload: Mapping[str, Any], *, due_at: int, ttl: int
    ) -> bool:
        require_ttl(ttl)
        items = self._queues.setdefault(queue, {})
        now = self._now()
        for stale in [k for k, item in items.items() if now > item[3]]:
            del items[stale]
        if item_id in items:
            return False
        items[item_id] = [encode(dict(payload)), due_at, 0, now + ttl]
        return True

    async def lease(self, queue: str, *, now: int, lease_for: int, limit: int) -> list[QueueItem]:
        items = self._queues.get(queue, {})
        due = sorted((item[1], key) for key, item in items.items() if item[1] <= now)[:limit]
        leased = []
        for _, key in due:
            item = items[key]
            item[1], item[2] = now + lease_for, item[2] + 1
            leased.append(QueueItem(key, json.loads(item[0]), item[2]))
        return leased

    async def ack(self, queue: str, item_id: str) -> None:
        self._queues.get(queue, {}).pop(item_id, None)

    async def reschedule(self, queue: str, item_id: str, *, due_at: int) -> None:
        item = self._queues.get(queue, {}).get(item_id)
        if item is not None:
            item[1] = due_at

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        """Nothing to release; the data stays readable (handy in tests)."""
