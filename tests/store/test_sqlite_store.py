"""SQLite specifics: file setup, lock contention and purging of expired rows."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from verifier.store import SQLiteStore, StoreUnavailableError, Transaction
from verifier.store.recent_rows import REMEMBERED

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
        with pytest.raises(StoreUnavailableError) as raised:
            await store.update_if(tx.id, {}, {"status": "verified"}, kind="presentation")
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)  # the reason kept
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
    fresh = SQLiteStore(path)  # remembers no text of the row: reads it first
    try:
        change_row_before_the_conditional_write(fresh, path, client_id="changed meanwhile")
        updated = await fresh.update_if(
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
        await fresh.close()
        await store.close()


async def test_update_if_refuses_when_the_row_stopped_matching_after_its_read(
    tmp_path: Path,
) -> None:
    """Another writer won between the read and the write: None, and its state stays."""
    path = tmp_path / "tx.db"
    store = SQLiteStore(path)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    fresh = SQLiteStore(path)  # remembers no text of the row: reads it first
    try:
        change_row_before_the_conditional_write(fresh, path, status="rejected")
        assert (
            await fresh.update_if(
                tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
            )
            is None
        )
        stored = await store.get(tx.id, kind="presentation")
        assert stored is not None
        assert (stored.status, stored.version) == ("rejected", 1)
    finally:
        await fresh.close()
        await store.close()


def statements(store: SQLiteStore) -> list[str]:
    """Every statement ``store`` runs from now on (its first word: SELECT, UPDATE, ...)."""
    seen: list[str] = []
    store._db.set_trace_callback(lambda sql: seen.append(sql.split(None, 1)[0]))
    return seen


async def test_update_if_after_a_read_writes_without_reading_the_row_again(
    tmp_path: Path,
) -> None:
    """The service's read-then-update (a wallet request, its response): the update writes over
    the text the read returned, in one conditional UPDATE; then the next one over its own."""
    store = SQLiteStore(tmp_path / "tx.db")
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    try:
        assert await store.get_by_request(tx.request_id, kind="presentation") is not None
        ran = statements(store)
        fetched = await store.update_if(
            tx.id, {"status": "pending"}, {"status": "fetched"}, kind="presentation"
        )
        done = await store.update_if(
            tx.id, {"status": "fetched"}, {"status": "verified"}, kind="presentation"
        )
        assert (fetched and fetched.version, done and done.status) == (1, "verified")
        assert ran == ["UPDATE", "UPDATE"]
        assert await store.get(tx.id, kind="presentation") == done
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("theirs", "expect", "outcome"),
    [
        # what this store remembers fails the expectation, the row meets it: written
        ({"status": "fetched"}, {"status": "fetched"}, ("verified", "c", 2)),
        # what it remembers meets the expectation, the row does too: written over the row
        ({"client_id": "theirs"}, {"status": "pending"}, ("verified", "theirs", 2)),
        # what it remembers meets the expectation, the row does not: refused, theirs stays
        ({"status": "rejected"}, {"status": "pending"}, None),
    ],
)
async def test_a_row_another_process_changed_since_it_was_remembered_is_read_again(
    tmp_path: Path, theirs: dict[str, str], expect: dict[str, str], outcome: object
) -> None:
    path = tmp_path / "tx.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)  # remembered: pending, client "c"
    try:
        changed = await other.update_if(tx.id, {}, theirs, kind="presentation")
        assert changed is not None and changed.version == 1
        updated = await store.update_if(tx.id, expect, {"status": "verified"}, kind="presentation")
        stored = await other.get(tx.id, kind="presentation")
        assert stored is not None
        if outcome is None:
            assert updated is None
            assert stored == changed
        else:
            assert updated is not None
            assert (updated.status, updated.client_id, updated.version) == outcome
            assert stored == updated
    finally:
        await other.close()
        await store.close()


async def test_a_remembered_row_that_expired_is_not_written(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "tx.db", clock=clock)
    tx = new_tx()
    await store.create(tx, retain_until=int(START) + 10)
    try:
        clock.now += 11
        assert await store.update_if(tx.id, {}, {"status": "verified"}, kind="presentation") is None
        clock.now = START
        stored = await store.get(tx.id, kind="presentation")
        assert stored is not None and (stored.status, stored.version) == ("pending", 0)
    finally:
        await store.close()


async def test_the_store_remembers_a_bounded_number_of_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tx.db")
    txs = [new_tx() for _ in range(300)]
    try:
        for tx in txs:
            await store.create(tx, retain_until=2_000_000_000)
        assert len(store._seen) == REMEMBERED == 256
        ran = statements(store)  # the oldest is forgotten: read; the newest is not
        for tx in (txs[0], txs[-1]):
            assert await store.update_if(tx.id, {}, {"status": "x"}, kind="presentation")
        assert ran == ["SELECT", "UPDATE", "UPDATE"]
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


def parsed_rows(path: Path) -> dict[str, Transaction]:
    """Every transaction row as a fresh parse of its text, by transaction id."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT data FROM transactions").fetchall()
    finally:
        db.close()
    parsed = (Transaction.from_json(data) for (data,) in rows)
    return {tx.id: tx for tx in parsed}


async def test_a_read_of_a_remembered_row_gives_what_parsing_it_gives(tmp_path: Path) -> None:
    path = tmp_path / "tx.db"
    store = SQLiteStore(path)
    tx = new_tx()
    tx.dcql_query = {"credentials": [{"id": "a", "format": "dc+sd-jwt"}]}
    await store.create(tx, retain_until=2_000_000_000)
    try:
        ran = statements(store)
        first = await store.get_by_request(tx.request_id, kind="presentation")
        changes = {"status": "fetched", "meta": {"n": 1}}
        updated = await store.update_if(tx.id, {"status": "pending"}, changes, kind="presentation")
        again = await store.get_by_request(tx.request_id, kind="presentation")
        final = await store.update_if(
            tx.id, {"status": "fetched"}, {"result": {"ok": [1, 2.5]}}, kind="presentation"
        )
        last = await store.get(tx.id, kind="presentation")
        assert ran == ["SELECT", "UPDATE", "SELECT", "UPDATE", "SELECT"]  # no read twice
        assert first == Transaction.from_json(tx.to_json())
        assert updated is not None and final is not None
        assert again == updated and last == final == parsed_rows(path)[tx.id]
        assert (last.status, last.version, last.meta, last.result) == (
            "fetched",
            2,
            {"n": 1},
            {"ok": [1, 2.5]},
        )
    finally:
        await store.close()


async def test_what_a_caller_assigns_to_its_transaction_is_not_what_the_next_read_gives(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tx.db")
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    try:
        read = await store.get(tx.id, kind="presentation")
        assert read is not None
        read.status = "tampered"
        updated = await store.update_if(tx.id, {}, {"meta": {"k": "v"}}, kind="presentation")
        assert updated is not None and updated.status == "pending"
        updated.client_id = "tampered"
        again = await store.get(tx.id, kind="presentation")
        assert again is not None and (again.status, again.client_id) == ("pending", "c")
        again.version = 99
        assert await store.update_if(tx.id, {"version": 1}, {"status": "x"}, kind="presentation")
    finally:
        await store.close()


async def test_a_row_another_process_wrote_is_parsed_not_taken_from_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tx.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    tx = new_tx()
    await store.create(tx, retain_until=2_000_000_000)
    try:
        assert await store.get(tx.id, kind="presentation") is not None  # parsed, remembered
        theirs = await other.update_if(tx.id, {}, {"status": "theirs"}, kind="presentation")
        assert theirs is not None
        by_id = await store.get(tx.id, kind="presentation")
        by_request = await store.get_by_request(tx.request_id, kind="presentation")
        assert by_id == by_request == theirs == parsed_rows(path)[tx.id]
        assert by_id is not None and (by_id.status, by_id.version) == ("theirs", 1)
    finally:
        await other.close()
        await store.close()


async def test_a_statement_that_is_wrong_is_not_reported_as_unavailability(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tx.db")
    try:  # SQLITE_ERROR: a bug of ours, raised as it is, never "try again later"
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            store._read("SELECT nope FROM transactions", ())
    finally:
        await store.close()
