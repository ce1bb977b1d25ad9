"""SQLite specifics: file setup, lock contention and purging of expired rows."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from verifier.store import SQLiteStore, StoreUnavailableError, Transaction

pytestmark = pytest.mark.anyio

START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def new_tx() -> Transaction:
    hexes = [uuid.uuid4().hex for _ in range(4)]
    return Transaction(
        id=hexes[0], request_id=hexes[1], state=hexes[2], nonce=hexes[3], client_id="c"
    )


def count_rows(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        tables = ("transactions", "claims", "counters", "events")
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


async def test_creates_missing_directories_and_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "tx.db"
    store = SQLiteStore(path)
    await store.close()

    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


async def test_a_writer_holding_the_lock_makes_writes_unavailable_not_wrong(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tx.db"
    store = SQLiteStore(path, busy_timeout_ms=50)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailableError):
            await store.claim("k", ttl=60)
        with pytest.raises(StoreUnavailableError):
            await store.update_if(tx.id, {}, {"status": "verified"}, kind="presentation")
        assert (
            await store.get(tx.id, kind="presentation") == tx
        )  # WAL: readers are not blocked by the writer
        other.execute("ROLLBACK")

        assert await store.claim("k", ttl=60) is True
        updated = await store.update_if(tx.id, {}, {"status": "verified"}, kind="presentation")
        assert updated is not None
        assert updated.version == 1
    finally:
        other.close()
        await store.close()


async def test_expired_rows_are_purged_at_most_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "tx.db"
    clock = FakeClock()
    store = SQLiteStore(path, clock=clock, purge_interval=60)
    try:
        await store.create(new_tx(), retain_until=int(START) + 10)
        assert await store.claim("k", ttl=10)
        assert await store.add_within("m", {"uses": 1}, {}, ttl=10)
        assert await store.append_event("s", {"n": 1}, ttl=10) == 0

        clock.now += 30  # all expired, but the last purge ran less than 60 s ago
        await store.create(new_tx(), retain_until=int(START) + 1000)
        assert count_rows(path) == {"transactions": 2, "claims": 1, "counters": 1, "events": 1}

        clock.now += 31
        await store.create(new_tx(), retain_until=int(START) + 1000)
        assert count_rows(path) == {"transactions": 2, "claims": 0, "counters": 0, "events": 0}
    finally:
        await store.close()


def change_row_before_the_conditional_write(store: SQLiteStore, path: Path, **fields: str) -> None:
    """When ``update_if`` starts its one-statement write (after its lock-free read), another
    connection first commits ``fields`` into the same row: the race the write must detect."""
    other = sqlite3.connect(path, isolation_level=None)
    fired: list[str] = []

    def trace(sql: str) -> None:
        if fired or not sql.startswith("UPDATE transactions") or "AND data = " not in sql:
            return
        fired.append(sql)
        row = other.execute("SELECT id, data, version FROM transactions").fetchone()
        theirs = Transaction.from_json(row[1])
        for name, value in fields.items():
            setattr(theirs, name, value)
        theirs.version += 1
        other.execute(
            "UPDATE transactions SET status = ?, version = ?, data = ? WHERE id = ?",
            (theirs.status, theirs.version, theirs.to_json(), row[0]),
        )
        other.close()

    store._db.set_trace_callback(trace)


async def test_update_if_decides_again_when_the_row_changed_after_its_read(
    tmp_path: Path,
) -> None:
    """The row changed between the read and the write but still meets the expectation: the
    change is applied on top of the newer row (nothing the other writer did is lost)."""
    path = tmp_path / "tx.db"
    store = SQLiteStore(path)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    try:
        change_row_before_the_conditional_write(store, path, client_id="changed meanwhile")
        updated = await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert updated is not None
        assert (updated.status, updated.client_id, updated.version) == (
            "verified",
            "changed meanwhile",
            2,
        )
        assert await store.get(tx.id, kind="presentation") == updated
    finally:
        await store.close()


async def test_update_if_refuses_when_the_row_stopped_matching_after_its_read(
    tmp_path: Path,
) -> None:
    """Another writer won between the read and the write: None, and its state stays."""
    path = tmp_path / "tx.db"
    store = SQLiteStore(path)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    try:
        change_row_before_the_conditional_write(store, path, status="rejected")
        assert (
            await store.update_if(
                tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
            )
            is None
        )
        stored = await store.get(tx.id, kind="presentation")
        assert stored is not None
        assert (stored.status, stored.version) == ("rejected", 1)
    finally:
        await store.close()


async def test_create_replaces_an_expired_row_with_the_same_id_but_not_a_live_one(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "tx.db", clock=clock)
    try:
        old = new_tx()
        await store.create(old, retain_until=int(START) + 10)
        with pytest.raises(ValueError, match="already exists"):
            await store.create(old, retain_until=int(START) + 10)
        clock.now += 11
        again = Transaction(
            id=old.id, request_id=old.request_id, state="s2", nonce="n2", client_id="c2"
        )
        await store.create(again, retain_until=int(START) + 1000)
        assert await store.get(old.id, kind="presentation") == again
    finally:
        await store.close()
