"""SQLite :class:`~verifier.store.base.TransactionStore`: the embedded, single-machine default.

Several verifier processes may share one database file. Atomicity across them comes from
SQLite's own locking:

- the file runs in WAL mode, so readers never block the (single) writer and vice versa;
- every read-modify-write (``claim``, ``add_within``, ``append_event``, and the rare paths of
  ``create`` and ``update_if`` below) runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``: the write
  lock is taken *before* reading, so two processes can never both read the old state and both
  win; a write that needs no read first is one statement, atomic on its own (``create`` is one
  ``INSERT``; only when an id is taken does it look, under the lock, for an expired row to
  replace);
- ``busy_timeout`` makes a contending writer wait (default 5 s) instead of failing; a lock that
  is still held after that surfaces as :class:`StoreUnavailableError`.

``update_if`` first compares on a plain (lock-free) read: a caller whose expectation already
fails returns None without queueing for the write lock, so the losers of a race cost little.
The winner then writes with one ``UPDATE ... WHERE data = <what it read>`` (a single statement
is atomic on its own, no ``BEGIN``/``SELECT``/``COMMIT`` round): if the row changed in between,
nothing is written and it decides again under the write lock (``BEGIN IMMEDIATE``).

The service reads a record and then updates it (the wallet's request, its response), so the
store remembers the text it last read or wrote for each of its last rows, and what that text
parses to (:class:`~verifier.store.recent_rows.RecentRows`; a read of the same text is not
parsed again, and ``update_if`` applies its change to that parse). ``update_if`` tries that
text first, in place of its own read: the conditional ``UPDATE`` compares it with the row byte
for byte, so a remembered text that is out of date (another process wrote since) writes
nothing and costs one statement before the steps above. An expectation that fails on a
remembered text proves nothing about the row: it too falls back to a fresh read, so only a
read can make ``update_if`` return None.

Calls use the stdlib ``sqlite3`` synchronously from the async methods (each statement is
sub-millisecond; a thread hop would cost more). Within one process the event loop therefore
serialises all calls on the connection; ``check_same_thread=False`` only lets the store be
created on one thread and used on the loop's. Once busy (``checkpoint_after`` creates), the WAL's
checkpoints and their ``fsync`` calls run on a thread of their own (:mod:`.sqlite_checkpoint`).

The tables: :mod:`verifier.store.sqlite_schema`.

Expired rows are ignored by every read and purged opportunistically by writes, at most once per
``purge_interval`` seconds per process, through the ``expires``/``retain_until`` indexes.
``synchronous=NORMAL`` (safe with WAL against process crashes; a power loss may drop the last
commits) keeps commits fast.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import QueueItem, StoreUnavailableError, Transaction, record_key
from .memory import CompareAndSet, encode, require_once, require_ttl
from .recent_rows import RecentRows, copy_of
from .sqlite_checkpoint import Checkpointer, checkpoint_apart
from .sqlite_schema import INSERT, PURGE, SCHEMA

__all__ = ["SQLiteStore"]

# Primary result codes meaning "the database cannot serve us right now" (not a bug of ours).
_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_PROTOCOL,
    }
)


@contextmanager
def _unavailable() -> Iterator[None]:
    """Map lock timeouts and I/O failures to :class:`StoreUnavailableError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF in _UNAVAILABLE:
            raise StoreUnavailableError(f"sqlite: {exc}") from exc
        raise


class SQLiteStore:
    """Store in one SQLite file; safe to share between processes on one machine."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = 5000,
        purge_interval: float = 60.0,
        checkpoint_after: int = 1000,
    ) -> None:
        self._clock = clock
        in_memory = str(path) == ":memory:"
        self._path = path if in_memory else Path(path).absolute()  # the same file later, any cwd
        self._busy_timeout_ms = busy_timeout_ms
        # Creates until WAL checkpoints leave the serving thread (sqlite_checkpoint); a store
        # that never gets busy keeps SQLite's own. Never for a database in memory (no WAL).
        self._creates_left = -1 if in_memory else checkpoint_after
        self.checkpointer: Checkpointer | None = None
        self._purge_interval = purge_interval
        self._next_purge = 0.0
        self._seen = RecentRows()  # the last rows' texts as last read or written, and parses
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with _unavailable():
            self._db = sqlite3.connect(
                self._path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
                check_same_thread=False,
            )
            try:
                self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                with self._transaction() as db:
                    for statement in SCHEMA:
                        db.execute(statement)
            except BaseException:
                self._db.close()
                raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (take the write lock first) ... ``COMMIT``; roll back on error."""
        db = self._db
        with _unavailable():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _maybe_purge(self, db: sqlite3.Connection, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_interval
        for statement in PURGE:
            db.execute(statement, (now,))

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with _unavailable():
            return self._db.execute(sql, params).fetchall()

    # -- transactions -------------------------------------------------------------------------

    async def create(self, tx: Transaction, *, retain_until: int) -> None:
        now = self._clock()
        key, request_key = record_key(tx.kind, tx.id), record_key(tx.kind, tx.request_id)
        row = (key, request_key, str(tx.status), retain_until, tx.version, tx.to_json())
        try:  # the common case, fresh ids: one INSERT, atomic on its own
            with _unavailable():
                self._db.execute(INSERT, row)
            self._seen.remember(key, row[5], None)
        except sqlite3.IntegrityError:
            # An id is taken: by a dropped (expired) row it may replace, or by a live one.
            with self._transaction() as db:
                db.execute(
                    "DELETE FROM transactions"
                    " WHERE (id = ? OR request_id = ?) AND retain_until < ?",
                    (key, request_key, now),
                )
                try:
                    db.execute(INSERT, row)
                except sqlite3.IntegrityError as exc:
                    which = "request_id" if "request_id" in str(exc) else "transaction id"
                    raise ValueError(f"{which} already exists") from exc
        self._creates_left -= 1
        if not self._creates_left:
            self.checkpointer = checkpoint_apart(
                self, self._path, self._db, busy_timeout_ms=self._busy_timeout_ms
            )
        if now >= self._next_purge:
            with self._transaction() as db:
                self._maybe_purge(db, now)

    async def get(self, tx_id: str, *, kind: str) -> Transaction | None:
        key = record_key(kind, tx_id)
        rows = self._read(
            "SELECT data FROM transactions WHERE id = ? AND retain_until >= ?",
            (key, self._clock()),
        )
        return copy_of(self._seen.parsed(key, rows[0][0])) if rows else None

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        rows = self._read(
            "SELECT id, data FROM transactions WHERE request_id = ? AND retain_until >= ?",
            (record_key(kind, request_id), self._clock()),
        )
        return copy_of(self._seen.parsed(rows[0][0], rows[0][1])) if rows else None

    async def update_if(
        self, tx_id: str, expect: Mapping[str, Any], changes: Mapping[str, Any], *, kind: str
    ) -> Transaction | None:
        cas = CompareAndSet.parse(expect, changes)
        if cas.impossible:
            return None
        tx_id = record_key(kind, tx_id)
        remembered = self._seen.take(tx_id)
        if remembered is not None:  # the row as last seen: written over only if it still is
            text, parsed = remembered
            updated = cas.apply(Transaction.from_json(text) if parsed is None else parsed)
            if updated is not None and self._write_over(tx_id, text, updated):
                return updated
        # Optimistic: a failed expectation needs no write lock.
        rows = self._read(
            "SELECT data FROM transactions WHERE id = ? AND retain_until >= ?",
            (tx_id, self._clock()),
        )
        if not rows:
            return None
        optimistic = cas.apply(self._seen.parsed(tx_id, rows[0][0]))
        if optimistic is None:
            return None
        if self._write_over(tx_id, rows[0][0], optimistic):
            return optimistic
        # Someone changed (or dropped) the row in between: decide again under the write lock.
        now = self._clock()
        with self._transaction() as db:
            row = db.execute(
                "SELECT data FROM transactions WHERE id = ? AND retain_until >= ?", (tx_id, now)
            ).fetchone()
            updated = None if row is None else cas.apply(Transaction.from_json(row[0]))
            data = None if updated is None else updated.to_json()
            if updated is not None:
                db.execute(
                    "UPDATE transactions SET status = ?, version = ?, data = ? WHERE id = ?",
                    (str(updated.status), updated.version, data, tx_id),
                )
        if updated is not None and data is not None:
            self._seen.remember(tx_id, data, copy_of(updated))
        return updated

    def _write_over(self, key: str, seen: str, updated: Transaction) -> bool:
        """One statement, atomic on its own: write ``updated`` only if the row is still
        byte-identical to ``seen`` (the text it was computed from) and still live."""
        data = updated.to_json()
        with _unavailable():
            cursor = self._db.execute(
                "UPDATE transactions SET status = ?, version = ?, data = ?"
                " WHERE id = ? AND data = ? AND retain_until >= ?",
                (str(updated.status), updated.version, data, key, seen, self._clock()),
            )
        if cursor.rowcount != 1:
            return False
        self._seen.remember(key, data, copy_of(updated))
        return True

    # -- single-use markers and counters ------------------------------------------------------

    async def claim(self, key: str, *, ttl: int) -> bool:
        require_ttl(ttl)
        now = self._clock()
        with self._transaction() as db:
            db.execute("DELETE FROM claims WHERE key = ? AND expires < ?", (key, now))
            cursor = db.execute(
                "INSERT OR IGNORE INTO claims (key, expires) VALUES (?, ?)", (key, now + ttl)
            )
            self._maybe_purge(db, now)
            return cursor.rowcount == 1

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
        now = self._clock()
        with self._transaction() as db:
            if once is not None:
                applied = db.execute(
                    "SELECT result FROM counter_ops WHERE key = ? AND op = ? AND expires >= ?",
                    (key, once, now),
                ).fetchone()
                if applied is not None:
                    done: dict[str, int] = json.loads(applied[0])
                    return done
            db.execute("DELETE FROM counters WHERE key = ? AND expires < ?", (key, now))
            rows = db.execute(
                "SELECT name, value, expires FROM counters WHERE key = ?", (key,)
            ).fetchall()
            values: dict[str, int] = {name: value for name, value, _ in rows}
            expires = max((row[2] for row in rows), default=now)
            for name, amount in increments.items():
                values[name] = values.get(name, 0) + amount
            if any(values.get(name, 0) > limit for name, limit in limits.items()):
                return None
            db.executemany(
                "INSERT INTO counters (key, name, value, expires) VALUES (?, ?, ?, 0)"
                " ON CONFLICT (key, name) DO UPDATE SET value = excluded.value",
                [(key, name, values[name]) for name in increments],
            )
            db.execute(
                "UPDATE counters SET expires = ? WHERE key = ?", (max(expires, now + ttl), key)
            )
            if once is not None:
                db.execute(
                    "INSERT OR REPLACE INTO counter_ops (key, op, result, expires)"
                    " VALUES (?, ?, ?, ?)",
                    (key, once, json.dumps(values), max(expires, now + ttl)),
                )
            self._maybe_purge(db, now)
        return values

    async def get_counters(self, key: str) -> dict[str, int]:
        rows = self._read(
            "SELECT name, value FROM counters WHERE key = ? AND expires >= ?",
            (key, self._clock()),
        )
        return {name: value for name, value in rows}

    # -- events -------------------------------------------------------------------------------

    async def append_event(self, stream: str, event: Mapping[str, Any], *, ttl: int) -> int:
        require_ttl(ttl)
        now = self._clock()
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE stream = ? AND expires < ?", (stream, now))
            seq, expires = db.execute(
                "SELECT COALESCE(MAX(seq) + 1, 0), COALESCE(MAX(expires), ?)"
                " FROM events WHERE stream = ?",
                (now, stream),
            ).fetchone()
            db.execute(
                "INSERT INTO events (stream, seq, data, expires) VALUES (?, ?, ?, 0)",
                (stream, seq, encode(dict(event))),
            )
            db.execute(
                "UPDATE events SET expires = ? WHERE stream = ?", (max(expires, now + ttl), stream)
            )
            self._maybe_purge(db, now)
        return int(seq)

    async def read_events(self, stream: str) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT data FROM events WHERE stream = ? AND expires >= ? ORDER BY seq",
            (stream, self._clock()),
        )
        return [json.loads(data) for (data,) in rows]

    # -- durable queue ------------------------------------------------------------------------

    async def enqueue(
        self, queue: str, item_id: str, payload: Mapping[str, Any], *, due_at: int, ttl: int
    ) -> bool:
        require_ttl(ttl)
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "DELETE FROM queue_items WHERE queue = ? AND id = ? AND expires < ?",
                (queue, item_id, now),
            )
            cursor = db.execute(
                "INSERT OR IGNORE INTO queue_items (queue, id, payload, due_at, attempts, expires)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (queue, item_id, encode(dict(payload)), due_at, now + ttl),
            )
            self._maybe_purge(db, now)
            return cursor.rowcount == 1

    async def lease(self, queue: str, *, now: int, lease_for: int, limit: int) -> list[QueueItem]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, payload, attempts FROM queue_items"
                " WHERE queue = ? AND due_at <= ? AND expires >= ? ORDER BY due_at LIMIT ?",
                (queue, now, self._clock(), limit),
            ).fetchall()
            db.executemany(
                "UPDATE queue_items SET due_at = ?, attempts = attempts + 1"
                " WHERE queue = ? AND id = ?",
                [(now + lease_for, queue, item_id) for item_id, _, _ in rows],
            )
        return [
            QueueItem(item_id, json.loads(payload), attempts + 1)
            for item_id, payload, attempts in rows
        ]

    async def ack(self, queue: str, item_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM queue_items WHERE queue = ? AND id = ?", (queue, item_id))

    async def reschedule(self, queue: str, item_id: str, *, due_at: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE queue_items SET due_at = ? WHERE queue = ? AND id = ?",
                (due_at, queue, item_id),
            )

    # -- lifecycle ----------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            return self._read("SELECT 1", ()) == [(1,)]
        except (sqlite3.Error, StoreUnavailableError):
            return False

    async def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self._db.close()
