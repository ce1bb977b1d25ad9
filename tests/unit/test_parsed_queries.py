"""``parse_query``: a DCQL query parsed once per query text and strictness - always exactly
what ``DCQLQuery.parse`` gives (or raises) for that query."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.presentations import parsed_queries as memo
from verifier.presentations.parsed_queries import parse_query
from verifier.protocol import AgentVPError, DCQLQuery


def query(*ids: str, **extra: Any) -> dict[str, Any]:
    credentials = [
        {"id": i, "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:x"]}, **extra} for i in ids
    ]
    return {"credentials": credentials}


@pytest.fixture(autouse=True)
def empty_memo() -> None:
    memo._PARSED.clear()


def test_a_query_is_parsed_once_and_is_the_parse() -> None:
    first = parse_query(query("a", "b"))
    assert first == DCQLQuery.parse(query("a", "b"))
    again = parse_query(query("a", "b"))  # another dict with the same JSON: the same parse
    assert again is first
    other = parse_query(query("a"))
    assert other is not first and [c.id for c in other.credentials] == ["a"]


def test_strict_and_lenient_parses_are_kept_apart() -> None:
    """An unknown member: ignored by the lenient parse, refused by the strict one, whichever
    of the two was asked first."""
    raw = query("a", unknown_member=1)
    lenient = parse_query(raw)
    assert lenient == DCQLQuery.parse(raw)
    for _ in range(2):
        with pytest.raises(AgentVPError, match="unknown"):
            parse_query(raw, strict=True)
    assert parse_query(raw) is lenient


def test_python_equal_is_not_json_equal() -> None:
    """``True == 1`` in Python: ``multiple: 1`` is not the query ``multiple: true`` parsed."""
    assert parse_query(query("a", multiple=True)).credentials[0].multiple is True
    with pytest.raises(AgentVPError) as memoised:
        parse_query(query("a", multiple=1))
    with pytest.raises(AgentVPError) as direct:
        DCQLQuery.parse(query("a", multiple=1))
    assert memoised.value.code == direct.value.code


def test_a_query_that_does_not_parse_raises_every_time_and_is_not_kept() -> None:
    bad = {"credentials": [{"id": "a", "format": "unknown-format", "meta": {}}]}
    for _ in range(2):
        with pytest.raises(AgentVPError, match="unsupported"):
            parse_query(bad)
    assert memo._PARSED == {}


def test_not_json_is_parsed_and_refused_as_before() -> None:
    odd = {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {1j: "x"}}]}
    with pytest.raises(AgentVPError):
        DCQLQuery.parse(odd)
    with pytest.raises(AgentVPError):
        parse_query(odd)
    assert memo._PARSED == {}


def test_the_memo_stays_bounded() -> None:
    for i in range(memo.MAX_ENTRIES + 10):
        parse_query(query(f"c{i}"))
    assert 0 < len(memo._PARSED) <= memo.MAX_ENTRIES
    huge = query("a")
    huge["credentials"][0]["meta"]["vct_values"] = ["urn:" + "x" * memo.MAX_TEXT]
    memo._PARSED.clear()
    assert parse_query(huge) == DCQLQuery.parse(huge)
    assert memo._PARSED == {}  # over MAX_TEXT: parsed every time, never kept


def test_changing_the_raw_query_afterwards_changes_nothing_kept() -> None:
    raw = query("a")
    parsed = parse_query(raw)
    raw["credentials"][0]["id"] = "changed"
    assert parse_query(query("a")) is parsed
    assert parsed.credentials[0].id == "a"


_ids = st.text(alphabet="abc_-1", min_size=1, max_size=3)
_values = st.one_of(st.booleans(), st.integers(-2, 2), st.text(max_size=3), st.none())


@given(
    st.lists(_ids, min_size=1, max_size=3),
    st.dictionaries(
        st.sampled_from(["multiple", "require_cryptographic_holder_binding", "unknown_member"]),
        _values,
    ),
    st.booleans(),
)
def test_always_what_the_parse_gives(ids: list[str], extra: dict[str, Any], strict: bool) -> None:
    raw = query(*ids, **extra)
    for _ in range(2):  # once parsed, once (maybe) from the memo
        try:
            expected: Any = DCQLQuery.parse(raw, strict=strict)
        except AgentVPError as exc:
            with pytest.raises(AgentVPError) as caught:
                parse_query(raw, strict=strict)
            assert caught.value.code == exc.code and str(caught.value) == str(exc)
        else:
            assert parse_query(raw, strict=strict) == expected
