"""The SQLite store's tables and fixed statements (:class:`~verifier.store.sqlite.SQLiteStore`).

Tables (times are UNIX seconds; a row is gone once ``now`` passes its deadline):

- ``transactions(id PK, request_id UNIQUE, status, retain_until INDEXED, version, data)`` -
  ``data`` is :meth:`Transaction.to_json`; ``status``/``version`` are copies for inspection.
- ``claims(key PK, expires)``
- ``counters(key, name, value, expires)`` - PK (key, name); a group shares one ``expires``.
- ``counter_ops(key, op, result, expires)`` - PK (key, op): each named (``once``) add applied
  to a group, with the values it produced.
- ``events(stream, seq, data, expires)`` - PK (stream, seq); a stream shares one ``expires``.
- ``queue_items(queue, id, payload, due_at, attempts, expires)`` - PK (queue, id); leasing
  takes the write lock, so two processes never lease the same item at once.
"""

from __future__ import annotations

__all__ = ["INSERT", "PURGE", "SCHEMA"]

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS transactions (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        retain_until INTEGER NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS transactions_retain ON transactions (retain_until)",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS claims_expires ON claims (expires)",
    """CREATE TABLE IF NOT EXISTS counters (
        key TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (key, name))""",
    "CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires)",
    """CREATE TABLE IF NOT EXISTS counter_ops (
        key TEXT NOT NULL, op TEXT NOT NULL, result TEXT NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (key, op))""",
    "CREATE INDEX IF NOT EXISTS counter_ops_expires ON counter_ops (expires)",
    """CREATE TABLE IF NOT EXISTS events (
        stream TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (stream, seq))""",
    "CREATE INDEX IF NOT EXISTS events_expires ON events (expires)",
    """CREATE TABLE IF NOT EXISTS queue_items (
        queue TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL, expires REAL NOT NULL, PRIMARY KEY (queue, id))""",
    "CREATE INDEX IF NOT EXISTS queue_items_due ON queue_items (queue, due_at)",
)

PURGE = (
    "DELETE FROM transactions WHERE retain_until < ?",
    "DELETE FROM claims WHERE expires < ?",
    "DELETE FROM counters WHERE expires < ?",
    "DELETE FROM counter_ops WHERE expires < ?",
    "DELETE FROM events WHERE expires < ?",
    "DELETE FROM queue_items WHERE expires < ?",
)

INSERT = (
    "INSERT INTO transactions (id, request_id, status, retain_until, version, data)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
