"""The wallet's steps start from the record as this process wrote it (round 22): no lookup
when one process serves a flow, and, when another process changed the record since, exactly
the answers and state changes of a fresh read - two services over one store stand for two
verifier processes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import pytest

from verifier.errors import ServiceError
from verifier.presentations.config import ServiceConfig
from verifier.presentations.create import CreatePresentation
from verifier.presentations.service import PresentationService
from verifier.presentations.written import WrittenHere
from verifier.store import MemoryStore
from verifier.store.base import Transaction, TxStatus

PUBLIC = "https://verifier.example"
QUERY = {"credentials": [{"id": "identity", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]}}]}
FORM = "application/x-www-form-urlencoded"


class Clock:
    def __init__(self, now: float = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingStore(MemoryStore):
    """The in-memory store, counting the record lookups the service makes."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.lookups = 0

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        self.lookups += 1
        return await super().get_by_request(request_id, kind=kind)


def service(store: MemoryStore, clock: Clock) -> PresentationService:
    config = ServiceConfig(
        public_url=PUBLIC,
        client_id="",
        signing_key=None,
        x5c=[],
        default_response_mode="direct_post",
    )
    return PresentationService(config=config, store=store, keys=object(), clock=clock)  # type: ignore[arg-type]


def run(step: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(step)


def create(svc: PresentationService, **extra: Any) -> Transaction:
    return run(svc.create(CreatePresentation(dcql_query=QUERY, **extra)))  # type: ignore[no-any-return]


def answer(svc: PresentationService, tx: Transaction, **form: str) -> dict[str, Any]:
    """A response in ``tx``'s state, ``vp_token`` that verifies not (a final ``rejected``)."""
    fields = {"vp_token": json.dumps({"identity": ["not-a-credential"]}), "state": tx.state}
    body = urlencode({**fields, **form}).encode()
    return run(svc.receive_response(tx.request_id, content_type=FORM, body=body))  # type: ignore[no-any-return]


def refusal(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.status, caught.value.error, caught.value.description


def record(store: MemoryStore, tx: Transaction) -> Transaction:
    found = run(store.get(tx.id, kind=tx.kind))
    assert found is not None
    return found  # type: ignore[no-any-return]


def test_a_flow_served_by_one_process_looks_no_record_up() -> None:
    clock = Clock()
    store = CountingStore(clock)
    svc = service(store, clock)
    tx = create(svc)
    run(svc.request_object(tx.request_id, wallet_nonce="n"))
    assert answer(svc, tx) == {}
    assert store.lookups == 0
    final = record(store, tx)
    assert (final.status, final.version, final.wallet_nonce) == (TxStatus.REJECTED, 2, "n")
    # the next steps of a finished flow read it: the usual answers
    again = refusal(lambda: answer(svc, tx))
    assert again == (400, "invalid_request", "this request was already answered")
    fetched = refusal(lambda: run(svc.request_object(tx.request_id, wallet_nonce=None)))
    assert fetched == (400, "invalid_request", "the request object was already retrieved")
    assert store.lookups == 2
    assert record(store, tx).version == 2


def test_a_request_object_another_process_served_is_refused_and_nothing_changes() -> None:
    clock = Clock()
    store = CountingStore(clock)
    here, there = service(store, clock), service(store, clock)
    tx = create(here)
    run(there.request_object(tx.request_id, wallet_nonce="theirs"))
    assert refusal(lambda: run(here.request_object(tx.request_id, wallet_nonce="ours"))) == (
        400,
        "invalid_request",
        "the request object was already retrieved",
    )
    kept = record(store, tx)
    assert (kept.status, kept.version, kept.wallet_nonce) == (
        TxStatus.REQUEST_RETRIEVED,
        1,
        "theirs",
    )
    assert answer(there, tx) == {}  # and the flow goes on where it is


def test_a_response_another_process_answered_is_refused_and_nothing_changes() -> None:
    clock = Clock()
    store = CountingStore(clock)
    here, there = service(store, clock), service(store, clock)
    tx = create(here)
    run(here.request_object(tx.request_id, wallet_nonce=None))
    assert answer(there, tx) == {}
    answered = record(store, tx)
    assert refusal(lambda: answer(here, tx)) == (
        400,
        "invalid_request",
        "this request was already answered",
    )
    assert record(store, tx).__dict__ == answered.__dict__


def test_a_record_another_process_expired_gets_the_expiry_answer() -> None:
    """The other process's clock is past the expiry, this one's not yet: this one's remembered
    record says pending, the store says expired, and the store's answer is given."""
    clock, later = Clock(), Clock()
    store = CountingStore(clock)
    here, there = service(store, clock), service(store, later)
    tx = create(here)
    later.now = tx.expires_at + 1
    assert run(there.get(tx.id)).status == TxStatus.EXPIRED
    expired = refusal(lambda: run(here.request_object(tx.request_id, wallet_nonce=None)))
    assert expired == (400, "invalid_request", "the request has expired")

    tx = create(here)
    run(here.request_object(tx.request_id, wallet_nonce=None))
    later.now = tx.expires_at + 1
    assert run(there.get(tx.id)).status == TxStatus.EXPIRED
    assert refusal(lambda: answer(here, tx)) == (400, "invalid_request", "the request has expired")
    assert record(store, tx).status == TxStatus.EXPIRED


def test_a_record_due_to_expire_is_expired_as_ever() -> None:
    clock = Clock()
    store = CountingStore(clock)
    svc = service(store, clock)
    tx = create(svc)
    clock.now = tx.expires_at
    expired = refusal(lambda: run(svc.request_object(tx.request_id, wallet_nonce=None)))
    assert expired == (400, "invalid_request", "the request has expired")
    assert record(store, tx).status == TxStatus.EXPIRED


@pytest.mark.parametrize(
    ("form", "content_type", "expected"),
    [
        ({"state": "another"}, FORM, (400, "invalid_request", "state does not match this request")),
        ({}, "text/plain", (415, "invalid_request", f"content type must be {FORM}")),
        (
            {"vp_token": "{not json"},
            FORM,
            (400, "invalid_request", "response not accepted: malformed_json"),
        ),
    ],
)
def test_bad_input_gets_the_answer_of_a_fresh_read_once(
    form: dict[str, str],
    content_type: str,
    expected: tuple[int, str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    store = CountingStore(clock)
    here, there = service(store, clock), service(store, clock)
    tx, other = create(here), create(here)
    for each in (tx, other):
        run(here.request_object(each.request_id, wallet_nonce=None))
    fields = {"vp_token": json.dumps({"identity": ["x"]}), "state": tx.state, **form}
    body = urlencode(fields).encode()
    caplog.set_level(logging.INFO, logger="agentvp.service")
    remembered = refusal(
        lambda: run(here.receive_response(tx.request_id, content_type=content_type, body=body))
    )
    fresh = refusal(
        lambda: run(there.receive_response(tx.request_id, content_type=content_type, body=body))
    )
    assert remembered == fresh == expected
    logged = [r for r in caplog.records if r.getMessage() == "unattributable response"]
    assert len(logged) == (2 if "vp_token" in form else 0)  # one a request, not one a try
    assert record(store, tx).version == 1
    assert answer(here, tx) == {}  # a good response after a bad one is still taken
    assert record(store, tx).status == TxStatus.REJECTED
    assert answer(here, other) == {}


def test_the_remembered_records_are_bounded_used_once_and_never_a_dc_api_one() -> None:
    written = WrittenHere(size=3)

    def tx(n: int, **values: Any) -> Transaction:
        return Transaction(
            id=f"t{n}",
            request_id=f"r{n}",
            state="s",
            nonce="n",
            client_id="c",
            created_at=0,
            expires_at=100,
            **values,
        )

    for n in range(5):
        written.remember(tx(n))
    assert len(written) == 3
    assert written.take("r0", TxStatus.PENDING, 0) is None  # the oldest went first
    taken = written.take("r4", TxStatus.PENDING, 99)
    assert taken is not None and taken.id == "t4"
    assert written.take("r4", TxStatus.PENDING, 99) is None  # once
    assert written.take("r3", TxStatus.REQUEST_RETRIEVED, 0) is None  # another status
    assert written.take("r2", TxStatus.PENDING, 100) is None  # due to expire
    written.remember(tx(9, flow="dc_api"))
    assert len(written) == 0
    original = tx(7)
    written.remember(original)
    original.status = TxStatus.VERIFIED  # the caller's object: what is remembered is a copy
    assert written.take("r7", TxStatus.PENDING, 0) is not None
