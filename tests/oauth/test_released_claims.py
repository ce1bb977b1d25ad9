"""Verified claims a resource may see (``released_claims``): at introspection only, only those
listed, only for that resource's tokens; the access token itself carries ``sub`` and ``acr`` and
nothing else of the person."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.mcp.conftest import claims_of
from tests.oauth.conftest import World
from tests.oauth.test_wallet_login import exchange
from verifier.oauth.released import release, still_released
from verifier.policy.resources import ResourcePolicy

PERSON = ("given_name", "family_name", "birthdate")


@pytest.mark.e2e
def test_listed_claims_are_at_introspection_for_that_resource_only(world: World) -> None:
    stepup, shop = world.shops["stepup"], world.shops["shop"]
    client = world.register()
    answer, verifier = world.login(client, stepup.resource)
    body = exchange(world, client, answer, verifier, stepup.resource).json()
    seen = world.introspect(body["access_token"])
    assert seen["active"] is True and seen["aud"] == stepup.resource
    released = seen["verified_claims"]
    assert set(released) == {"verification", "claims"}
    assert set(released["claims"]) == {"given_name", "birthdate"}  # family_name: not listed
    assert all(isinstance(v, str) and v for v in released["claims"].values())
    assert set(released["verification"]) == {"trust_framework", "assurance_level"}
    assert released["verification"]["assurance_level"] == seen["acr"]
    assert "family_name" not in str(seen)
    token = claims_of(body["access_token"])  # minimal disclosure in the token itself
    assert "verified_claims" not in token and not set(PERSON) & set(token)
    # a refreshed token of the same login is introspected with the same release
    refresh = {"grant_type": "refresh_token", "client_id": client["client_id"]}
    again = world.token(**refresh, refresh_token=body["refresh_token"]).json()
    assert world.introspect(again["access_token"])["verified_claims"] == released

    other = world.register()
    answer, verifier = world.login(other, shop.resource)  # the same person, another resource
    theirs = exchange(world, other, answer, verifier, shop.resource).json()
    seen = world.introspect(theirs["access_token"])
    assert seen["active"] is True and "verified_claims" not in seen
    assert not set(PERSON) & set(seen)


IDENTITY: dict[str, Any] = {
    "claims": {
        "verified_claims": [
            {"verification": {"trust_framework": "other"}, "claims": {"given_name": "Wrong"}},
            {
                "verification": {"trust_framework": "eidas", "assurance_level": "high"},
                "claims": {"given_name": "Erika", "family_name": "M", "birthdate": "1964-08-12"},
            },
        ]
    }
}


def test_release_takes_listed_claims_of_the_accepted_framework_only() -> None:
    names = ["given_name", "nationalities", "verification.assurance_level", "verification.time"]
    assert release(IDENTITY, names, ["eidas"]) == {
        "verification": {"assurance_level": "high"},
        "claims": {"given_name": "Erika"},  # nationalities was not disclosed: absent
    }
    assert release(IDENTITY, [], ["eidas"]) == {}  # default: nothing
    assert release({"claims": {}}, names, ["eidas"]) == {}
    assert release(IDENTITY, ["given_name"], ["nope"]) == {}


def test_a_name_removed_from_the_policy_is_no_longer_released() -> None:
    stored = release(
        IDENTITY, ["given_name", "birthdate", "verification.assurance_level"], ["eidas"]
    )
    assert still_released(stored, ["birthdate"]) == {"claims": {"birthdate": "1964-08-12"}}
    assert still_released(stored, []) == {}
    assert still_released("garbage", ["birthdate"]) == {}
    assert still_released(stored, ["assurance_level"]) == {}  # verification members by prefix


@pytest.mark.parametrize(
    "name", ["", "verification.", "claims.given_name", "given name", "verification.a.b", "x" * 70]
)
def test_released_claims_names_are_checked(name: str) -> None:
    with pytest.raises(ValidationError, match="released_claims"):
        ResourcePolicy.model_validate({"policy": "p", "released_claims": [name]})
