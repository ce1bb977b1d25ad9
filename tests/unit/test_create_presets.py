"""``CreatePresentation.resolve`` with a preset: its parsed query is reused only while the
preset's query is unchanged, and a bad preset answers 400 on every create."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.errors import ServiceError
from verifier.presentations import parsed_queries
from verifier.presentations.create import CreatePresentation


def preset(*ids: str) -> dict[str, Any]:
    credentials = [{"id": i, "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:x"]}} for i in ids]
    return {"dcql_query": {"credentials": credentials}}


def td_for(credential_id: str) -> dict[str, Any]:
    return {"type": "t", "credential_ids": [credential_id]}


def test_a_preset_query_changed_in_place_is_parsed_again() -> None:
    presets = {"p": preset("a")}
    query, _ = CreatePresentation(profile="p").resolve(presets)
    assert [c["id"] for c in query["credentials"]] == ["a"]
    CreatePresentation(profile="p", transaction_data=[td_for("a")]).resolve(presets)
    # the same mapping, its query edited in place: the ids transaction data may name follow
    presets["p"]["dcql_query"]["credentials"][0]["id"] = "b"
    CreatePresentation(profile="p", transaction_data=[td_for("b")]).resolve(presets)
    with pytest.raises(ServiceError, match="unknown queries"):
        CreatePresentation(profile="p", transaction_data=[td_for("a")]).resolve(presets)


def test_a_bad_preset_answers_400_every_time() -> None:
    presets = {"p": {"dcql_query": {"credentials": [{"id": "a", "format": "dc+sd-jwt", "x": 1}]}}}
    for _ in range(2):
        with pytest.raises(ServiceError) as caught:
            CreatePresentation(profile="p").resolve(presets)
        assert caught.value.status == 400


def test_the_remembered_queries_stay_bounded() -> None:
    for i in range(parsed_queries.MAX_ENTRIES + 10):
        CreatePresentation(profile="p").resolve({"p": preset(f"c{i}")})
    assert len(parsed_queries._PARSED) <= parsed_queries.MAX_ENTRIES


def test_an_edit_python_calls_equal_is_still_seen() -> None:
    """``True == 1`` in Python; a query whose ``multiple`` became ``1`` is not the one parsed."""
    presets = {"p": preset("a")}
    presets["p"]["dcql_query"]["credentials"][0]["multiple"] = True
    CreatePresentation(profile="p").resolve(presets)
    presets["p"]["dcql_query"]["credentials"][0]["multiple"] = 1
    with pytest.raises(ServiceError):
        CreatePresentation(profile="p").resolve(presets)
