"""``RecentFields`` (the Redis stores' memory of decoded fields): a record read again gives
exactly what decoding it gives, decodes only the fields whose text changed, and stays bounded."""

from __future__ import annotations

import json

import pytest

from verifier.store import Transaction
from verifier.store.recent_fields import RecentFields


def tx(tx_id: str = "t1", **changes: object) -> Transaction:
    base = Transaction(
        id=tx_id,
        request_id=f"r-{tx_id}",
        state="s",
        nonce="n",
        client_id="x509_hash:abc",
        dcql_query={"credentials": [{"id": "pid", "claims": [{"path": ["a", 0, None]}]}]},
        result={"ok": True, "n": 1.5, "text": 'quote " and \\ and é'},
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_a_read_gives_what_decoding_the_fields_gives() -> None:
    seen = RecentFields()
    fields = tx().to_fields()
    assert seen.parsed(fields) == Transaction.from_fields(fields) == tx()
    as_bytes = {k.encode(): v.encode() for k, v in fields.items()}
    assert seen.parsed(as_bytes) == tx()  # and again, from memory, as bytes
    assert seen.parsed({**fields, "later_field": "[1]"}) == tx()  # unknown fields ignored


def test_only_the_fields_whose_text_changed_are_decoded_again() -> None:
    seen = RecentFields()
    first = seen.parsed(tx().to_fields())
    second = seen.parsed(tx(status="verified", version=1).to_fields())
    assert (second.status, second.version) == ("verified", 1)
    assert second.dcql_query is first.dcql_query and second.result is first.result
    assert second is not first  # a new transaction each read: assigning to it changes no other
    changed = {**tx().to_fields(), "result": json.dumps({"ok": False})}
    third = seen.parsed(changed)
    assert third.result == {"ok": False} and third.dcql_query is first.dcql_query


def test_a_text_that_decodes_to_an_equal_value_is_still_decoded_anew() -> None:
    seen = RecentFields()
    first = seen.parsed(tx().to_fields())
    spaced = {**tx().to_fields(), "dcql_query": " " + tx().to_fields()["dcql_query"]}
    second = seen.parsed(spaced)
    assert second.dcql_query == first.dcql_query and second.dcql_query is not first.dcql_query


def test_records_are_told_apart_by_kind_and_id() -> None:
    seen = RecentFields()
    one = seen.parsed(tx("a").to_fields())
    other = seen.parsed(tx("b", result={"ok": 2}).to_fields())
    assert (one.id, other.id, other.result) == ("a", "b", {"ok": 2})
    assert seen.parsed(tx("a").to_fields()).result is one.result
    agent = {**tx("a").to_fields(), "kind": '"agent_verification"'}
    assert seen.parsed(agent).result is not one.result  # same id, another kind: its own entry
    assert len(seen) == 3


def test_a_field_that_does_not_decode_raises_as_from_fields_does_and_is_not_remembered() -> None:
    seen = RecentFields()
    good = tx().to_fields()
    first = seen.parsed(good)
    bad = {**good, "result": '{"ok": tru'}
    with pytest.raises(json.JSONDecodeError):
        Transaction.from_fields(bad)
    with pytest.raises(json.JSONDecodeError):
        seen.parsed(bad)
    assert len(seen) == 0  # the record's entry is gone, not half replaced
    assert seen.parsed(good).result is not first.result
    missing = {k: v for k, v in good.items() if k != "nonce"}
    with pytest.raises(TypeError):
        Transaction.from_fields(missing)
    with pytest.raises(TypeError):
        seen.parsed(missing)


def test_at_most_size_records_are_remembered_the_oldest_forgotten() -> None:
    seen = RecentFields(size=3)
    firsts = [seen.parsed(tx(f"t{i}").to_fields()) for i in range(4)]
    assert len(seen) == 3
    assert seen.parsed(tx("t0").to_fields()).result is not firsts[0].result  # forgotten
    assert seen.parsed(tx("t3").to_fields()).result is firsts[3].result


def test_a_field_an_older_record_lacks_gets_its_default_as_from_fields_gives_it() -> None:
    older = {k: v for k, v in tx().to_fields().items() if k not in ("meta", "wallet_nonce")}
    got = RecentFields().parsed(older)
    assert got == Transaction.from_fields(older)
    assert (got.meta, got.wallet_nonce) == ({}, None)
