"""``Transaction.to_fields`` / ``from_fields``: the per-field JSON the Redis stores keep."""

from __future__ import annotations

import dataclasses
import json

import pytest

from verifier.store import Transaction
from verifier.store.memory import CompareAndSet


def tx() -> Transaction:
    return Transaction(
        id="t1",
        request_id="r1",
        state="s",
        nonce="n",
        client_id="x509_hash:abc",
        dcql_query={"credentials": [{"id": "pid", "claims": [{"path": ["a", 0, None]}]}]},
        result={"ok": True, "n": 1.5, "text": 'quote " and \\ and é'},
        redirect_uri=None,
    )


def test_fields_round_trip() -> None:
    fields = tx().to_fields()
    assert Transaction.from_fields(fields) == tx()
    as_bytes = {k: v.encode() for k, v in fields.items()}
    assert Transaction.from_fields(as_bytes) == tx()


def test_unknown_fields_are_ignored() -> None:
    assert Transaction.from_fields({**tx().to_fields(), "later_field": "[1]"}) == tx()


def test_a_field_is_decoded_as_json_loads_would() -> None:
    fields = tx().to_fields()
    spaced = {**fields, "status": ' "verified" ', "version": "\n3 "}
    decoded = Transaction.from_fields(spaced)
    assert decoded.status == json.loads(' "verified" ')
    assert decoded.version == 3


@pytest.mark.parametrize("bad", ["", "   ", "1 2", '"a" "b"', "[1]]", "{", "nope", '"x'])
def test_a_field_that_is_not_one_json_value_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Transaction.from_fields({**tx().to_fields(), "status": bad})


def same_transaction(a: Transaction, b: Transaction) -> bool:
    return type(a) is type(b) and a == b and sorted(vars(a).items()) == sorted(vars(b).items())


def test_from_json_builds_what_init_builds() -> None:
    """Every field present (the fast path), some missing (their defaults), some unknown (dropped):
    the same transaction ``Transaction(**known fields)`` gives."""
    full = json.loads(tx().to_json())
    assert same_transaction(Transaction.from_json(tx().to_json()), Transaction(**full))
    missing = {k: v for k, v in full.items() if k not in ("meta", "purpose")}
    got = Transaction.from_json(json.dumps(missing))
    assert same_transaction(got, Transaction(**missing))
    assert got.meta == {} and got.purpose == "presentation"
    extra = Transaction.from_json(json.dumps({**full, "later_field": [1]}))
    assert same_transaction(extra, Transaction(**full))
    assert not hasattr(extra, "later_field")
    with pytest.raises(AttributeError):  # a record that is not an object fails as before
        Transaction.from_json("[1]")


def test_init_does_nothing_from_json_skips() -> None:
    """``from_json`` assigns a full record's fields without ``__init__``: that is the same only
    while ``__init__`` just assigns every field (no ``__post_init__``, no ``init=False`` field,
    no subclass with either)."""
    assert not hasattr(Transaction, "__post_init__")
    assert all(f.init for f in dataclasses.fields(Transaction))
    assert not Transaction.__subclasses__()


def test_compare_and_set_applies_what_replace_gives() -> None:
    """``CompareAndSet.apply`` builds the updated record without ``__init__``: the same record
    ``dataclasses.replace`` gives, a new object, the one it came from untouched."""
    before = Transaction.from_json(tx().to_json())
    changes = {"status": "verified", "result": {"claims": {"a": [1, None]}}, "wallet_nonce": "w"}
    updated = CompareAndSet.parse({"status": "pending"}, changes).apply(before)
    assert updated is not None and updated is not before
    assert updated == dataclasses.replace(before, **changes, version=before.version + 1)
    assert vars(updated).keys() == vars(before).keys()
    assert before == Transaction.from_json(tx().to_json())
    assert CompareAndSet.parse({"status": "verified"}, changes).apply(before) is None
