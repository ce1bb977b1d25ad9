"""Transaction stores: the :class:`TransactionStore` contract and its backends.

:func:`open_store` picks the backend from a store URL:

- ``memory://`` - :class:`MemoryStore`, one process only (tests, demos);
- ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` - :class:`SQLiteStore`,
  the single-machine default, shared safely by several processes on one file;
- ``redis://host:port/db`` or ``rediss://host:port/db`` (TLS) - :class:`RedisStore`, shared by
  any number of processes and hosts;
- ``redis+cluster://host:port[,host:port...]`` (a Redis Cluster) or
  ``redis+sentinel://host:port[,host:port...]/service_name[/db]`` (a master watched by Sentinels),
  ``rediss+...`` for TLS, options ``?failover_wait=<seconds>&prefix=<p>`` -
  :class:`RedisHAStore`, which rides out a master's failover (:mod:`.redis_ha`,
  :mod:`.redis_ha_client`, :mod:`.redis_urls`).

Records are typed: each lives under its :class:`~.base.RecordKind` and is read back only by
naming that kind. Imports nothing of ``verifier`` but this package and
:mod:`verifier.protocol.jsonfast` (the records' JSON; the capability packages build on it; it
knows none of them).
"""

from __future__ import annotations

from .base import FINAL_STATUSES, StoreUnavailableError, Transaction, TransactionStore, TxStatus
from .memory import MemoryStore
from .redis import RedisStore
from .redis_ha import RedisHAStore
from .sqlite import SQLiteStore

__all__ = [
    "FINAL_STATUSES",
    "MemoryStore",
    "RedisHAStore",
    "RedisStore",
    "SQLiteStore",
    "StoreUnavailableError",
    "Transaction",
    "TransactionStore",
    "TxStatus",
    "open_store",
]

ACCEPTED_URLS = (
    "memory://",
    "sqlite:///relative/path.db",
    "sqlite:////absolute/path.db",
    "redis://host:port/db",
    "rediss://host:port/db",
    "redis+cluster://host:port[,host:port]",
    "redis+sentinel://host:port[,host:port]/service_name[/db]",
)


def open_store(url: str) -> TransactionStore:
    """The store named by ``url`` (one of :data:`ACCEPTED_URLS`); ``ValueError`` otherwise."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower() if sep else ""
    if scheme == "memory" and rest in {"", "/"}:
        return MemoryStore()
    if scheme == "sqlite" and rest.startswith("/") and rest.strip("/"):
        # sqlite:///data/tx.db -> "data/tx.db" (relative); sqlite:////var/tx.db -> "/var/tx.db"
        return SQLiteStore(rest[1:])
    if scheme in {"redis", "rediss"} and rest:
        return RedisStore(url)
    if scheme in {"redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"}:
        return RedisHAStore(url)
    raise ValueError(f"unsupported store URL {url!r}; use one of: {', '.join(ACCEPTED_URLS)}")
