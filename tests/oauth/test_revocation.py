"""RFC 7009 revocation of wallet-login tokens by the public client that holds them, over real
HTTP: one access token on its own (the login goes on), then the refresh token (the whole login
ends); a token of another client is refused and changes nothing; each revocation is one CAEP
session-revoked on a poll stream (the token as jwt_id, the login as opaque ``sid``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.mcp.conftest import claims_of
from tests.oauth.conftest import World
from tests.oauth.test_wallet_login import exchange
from verifier.protocol.jose.jws import parse_unverified_jws

pytestmark = pytest.mark.e2e
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"


def _revoke(world: World, **form: str) -> httpx.Response:
    return httpx.post(f"{world.url}/oauth/revoke", data=form, timeout=10)


def _poll(api: httpx.Client, sid: str) -> list[dict[str, Any]]:
    sets = api.post(f"/ssf/poll/{sid}", json={}).json()["sets"]
    if sets:
        api.post(f"/ssf/poll/{sid}", json={"ack": list(sets), "maxEvents": 0})
    return [parse_unverified_jws(t, what="SET").payload_json(what="SET") for t in sets.values()]


def test_a_client_revokes_an_access_token_then_its_login(world: World) -> None:
    shop = world.shops["shop"]
    api = httpx.Client(
        base_url=world.url, headers={"Authorization": f"Bearer {world.api_key}"}, timeout=10
    )
    stream = api.post("/ssf/stream", json={"delivery": {"method": "urn:ietf:rfc:8936"}}).json()
    try:
        client = world.register()
        other = world.register()
        answer, verifier = world.login(client, shop.resource)
        first = exchange(world, client, answer, verifier, shop.resource).json()
        access = first["access_token"]
        mine = {"client_id": client["client_id"]}
        foreign = _revoke(world, token=access, client_id=other["client_id"])
        assert foreign.status_code == 400 and foreign.json()["error"] == "unauthorized_client"
        stolen = _revoke(world, token=first["refresh_token"], client_id=other["client_id"])
        assert stolen.status_code == 400 and stolen.json()["error"] == "unauthorized_client"
        assert world.introspect(access)["active"] is True
        assert _revoke(world, token=access, **mine).status_code == 200
        assert world.introspect(access) == {"active": False}
        form = {"grant_type": "refresh_token", "client_id": client["client_id"]}
        rotated = world.token(**form, refresh_token=first["refresh_token"]).json()
        assert world.introspect(rotated["access_token"])["active"] is True  # the login goes on
        hint = {"token_type_hint": "refresh_token"}
        assert _revoke(world, token=rotated["refresh_token"], **mine, **hint).status_code == 200
        assert world.introspect(rotated["access_token"]) == {"active": False}
        again = world.token(**form, refresh_token=rotated["refresh_token"])
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        assert _revoke(world, token=rotated["refresh_token"], **mine).status_code == 200
        received = _poll(api, stream["stream_id"])
        assert [next(iter(c["events"])) for c in received] == [SESSION_REVOKED] * 2
        subjects = [c["sub_id"] for c in received]
        sid = claims_of(access)["sid"]
        assert {"format": "jwt_id", "iss": world.url, "jti": claims_of(access)["jti"]} in subjects
        assert {"format": "opaque", "id": sid} in subjects
    finally:
        api.delete("/ssf/stream", params={"stream_id": stream["stream_id"]})
        api.close()
