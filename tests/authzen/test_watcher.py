"""The grant watcher in process (memory store, a fixed clock, a scripted status checker): bounded
rounds, rescheduling while valid, one revocation mark and one pair of events per stream however
many instances watch, no event for a list that cannot be read, a later grant keeps the watch;
the identity credential behind stepped-up grants watched the same way (its own mark, one
credential-change and assurance-level-change per stream, one session-revoked per grant)."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.agents.grants import (
    WATCH_QUEUE,
    GrantIndex,
    identity_key_of,
    is_revoked,
    mandate_key_of,
)
from verifier.protocol import SigningKey, StatusError, VerifiedCredential
from verifier.protocol.jose.jws import parse_unverified_jws
from verifier.ssf.events import ASSURANCE_LEVEL_CHANGE, CREDENTIAL_CHANGE, SESSION_REVOKED
from verifier.ssf.streams import Streams
from verifier.ssf.transmitter import Transmitter
from verifier.ssf.watcher import GrantWatcher
from verifier.store import MemoryStore
from verifier.store.base import RecordKind, Transaction, TxStatus

pytestmark = pytest.mark.anyio
RETENTION = 900


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Lists:
    """Status by list index: "valid", "revoked", "suspended" or "down"."""

    def __init__(self) -> None:
        self.state: dict[int, str] = {}
        self.checked: list[int] = []

    async def check(self, credential: VerifiedCredential, *, now: int) -> dict[str, Any] | None:
        assert credential.status is not None
        assert credential.vct in ("https://vct.example/mandate", "https://vct.example/identity")
        idx = credential.status.idx
        self.checked.append(idx)
        state = self.state.get(idx, "valid")
        codes = {"revoked": "status_invalid", "suspended": "status_suspended"}
        if state in codes:
            raise StatusError(codes[state], state)
        if state == "down":
            raise StatusError("status_list_unavailable", "down")
        return {"status": "valid"}


def _identity(idx: int | None, *, jti: str | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "verified_claims": {"verification": {"trust_framework": "eidas", "assurance_level": "high"}}
    }
    if jti is not None:
        claims["jti"] = jti
    identity: dict[str, Any] = {
        "iss": "https://id.example",
        "vct": "https://vct.example/identity",
        "claims": claims,
    }
    if idx is not None:
        identity["status"] = {"status": "valid", "uri": "https://id.example/list", "idx": idx}
    return identity


async def _grant(
    store: MemoryStore,
    index: GrantIndex,
    n: int,
    *,
    jti: str | None = None,
    identity: dict[str, Any] | None = None,
) -> str:
    meta: dict[str, Any] = {}
    if identity is not None:
        human = Transaction(
            id=f"h{n}",
            request_id=f"rh{n}",
            state="",
            nonce="",
            client_id="",
            status=TxStatus.VERIFIED,
            expires_at=1_800_000_300,
            result={"credentials": {"identity": [identity]}},
        )
        await store.create(human, retain_until=1_900_000_000)
        meta["human_tx"] = human.id
    agent = Transaction(
        id=f"p{n}",
        request_id=f"rp{n}",
        state="",
        nonce="",
        client_id="",
        status=TxStatus.VERIFIED,
        expires_at=1_800_000_300,
        result={"credentials": {"mandate": [{"vct": "https://vct.example/mandate"}]}},
    )
    await store.create(agent, retain_until=1_900_000_000)
    mandate = {
        "iss": "https://m.example",
        "jti": jti or f"m-{n}",
        "status": {"status": "valid", "uri": "https://m.example/list", "idx": n},
    }
    av = Transaction(
        id=f"av{n}",
        request_id=f"ra{n}",
        state="",
        nonce="",
        client_id="",
        status=TxStatus.VERIFIED,
        kind=RecordKind.AGENT_VERIFICATION,
        expires_at=1_800_000_300 + 100 * n,
        meta={"agent_tx": agent.id, **meta},
        result={"decision": "allow", "mandate": mandate},
    )
    await store.create(av, retain_until=1_900_000_000)
    await index.on_event("final", av)
    return mandate_key_of("https://m.example", mandate["jti"])


def _world() -> tuple[MemoryStore, Clock, Lists, GrantIndex, Transmitter, list[GrantWatcher]]:
    clock = Clock()
    store = MemoryStore(clock)
    lists = Lists()
    index = GrantIndex(store, check_every=10, retention=RETENTION, clock=clock)
    streams = Streams(store, issuer="https://agentvp.example", clock=clock)
    transmitter = Transmitter(
        store,
        streams,
        key=SigningKey.generate(),
        kid="k",
        issuer="https://agentvp.example",
        clock=clock,
        retention=3600,
    )
    watchers = [
        GrantWatcher(
            store, lists, transmitter, interval=10, batch=2, clock=clock, retention=RETENTION
        )
        for _ in range(2)
    ]
    return store, clock, lists, index, transmitter, watchers


async def test_rounds_are_bounded_and_valid_grants_come_back() -> None:
    store, clock, lists, index, _, (one, _) = _world()
    for n in range(5):
        await _grant(store, index, n)
    assert await one.run_once() == 0  # not due yet
    clock.now += 10
    assert await one.run_once() == 2 and await one.run_once() == 2 and await one.run_once() == 1
    assert sorted(lists.checked) == [0, 1, 2, 3, 4]
    assert await one.run_once() == 0  # rescheduled, interval from now
    clock.now += 10
    assert await one.run_once() == 2


async def test_a_revocation_marks_once_and_sends_one_pair_per_stream() -> None:
    store, clock, lists, index, transmitter, watchers = _world()
    poll = await transmitter.streams.create("owner", {"delivery": {"method": "urn:ietf:rfc:8936"}})
    key = await _grant(store, index, 7)
    await _grant(store, index, 8, jti="m-7")  # a second grant of the same mandate: one watch
    lists.state[7] = "revoked"
    clock.now += 10
    handled = [await w.run_once() for w in watchers]
    assert handled == [1, 0]  # the lease kept the second instance off it
    assert await is_revoked(store, key)
    assert sum(w.revocations for w in watchers) == 1
    clock.now += 100
    assert [await w.run_once() for w in watchers] == [0, 0]  # done with it
    sets = (await transmitter.poll("owner", poll["stream_id"], {}))["sets"]
    assert len(sets) == 2
    # a crashed emitter re-running the emission sends nothing twice
    await watchers[1]._emit({"key": key, "iss": "https://m.example", "jti": "m-7"}, "revoke", 0)
    again = await transmitter.poll("owner", poll["stream_id"], {"ack": list(sets)})
    assert again["sets"] == {}


async def test_an_unreadable_list_is_retried_and_never_reported_as_revoked() -> None:
    store, clock, lists, index, transmitter, (one, _) = _world()
    poll = await transmitter.streams.create("owner", {"delivery": {"method": "urn:ietf:rfc:8936"}})
    key = await _grant(store, index, 3)
    lists.state[3] = "down"
    clock.now += 10
    assert await one.run_once() == 1
    assert not await is_revoked(store, key)
    assert (await transmitter.poll("owner", poll["stream_id"], {}))["sets"] == {}
    lists.state[3] = "suspended"
    clock.now += 10
    assert await one.run_once() == 1 and await is_revoked(store, key)
    sets = (await transmitter.poll("owner", poll["stream_id"], {}))["sets"]
    assert len(sets) == 2


async def test_the_watch_ends_with_the_last_grant() -> None:
    store, clock, lists, index, _, (one, _) = _world()
    await _grant(store, index, 1, jti="m-x")  # tokens valid until expires_at + retention
    await _grant(store, index, 4, jti="m-x")  # a later grant of the same mandate
    first_end = 1_800_000_300 + 100 + RETENTION
    clock.now = first_end + 1
    assert await one.run_once() == 1  # past the first grant: renewed for the later one
    clock.now += 10
    assert await one.run_once() == 1 and lists.checked == [1]
    clock.now = 1_800_000_300 + 400 + RETENTION + 1
    assert await one.run_once() == 1  # past every grant: dropped
    clock.now += 1000
    assert await one.run_once() == 0
    assert await store.lease(WATCH_QUEUE, now=int(clock.now), lease_for=1, limit=10) == []


def _claims(sets: dict[str, str]) -> list[dict[str, Any]]:
    return [parse_unverified_jws(t, what="SET").payload_json(what="SET") for t in sets.values()]


async def test_a_revoked_identity_ends_every_grant_resting_on_it_once_per_stream() -> None:
    store, clock, lists, index, transmitter, watchers = _world()
    poll = await transmitter.streams.create("owner", {"delivery": {"method": "urn:ietf:rfc:8936"}})
    identity = _identity(100)
    first = await _grant(store, index, 1, identity=identity)
    await _grant(store, index, 2, identity=identity)  # the same person steps up again
    await _grant(store, index, 3)  # no step-up: not affected
    key = identity_key_of(identity)
    assert key is not None
    lists.state[100] = "revoked"
    clock.now += 10
    handled = [await w.run_once() for w in watchers]
    assert sum(handled) == 4  # three mandates and one identity: one watch each
    assert await is_revoked(store, key) and not await is_revoked(store, first)
    sets = (await transmitter.poll("owner", poll["stream_id"], {}))["sets"]
    claims = _claims(sets)
    kinds = sorted(next(iter(c["events"])).rsplit("/", 1)[1] for c in claims)
    assert kinds == [
        "assurance-level-change",
        "credential-change",
        "session-revoked",
        "session-revoked",
    ]
    by_kind = {next(iter(c["events"])).rsplit("/", 1)[1]: c for c in claims}
    subject = {"format": "opaque", "id": "https://id.example/list#100"}
    change = by_kind["credential-change"]
    assert change["sub_id"] == subject
    assert change["events"][CREDENTIAL_CHANGE]["change_type"] == "revoke"
    level = by_kind["assurance-level-change"]
    assert level["sub_id"] == subject
    event = level["events"][ASSURANCE_LEVEL_CHANGE]
    assert event["namespace"] == "eidas" and event["previous_level"] == "high"
    assert event["current_level"] == "none" and event["change_direction"] == "decrease"
    sessions = [c["sub_id"] for c in claims if SESSION_REVOKED in c["events"]]
    assert sorted(s["id"] for s in sessions) == ["av1", "av2"]
    assert all(s["format"] == "opaque" for s in sessions)
    # a crashed emitter re-running it sends nothing twice; later rounds send nothing either
    item = {"key": key, "subject": subject, "level": "high", "namespace": "eidas"}
    await watchers[1]._emit_identity(item, "revoke", 0)
    clock.now += 100
    assert sum([await w.run_once() for w in watchers]) == 3  # the three valid mandates only
    again = await transmitter.poll("owner", poll["stream_id"], {"ack": list(sets)})
    assert again["sets"] == {}


async def test_an_identity_with_a_jti_is_named_by_it_and_suspension_is_an_update() -> None:
    store, clock, lists, index, transmitter, (one, _) = _world()
    poll = await transmitter.streams.create("owner", {"delivery": {"method": "urn:ietf:rfc:8936"}})
    identity = _identity(101, jti="id-1")
    await _grant(store, index, 4, identity=identity)
    lists.state[101] = "down"
    clock.now += 10
    assert await one.run_once() == 2
    assert (await transmitter.poll("owner", poll["stream_id"], {}))["sets"] == {}  # never invented
    lists.state[101] = "suspended"
    clock.now += 10
    assert await one.run_once() == 2
    claims = _claims((await transmitter.poll("owner", poll["stream_id"], {}))["sets"])
    change = next(c for c in claims if CREDENTIAL_CHANGE in c["events"])
    assert change["sub_id"] == {"format": "jwt_id", "iss": "https://id.example", "jti": "id-1"}
    assert change["events"][CREDENTIAL_CHANGE]["change_type"] == "update"
    assert len(claims) == 3


async def test_an_identity_without_a_status_entry_is_not_watched() -> None:
    store, clock, lists, index, _, (one, _) = _world()
    await _grant(store, index, 5, identity=_identity(None))
    assert identity_key_of(_identity(None)) is None
    clock.now += 10
    assert await one.run_once() == 1 and lists.checked == [5]
