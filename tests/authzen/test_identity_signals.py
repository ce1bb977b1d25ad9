"""Signals beyond the mandate, over real HTTP: the identity credential a person stepped up with is
revoked by its issuer (its grant's token turns inactive at introspection, at the PDP and at the
MCP example's guard; a real push receiver gets exactly one credential-change naming the identity
credential, one assurance-level-change and one session-revoked naming the grant; another grant
of the same mandate is untouched), the same for a wallet login resting on an identity credential,
and a single token revoked at the RFC 7009 endpoint (one session-revoked naming the token, none
again for a second revocation, and a later mandate revocation still sends exactly one
credential-change and one session-revoked)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.authzen.conftest import PEP, tool_request
from tests.authzen.receivers import PushReceiver, verify_set
from tests.authzen.test_ssf import CAEP, ORDER, POLL, PUSH, wait_for
from tests.mcp.conftest import Agent, World, claims_of, tool_call
from tests.oauth.conftest import attr, pkce
from wallet_sim.issuing import set_credential_status
from wallet_sim.wallet import WalletSimulator

pytestmark = pytest.mark.e2e

BIG = {"order_id": "ord-big", "amount": 30000, "currency": "EUR"}  # over 250 EUR: step-up


def _stepped_up_token(world: World, agent: Agent, shop: Any) -> str:
    """The agent's token for a big order, the person answering the step-up with the wallet."""
    server = agent.client.discover(shop.resource)
    action = agent.client.action(server, "checkout", BIG)
    started = agent.client.authorize(server, action, [server.resource])

    def human(link: str) -> None:
        person = WalletSimulator(world.wallet, holders=[agent.human])
        try:
            person.submit(person.propose(person.resolve(link)))
        finally:
            person.http.close()

    return agent.client.token(server, started, resource=shop.resource, on_human=human)


def _kinds(received: list[dict[str, Any]]) -> list[str]:
    return sorted(next(iter(c["events"])).removeprefix(CAEP) for c in received)


def _revoke(pep: PEP, token: str, **form: str) -> httpx.Response:
    return pep.http.post("/oauth/revoke", data={"token": token, **form})


def test_a_revoked_identity_credential_ends_its_grant(world: World, pep: PEP) -> None:
    shop = world.shops["shop1"]
    push = PushReceiver(world.verifier.url, shop.resource)
    stream = {"delivery": {"method": PUSH, "endpoint_url": push.url}, "aud": shop.resource}
    push_id = pep.http.post("/ssf/stream", json=stream).json()["stream_id"]
    try:
        agent = world.agent("identity-revoked")
        token = _stepped_up_token(world, agent, shop)
        claims = claims_of(token)
        assert pep.evaluate(tool_request(token, shop.resource)).json()["decision"] is True
        assert world.introspect(token)["active"] is True
        identity = world.wallet.credentials(kind="identity", holder=agent.human)[-1]
        uri, idx = set_credential_status(world.wallet, identity.id, "revoked")
        wait_for(lambda: world.introspect(token) == {"active": False})
        denied = pep.evaluate(tool_request(token, shop.resource)).json()
        assert denied["decision"] is False
        assert "identity_revoked" in [r["id"] for r in denied["context"]["reasons"]]
        wait_for(lambda: len(push.received) >= 3)
        time.sleep(3)  # several watch rounds later: nothing more
        assert push.refused == []
        assert _kinds(push.received) == [
            "assurance-level-change",
            "credential-change",
            "session-revoked",
        ], push.events()
        by_kind = {next(iter(c["events"])).removeprefix(CAEP): c for c in push.received}
        change = by_kind["credential-change"]
        named = change["sub_id"]  # the simulator's identity credentials carry no jti
        assert named == {"format": "opaque", "id": f"{uri}#{idx}"}
        event = change["events"][CAEP + "credential-change"]
        assert event["credential_type"] == "verifiable-credential"
        assert event["change_type"] == "revoke"
        level = by_kind["assurance-level-change"]
        assert level["sub_id"] == named
        drop = level["events"][CAEP + "assurance-level-change"]
        assert drop["current_level"] == "none" and drop["change_direction"] == "decrease"
        assert isinstance(drop["previous_level"], str) and drop["namespace"]
        session = by_kind["session-revoked"]
        assert session["sub_id"] == {"format": "opaque", "id": claims["verification_id"]}
        refused = shop.post(tool_call("checkout", **BIG), token=token, key=agent.key)
        assert refused.status_code == 401 and "token_revoked" in (
            refused.headers["www-authenticate"] + refused.text
        )
        # the mandate is fine: a small order needs no person and still works
        fine, _ = agent.token(shop, "checkout", ORDER)
        assert world.introspect(fine)["active"] is True
        accepted = shop.post(tool_call("checkout", **ORDER), token=fine, key=agent.key)
        assert accepted.status_code == 200, accepted.text
    finally:
        push.stop()
        pep.http.delete("/ssf/stream", params={"stream_id": push_id})


def test_a_single_revoked_token_is_signalled_once_beside_the_mandate_pair(
    world: World, pep: PEP
) -> None:
    shop = world.shops["shop1"]
    push = PushReceiver(world.verifier.url, shop.resource)
    stream = {"delivery": {"method": PUSH, "endpoint_url": push.url}, "aud": shop.resource}
    push_id = pep.http.post("/ssf/stream", json=stream).json()["stream_id"]
    try:
        agent = world.agent("token-revoked")
        token, _ = agent.token(shop, "checkout", ORDER)
        other, _ = agent.token(shop, "checkout", {**ORDER, "order_id": "ord-2"})
        claims = claims_of(token)
        # refused requests change nothing
        anonymous = httpx.post(
            f"{world.verifier.url}/oauth/revoke", data={"token": token}, timeout=10
        )
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
        foreign = httpx.post(
            f"{world.verifier.url}/oauth/revoke",
            data={"token": token, "client_id": "someone-else"},
            timeout=10,
        )
        assert foreign.status_code == 400 and foreign.json()["error"] == "unauthorized_client"
        bad_key = httpx.post(
            f"{world.verifier.url}/oauth/revoke",
            data={"token": token},
            headers={"Authorization": "Bearer wrong"},
            timeout=10,
        )
        assert bad_key.status_code == 401
        assert pep.http.post("/oauth/revoke", data={}).status_code == 400
        assert world.introspect(token)["active"] is True
        assert _revoke(pep, "not-a-token").status_code == 200  # RFC 7009 §2.2: nothing to do
        # the revocation
        done = _revoke(pep, token, token_type_hint="access_token")
        assert done.status_code == 200 and done.content == b""
        assert world.introspect(token) == {"active": False}
        assert world.introspect(other)["active"] is True  # only that token
        denied = pep.evaluate(tool_request(token, shop.resource)).json()
        assert "token_revoked" in [r["id"] for r in denied["context"]["reasons"]]
        assert pep.evaluate(tool_request(other, shop.resource)).json()["decision"] is True
        wait_for(lambda: len(push.received) >= 1)
        assert _revoke(pep, token).status_code == 200  # again: no second event
        refused = shop.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
        assert refused.status_code == 401, refused.text
        second = tool_call("checkout", **{**ORDER, "order_id": "ord-2"})
        assert shop.post(second, token=other, key=agent.key).status_code == 200  # only that one
        # then the mandate: exactly one credential-change and one session-revoked more
        set_credential_status(world.wallet, agent.mandate.id, "revoked")
        wait_for(lambda: len(push.received) >= 3)
        time.sleep(3)
        assert _kinds(push.received) == [
            "credential-change",
            "session-revoked",
            "session-revoked",
        ], push.events()
        subjects = sorted(
            (c["sub_id"]["iss"], c["sub_id"]["jti"])
            for c in push.received
            if CAEP + "session-revoked" in c["events"]
        )
        mandate_iss = next(
            c["sub_id"]["iss"] for c in push.received if CAEP + "credential-change" in c["events"]
        )
        assert subjects == sorted(
            [(world.verifier.url, claims["jti"]), (mandate_iss, claims["mandate_jti"])]
        )
    finally:
        push.stop()
        pep.http.delete("/ssf/stream", params={"stream_id": push_id})


def test_a_wallet_login_ends_with_its_identity_credential(world: World, pep: PEP) -> None:
    """A person logs in to an MCP host with the wallet; when the issuer revokes the identity
    credential they logged in with, the login's tokens turn inactive, its refresh token is
    refused and the stream hears one session-revoked naming the login."""
    shop = world.shops["shop1"]
    url = world.verifier.url
    stream = pep.http.post("/ssf/stream", json={"delivery": {"method": POLL}}).json()
    try:
        client = httpx.post(
            f"{url}/oauth/register",
            json={"redirect_uris": ["http://127.0.0.1:1/callback"], "client_name": "host"},
            timeout=10,
        ).json()
        person = world.agent("login-person")  # a fresh person with an identity credential
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0],
            "state": "s-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": shop.resource,
        }
        page = httpx.get(f"{url}/oauth/authorize", params=params, timeout=10)
        assert page.status_code == 200, page.text
        wallet = WalletSimulator(world.wallet, holders=[person.human])
        try:
            wallet.submit(
                wallet.propose(wallet.resolve(attr(page.text, 'id="wallet-link"', "href")))
            )
        finally:
            wallet.http.close()
        login_id = attr(page.text, 'id="main"', "data-login")
        view: dict[str, Any] = {}

        def done() -> bool:
            view.update(httpx.get(f"{url}/oauth/login/{login_id}", timeout=10).json())
            return view["status"] != "pending"

        wait_for(done)
        assert view["status"] == "verified", view
        code = parse_qs(urlsplit(view["redirect"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0],
            "code_verifier": verifier,
        }
        tokens = httpx.post(f"{url}/oauth/token", data=form, timeout=10).json()
        access = tokens["access_token"]
        assert world.introspect(access)["active"] is True
        identity = world.wallet.credentials(kind="identity", holder=person.human)[-1]
        set_credential_status(world.wallet, identity.id, "revoked")
        wait_for(lambda: world.introspect(access) == {"active": False})
        refresh = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client["client_id"],
        }
        refused = httpx.post(f"{url}/oauth/token", data=refresh, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        received: list[dict[str, Any]] = []

        def polled() -> bool:
            sets = pep.http.post(f"/ssf/poll/{stream['stream_id']}", json={}).json()["sets"]
            if sets:
                pep.http.post(
                    f"/ssf/poll/{stream['stream_id']}", json={"ack": list(sets), "maxEvents": 0}
                )
            received.extend(
                verify_set(t, jwks(world), issuer=url, audience=stream["aud"])
                for t in sets.values()
            )
            return len(received) >= 3

        wait_for(polled)
        time.sleep(2)
        polled()
        assert _kinds(received) == [
            "assurance-level-change",
            "credential-change",
            "session-revoked",
        ], received
        session = next(c for c in received if CAEP + "session-revoked" in c["events"])
        assert session["sub_id"] == {"format": "opaque", "id": claims_of(access)["sid"]}
    finally:
        pep.http.delete("/ssf/stream", params={"stream_id": stream["stream_id"]})


def jwks(world: World) -> dict[str, Any]:
    keys: dict[str, Any] = httpx.get(f"{world.verifier.url}/oauth/jwks.json", timeout=10).json()
    return keys
