"""WAL checkpoints of a busy SQLite store on a thread of their own, not the event loop's.

With ``synchronous=NORMAL`` a commit appends to the WAL without syncing it. Once the WAL holds
``wal_autocheckpoint`` pages (1,000 by default) the committing connection runs a checkpoint
itself: it copies the WAL's pages into the database file and syncs both files, two ``fsync``
calls on the thread that committed. For :class:`~verifier.store.sqlite.SQLiteStore` that thread
runs the event loop, so every request in flight waits for the disk: a checkpoint every ~80
cross-device flows, ~1.2 ms a sync on this machine's disk when it is quiet (docs/PERFORMANCE.md,
round 23), and as long as the disk takes when it is not.

:class:`Checkpointer` runs those checkpoints on its own connection and thread instead, every
``interval`` seconds while the WAL grows (less often while it does not). Python's ``sqlite3``
releases the GIL while SQLite works, so the loop goes on serving. ``PASSIVE`` checkpoints never
wait for a reader or a writer, and never change what any connection reads: a commit is as
durable, and as visible to other processes, as before.

The store's own connection keeps a backstop (:data:`BACKSTOP_PAGES`). The WAL starts over from
its beginning only when a commit finds every page of it copied, and while commits keep coming
that rarely happens after a checkpoint on another thread. So under steady load the WAL grows to
the backstop, the serving connection checkpoints once (finding all but the last ~0.2 s of pages
copied) and the WAL starts over: on this machine 2 checkpoints on the serving thread in 2,300
flows instead of ~25 (round 23). Should the thread stop, the loop checkpoints at the backstop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from pathlib import Path

__all__ = ["BACKSTOP_PAGES", "Checkpointer", "checkpoint_apart"]

BACKSTOP_PAGES = 10_000  # the serving connection's wal_autocheckpoint meanwhile (~40 MB of WAL)
_NORMAL = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})  # another process checkpoints
_log = logging.getLogger("agentvp.store")


class Checkpointer:
    """A thread that checkpoints the WAL of the database ``db`` is connected to.

    ``db`` is the thread's own connection, opened by the caller (so a file that cannot be
    opened fails there, before anything changes); the thread closes it when it stops."""

    def __init__(
        self, db: sqlite3.Connection, *, interval: float = 0.2, idle_interval: float = 2.0
    ) -> None:
        self._db = db
        self._interval = interval
        self._idle_interval = idle_interval
        self._stop = threading.Event()
        self.runs = 0  # checkpoints run
        self.pages = 0  # WAL pages they copied into the database, as SQLite reports them
        self._thread = threading.Thread(
            target=self._run, name="agentvp-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, waiting up to ``timeout`` seconds for a checkpoint under way."""
        self._stop.set()
        if timeout > 0 and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        wait, last = self._interval, (0, 0)
        checkpoint = "PRAGMA wal_checkpoint(PASSIVE)"
        try:
            while not self._stop.wait(wait):
                try:
                    _, logged, copied = self._db.execute(checkpoint).fetchone()
                except sqlite3.Error as exc:
                    code = getattr(exc, "sqlite_errorcode", None)
                    if not isinstance(code, int) or code & 0xFF not in _NORMAL:
                        _log.warning("sqlite WAL checkpoint failed (retried): %s", exc)
                    wait = self._idle_interval
                    continue
                self.runs += 1
                # SQLite counts within the WAL as it is now; one that started over since the
                # last run (shorter, or fewer pages copied) counts from 0 again.
                restarted = logged < last[0] or copied < last[1]
                self.pages += copied if restarted else copied - last[1]
                growing = (logged, copied) != last
                last = (logged, copied)
                wait = self._interval if growing else min(wait * 2, self._idle_interval)
        finally:
            self._db.close()


def checkpoint_apart(
    owner: object, path: str | Path, serving: sqlite3.Connection, *, busy_timeout_ms: int
) -> Checkpointer | None:
    """Move the checkpoints of ``serving`` (``owner``'s connection to the file ``path``) to a
    :class:`Checkpointer`, stopped when ``owner`` is collected if nobody stopped it before.
    None, with a warning and ``serving`` unchanged, if they cannot move (the file cannot be
    opened again, no thread can start, the backstop cannot be set)."""
    checkpointer = None
    try:
        db = sqlite3.connect(
            path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA synchronous = NORMAL")  # a checkpoint syncs as the store's would
            checkpointer = Checkpointer(db)  # from here on the thread closes db
        except BaseException:
            db.close()
            raise
        serving.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
    except (sqlite3.Error, RuntimeError) as exc:  # RuntimeError: no thread could start
        if checkpointer is not None:
            checkpointer.stop()
        _log.warning("sqlite WAL checkpoints stay on the serving thread: %s", exc)
        return None
    weakref.finalize(owner, checkpointer.stop, 0)
    return checkpointer
