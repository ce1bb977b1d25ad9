"""A busy SQLite store checkpoints its WAL on a thread of its own (verifier/store/
sqlite_checkpoint.py): when it starts, what the serving connection keeps, how it stops, and
what it does when it cannot run."""

from __future__ import annotations

import gc
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.store.test_sqlite_store import new_tx
from verifier.store import SQLiteStore, sqlite_checkpoint
from verifier.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer

pytestmark = pytest.mark.anyio


def autocheckpoint(store: SQLiteStore) -> int:
    value: int = store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    return value


def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


async def test_checkpoints_leave_the_serving_connection_after_its_first_creates(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tx.db", checkpoint_after=3)
    for _ in range(2):
        await store.create(new_tx(), retain_until=2_000_000_000)
    assert store.checkpointer is None and autocheckpoint(store) == 1000  # SQLite's own

    await store.create(new_tx(), retain_until=2_000_000_000)
    checkpointer = store.checkpointer
    assert checkpointer is not None and checkpointer.alive
    assert autocheckpoint(store) == BACKSTOP_PAGES  # the loop checkpoints only far behind
    created = [new_tx() for _ in range(300)]
    for tx in created:
        await store.create(tx, retain_until=2_000_000_000)
    assert eventually(lambda: checkpointer.pages > 0), "the thread copied no WAL page"

    await store.close()
    assert not checkpointer.alive
    db = sqlite3.connect(tmp_path / "tx.db")  # every record is there for another process
    try:
        assert db.execute("SELECT COUNT(*) FROM transactions").fetchone() == (303,)
    finally:
        db.close()


async def test_a_relative_path_names_the_same_file_after_the_directory_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    monkeypatch.chdir(tmp_path / "first")
    store = SQLiteStore("tx.db", checkpoint_after=1)
    monkeypatch.chdir(tmp_path / "second")  # the thread's connection opens after this
    for _ in range(50):
        await store.create(new_tx(), retain_until=2_000_000_000)
    checkpointer = store.checkpointer
    assert checkpointer is not None
    assert eventually(lambda: checkpointer.pages > 0), "the thread checkpointed another file"
    await store.close()
    assert list((tmp_path / "second").iterdir()) == []


async def test_a_store_in_memory_or_not_yet_busy_starts_no_thread(tmp_path: Path) -> None:
    memory = SQLiteStore(":memory:", checkpoint_after=1)
    await memory.create(new_tx(), retain_until=2_000_000_000)
    assert memory.checkpointer is None
    await memory.close()
    quiet = SQLiteStore(tmp_path / "tx.db")  # the default: after 1,000 creates
    for _ in range(5):
        await quiet.create(new_tx(), retain_until=2_000_000_000)
    assert quiet.checkpointer is None and autocheckpoint(quiet) == 1000
    await quiet.close()


async def test_a_store_collected_unclosed_stops_its_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tx.db", checkpoint_after=1)
    await store.create(new_tx(), retain_until=2_000_000_000)
    checkpointer = store.checkpointer
    assert checkpointer is not None and checkpointer.alive
    del store
    gc.collect()
    assert eventually(lambda: not checkpointer.alive), "the thread outlived its store"


async def test_two_stores_on_one_file_each_with_a_thread_lose_nothing(tmp_path: Path) -> None:
    """Two processes' stores (two connections, two checkpoint threads) writing in turn."""
    first = SQLiteStore(tmp_path / "tx.db", checkpoint_after=1)
    second = SQLiteStore(tmp_path / "tx.db", checkpoint_after=1)
    created = []
    for number in range(400):
        tx = new_tx()
        await (first if number % 2 else second).create(tx, retain_until=2_000_000_000)
        created.append(tx)
    for number, tx in enumerate(created[::7]):
        reader = second if number % 2 else first
        got = await reader.get(tx.id, kind=tx.kind)
        assert got is not None and got.request_id == tx.request_id
        updated = await reader.update_if(
            tx.id, {"status": "pending"}, {"status": "request_retrieved"}, kind=tx.kind
        )
        assert updated is not None and updated.version == tx.version + 1
    threads = [first.checkpointer, second.checkpointer]
    assert all(t is not None and t.alive for t in threads)
    assert eventually(lambda: sum(t.pages for t in threads if t is not None) > 0)
    await first.close()
    await second.close()
    assert not any(t is not None and t.alive for t in threads)


async def test_a_file_that_cannot_be_opened_again_keeps_sqlites_own_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    store = SQLiteStore(tmp_path / "tx.db", checkpoint_after=1)
    monkeypatch.setattr(sqlite_checkpoint.sqlite3, "connect", refuse)  # no real way as root
    with caplog.at_level(logging.WARNING, logger="agentvp.store"):
        await store.create(new_tx(), retain_until=2_000_000_000)
    assert store.checkpointer is None and autocheckpoint(store) == 1000
    assert "checkpoints stay on the serving thread: unable to open" in caplog.text
    monkeypatch.undo()
    await store.create(new_tx(), retain_until=2_000_000_000)  # the store serves on
    await store.close()


async def test_a_thread_that_cannot_start_keeps_sqlites_own_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_thread(db: sqlite3.Connection) -> Checkpointer:
        raise RuntimeError("can't start new thread")

    store = SQLiteStore(tmp_path / "tx.db", checkpoint_after=1)
    monkeypatch.setattr(sqlite_checkpoint, "Checkpointer", no_thread)  # no real way here
    tx = new_tx()
    with caplog.at_level(logging.WARNING, logger="agentvp.store"):
        await store.create(tx, retain_until=2_000_000_000)
    assert store.checkpointer is None and autocheckpoint(store) == 1000
    assert "checkpoints stay on the serving thread: can't start new thread" in caplog.text
    got = await store.get(tx.id, kind=tx.kind)  # created all the same
    assert got is not None and got.nonce == tx.nonce
    await store.close()


def test_a_failing_checkpoint_is_logged_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.close()  # every checkpoint now fails ("Cannot operate on a closed database")
    with caplog.at_level(logging.WARNING, logger="agentvp.store"):
        checkpointer = Checkpointer(db, interval=0.01, idle_interval=0.01)
        assert eventually(lambda: caplog.text.count("checkpoint failed (retried)") >= 2)
        assert checkpointer.alive and checkpointer.runs == 0
        checkpointer.stop()
    assert not checkpointer.alive
