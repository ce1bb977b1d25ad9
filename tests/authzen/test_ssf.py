"""The SSF transmitter over HTTP: metadata, stream management and its errors, verification events
by poll, and a mandate revocation end to end - the issuer revokes the mandate in its status list;
within one watch interval the token is inactive (introspection, the MCP example's guard through
its own SSF subscription), the PDP denies, and exactly one CAEP
credential-change and one session-revoked reach a real push receiver (signature and aud checked)
and a poll receiver, and nothing more arrives afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.authzen.conftest import PEP, tool_request
from tests.authzen.receivers import PushReceiver, verify_set
from tests.mcp.conftest import World, claims_of, tool_call
from wallet_sim.issuing import set_credential_status

pytestmark = pytest.mark.e2e

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
ORDER = {"order_id": "ord-1", "amount": 1000, "currency": "EUR"}
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - start


def test_metadata(world: World) -> None:
    meta = httpx.get(f"{world.verifier.url}/.well-known/ssf-configuration", timeout=10).json()
    base = world.verifier.url
    assert meta["issuer"] == base and meta["jwks_uri"] == f"{base}/oauth/jwks.json"
    assert meta["delivery_methods_supported"] == [PUSH, POLL]
    assert meta["configuration_endpoint"] == f"{base}/ssf/stream"
    assert meta["verification_endpoint"] == f"{base}/ssf/verify"
    assert CAEP + "assurance-level-change" in meta["events_supported"]


def test_stream_management_and_its_errors(world: World, pep: PEP) -> None:
    http = pep.http
    bad_url = http.post(
        "/ssf/stream", json={"delivery": {"method": PUSH, "endpoint_url": "http://example.com/x"}}
    )
    assert bad_url.status_code == 400 and "https" in bad_url.json()["error_description"]
    bad_method = http.post("/ssf/stream", json={"delivery": {"method": "urn:x"}})
    assert bad_method.status_code == 400
    created = http.post(
        "/ssf/stream",
        json={
            "delivery": {"method": POLL},
            "events_requested": [CAEP + "session-revoked", "urn:other"],
        },
    )
    assert created.status_code == 201, created.text
    stream = created.json()
    sid = stream["stream_id"]
    assert stream["iss"] == world.verifier.url
    assert stream["delivery"] == {
        "method": POLL,
        "endpoint_url": f"{world.verifier.url}/ssf/poll/{sid}",
    }
    assert stream["events_delivered"] == [CAEP + "session-revoked", VERIFICATION]
    assert http.get("/ssf/stream", params={"stream_id": sid}).json() == stream
    assert sid in [s["stream_id"] for s in http.get("/ssf/stream").json()]
    patched = http.patch("/ssf/stream", json={"stream_id": sid, "description": "shop"})
    assert patched.status_code == 200 and patched.json()["description"] == "shop"
    wrong_iss = http.patch("/ssf/stream", json={"stream_id": sid, "iss": "https://evil"})
    assert wrong_iss.status_code == 400
    assert http.get("/ssf/status", params={"stream_id": sid}).json() == {
        "stream_id": sid,
        "status": "enabled",
    }
    paused = http.post(
        "/ssf/status", json={"stream_id": sid, "status": "paused", "reason": "maintenance"}
    )
    assert paused.json() == {"stream_id": sid, "status": "paused", "reason": "maintenance"}
    assert http.post("/ssf/status", json={"stream_id": sid, "status": "off"}).status_code == 400
    subject = {"format": "jwt_id", "iss": "https://mandates.example", "jti": "m-1"}
    assert (
        http.post("/ssf/subjects:add", json={"stream_id": sid, "subject": subject}).status_code
        == 200
    )
    assert (
        http.post("/ssf/subjects:remove", json={"stream_id": sid, "subject": subject}).status_code
        == 204
    )
    for bad in (
        {"format": "email", "email": "a@b"},
        {"format": "jwt_id", "iss": "x"},
        "x",
        {"format": "opaque", "id": 1},
    ):
        answer = http.post("/ssf/subjects:add", json={"stream_id": sid, "subject": bad})
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", bad
    extra = http.get("/ssf/stream", params={"stream_id": sid, "x": "1"})
    assert extra.status_code == 400 and extra.json()["error"] == "invalid_request"
    unknown = "no-such-stream"
    assert http.get("/ssf/stream", params={"stream_id": unknown}).status_code == 404
    assert http.patch("/ssf/stream", json={"stream_id": unknown}).status_code == 404
    assert http.get("/ssf/status", params={"stream_id": unknown}).status_code == 404
    assert (
        http.post("/ssf/subjects:add", json={"stream_id": unknown, "subject": subject}).status_code
        == 404
    )
    assert http.post("/ssf/verify", json={"stream_id": unknown}).status_code == 404
    assert http.post(f"/ssf/poll/{unknown}", json={}).status_code == 404
    assert http.delete("/ssf/stream", params={"stream_id": sid}).status_code == 204
    assert http.get("/ssf/stream", params={"stream_id": sid}).status_code == 404
    assert httpx.get(f"{world.verifier.url}/ssf/stream", timeout=10).status_code == 401


def test_a_verification_event_is_polled_and_acknowledged(world: World, pep: PEP) -> None:
    http = pep.http
    sid = http.post(
        "/ssf/stream", json={"delivery": {"method": POLL}, "aud": "https://rs.example"}
    ).json()["stream_id"]
    try:
        assert (
            http.post("/ssf/verify", json={"stream_id": sid, "state": "s-123"}).status_code == 204
        )
        polled = http.post(f"/ssf/poll/{sid}", json={"maxEvents": 10}).json()
        assert polled["moreAvailable"] is False and len(polled["sets"]) == 1
        jwks = httpx.get(f"{world.verifier.url}/oauth/jwks.json", timeout=10).json()
        jti, token = next(iter(polled["sets"].items()))
        claims = verify_set(token, jwks, issuer=world.verifier.url, audience="https://rs.example")
        assert claims["jti"] == jti
        assert claims["events"] == {VERIFICATION: {"state": "s-123"}}
        assert claims["sub_id"] == {"format": "opaque", "id": sid}
        assert http.post(f"/ssf/poll/{sid}", json={"ack": [jti]}).json() == {
            "sets": {},
            "moreAvailable": False,
        }
        assert http.post(f"/ssf/poll/{sid}", json={"maxEvents": -1}).status_code == 400
    finally:
        http.delete("/ssf/stream", params={"stream_id": sid})


def _poll_all(
    pep: PEP, sid: str, jwks: dict[str, Any], world: World, aud: str
) -> list[dict[str, Any]]:
    polled = pep.http.post(f"/ssf/poll/{sid}", json={}).json()
    claims = [
        verify_set(t, jwks, issuer=world.verifier.url, audience=aud)
        for t in polled["sets"].values()
    ]
    if polled["sets"]:
        pep.http.post(f"/ssf/poll/{sid}", json={"ack": list(polled["sets"]), "maxEvents": 0})
    return claims


def test_a_revoked_mandate_reaches_every_receiver_exactly_once(world: World, pep: PEP) -> None:
    shop = world.shops["shop1"]
    push = PushReceiver(world.verifier.url, shop.resource)
    http = pep.http
    push_id = http.post(
        "/ssf/stream",
        json={"delivery": {"method": PUSH, "endpoint_url": push.url}, "aud": shop.resource},
    ).json()["stream_id"]
    poll_id = http.post(
        "/ssf/stream", json={"delivery": {"method": POLL}, "aud": shop.resource}
    ).json()["stream_id"]
    jwks = push.jwks
    try:
        agent = world.agent("revoke")
        token, _ = agent.token(
            shop, "checkout", {"order_id": "ord-1", "amount": 1000, "currency": "EUR"}
        )
        assert pep.evaluate(tool_request(token, shop.resource)).json()["decision"] is True
        assert world.introspect(token)["active"] is True
        revoked_at = time.monotonic()
        set_credential_status(world.wallet, agent.mandate.id, "revoked")
        inactive = wait_for(lambda: world.introspect(token) == {"active": False})
        denied = pep.evaluate(tool_request(token, shop.resource)).json()
        assert denied["decision"] is False and "mandate_revoked" in [
            r["id"] for r in denied["context"]["reasons"]
        ]
        wait_for(lambda: len(push.received) >= 2)
        polled: list[dict[str, Any]] = []
        wait_for(
            lambda: (
                bool(polled.extend(_poll_all(pep, poll_id, jwks, world, shop.resource)))
                or len(polled) >= 2
            )
        )
        time.sleep(3)  # several watch rounds later: nothing more
        polled.extend(_poll_all(pep, poll_id, jwks, world, shop.resource))
        assert push.refused == []
        for received in (push.received, polled):
            kinds = sorted(next(iter(c["events"])) for c in received)
            assert kinds == [CAEP + "credential-change", CAEP + "session-revoked"], kinds
            subjects = {c["sub_id"]["jti"] for c in received}
            assert len(subjects) == 1 and all(c["sub_id"]["format"] == "jwt_id" for c in received)
            change = next(c for c in received if "credential-change" in next(iter(c["events"])))
            event = change["events"][CAEP + "credential-change"]
            assert (
                event["change_type"] == "revoke"
                and event["credential_type"] == "verifiable-credential"
            )
        assert subjects == {claims_of(token)["mandate_jti"]}
        refused = shop.post(tool_call("checkout", **ORDER), token=token, key=agent.key)
        assert refused.status_code == 401, refused.text
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert "token_revoked" in refused.headers["www-authenticate"] + refused.text
        other = world.agent("not-revoked")
        fine, _ = other.token(shop, "checkout", ORDER)
        accepted = shop.post(tool_call("checkout", **ORDER), token=fine, key=other.key)
        assert accepted.status_code == 200, accepted.text
        print(
            f"\nrevocation timeline: revoked at 0 s; token inactive at {inactive:.2f} s; "
            f"SETs pushed at {push.times[0] - revoked_at:.2f} s "
            f"and {push.times[1] - revoked_at:.2f} s"
        )
    finally:
        push.stop()
        http.delete("/ssf/stream", params={"stream_id": push_id})
        http.delete("/ssf/stream", params={"stream_id": poll_id})


def test_a_revocation_while_agentvp_is_down_is_sent_once_after_restarts(
    world: World, pep: PEP
) -> None:
    """The watch queue and the per-stream markers live in the store: a revocation that happens
    while no instance runs is found after the restart, and a second restart sends nothing again."""
    shop = world.shops["shop1"]
    push = PushReceiver(world.verifier.url, shop.resource)
    http = pep.http
    body = {"delivery": {"method": PUSH, "endpoint_url": push.url}, "aud": shop.resource}
    push_id = http.post("/ssf/stream", json=body).json()["stream_id"]
    poll_id = http.post(
        "/ssf/stream", json={"delivery": {"method": POLL}, "aud": shop.resource}
    ).json()["stream_id"]
    try:
        agent = world.agent("restart")
        order = {"order_id": "ord-1", "amount": 1000, "currency": "EUR"}
        token, _ = agent.token(shop, "checkout", order)
        world.verifier.stop()
        set_credential_status(world.wallet, agent.mandate.id, "revoked")
        world.verifier.start()
        wait_for(lambda: len(push.received) >= 2)
        assert world.introspect(token) == {"active": False}
        polled: list[dict[str, Any]] = []
        wait_for(
            lambda: (
                bool(polled.extend(_poll_all(pep, poll_id, push.jwks, world, shop.resource)))
                or len(polled) >= 2
            )
        )
        world.verifier.stop()
        world.verifier.start()
        time.sleep(3)
        polled.extend(_poll_all(pep, poll_id, push.jwks, world, shop.resource))
        assert len(push.received) == 2 and len(polled) == 2, (push.events(), polled)
        assert {c["sub_id"]["jti"] for c in push.received + polled} == {
            claims_of(token)["mandate_jti"]
        }
    finally:
        push.stop()
        http.delete("/ssf/stream", params={"stream_id": push_id})
        http.delete("/ssf/stream", params={"stream_id": poll_id})
