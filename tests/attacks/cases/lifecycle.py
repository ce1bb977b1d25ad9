"""Single use, expiry, replay and same-device result release (digest §10 checks 1, 8, 9, 13-16,
36, 37, 49; OpenID4VP §8.2, §13.3, §14.1)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.attacks.harness import FORM, Attack, Case, Live, Refused, Rejected, World

BAD = 400
SAME_DEVICE = {"flow": "same_device", "redirect_uri": "https://rp.example/done"}


def _rp(world: World, tx_id: str, **params: str) -> Attack:
    return Attack(
        "GET",
        f"{world.verifier.url}/v1/presentations/{tx_id}",
        headers={"Authorization": f"Bearer {world.api_key}"},
        params=params or None,
        watch=[tx_id],
    )


def _answered(world: World, **create: Any) -> tuple[Live, httpx.Response]:
    live = world.present(profile="identity", **create)
    return live, world.send_ok(live.respond())


def _code(response: httpx.Response) -> str:
    fragment = urlsplit(response.json()["redirect_uri"]).fragment
    return parse_qs(fragment)["response_code"][0]


def _still_releases(world: World, tx_id: str, code: str) -> Callable[[httpx.Response], None]:
    """After a refused read, the legitimate code still releases the result exactly once."""

    def check(_: httpx.Response) -> None:
        first = world.rp.get(tx_id, response_code=code)
        assert first.status_code == 200 and first.json()["status"] == "verified", first.text
        assert world.rp.get(tx_id, response_code=code).status_code == 400

    return check


# -------------------------------------------------------------- request URI


def fetched_twice(world: World) -> Attack:
    live = world.present(profile="identity", propose=False)
    return Attack("GET", live.view["request_uri"], watch=[live.tx])


def unknown_request(world: World) -> Attack:
    return Attack("GET", f"{world.verifier.url}/wallet/request/{secrets.token_urlsafe(32)}")


def post_as_json(world: World) -> Attack:
    view = world.rp.create(profile="identity")
    headers = {"Content-Type": "application/json"}
    return Attack("POST", view["request_uri"], headers, b'{"wallet_nonce":"n"}', watch=[view["id"]])


def post_form(world: World, body: bytes) -> Attack:
    view = world.rp.create(profile="identity")
    return Attack("POST", view["request_uri"], {"Content-Type": FORM}, body, watch=[view["id"]])


def request_after_expiry(world: World) -> Attack:
    view = world.expired("unfetched")
    return Attack("GET", view["request_uri"], watch=[view["id"]])


# -------------------------------------------------------------- responses after the end


def after_success(world: World) -> Attack:
    live, _ = _answered(world)
    return live.respond(target=False)


def replayed_envelope(world: World) -> Attack:
    live = world.present(profile="identity")
    attack = live.respond()
    world.send_ok(attack)
    attack.target = None
    return attack


def after_rejection(world: World) -> Attack:
    live = world.present(profile="identity")
    world.send_ok(live.respond(vp_token=["garbage"]))
    return live.respond(target=False)


def after_wallet_error(world: World) -> Attack:
    live = world.present(profile="identity")
    world.send_ok(live.respond(vp_token=None, error="access_denied"))
    return live.respond(target=False)


def response_after_expiry(world: World) -> Attack:
    live: Live = world.expired("answered")
    return live.respond(target=False)


def agent_after_expiry(world: World) -> Attack:
    live: Live = world.expired("agent")
    return live.respond(target=False)


# -------------------------------------------------------------- replays into other transactions


def replay_into_other(world: World) -> Attack:
    a, _ = _answered(world)
    b = world.present(profile="identity")
    attack = b.respond(vp_token=a.vp_token)
    attack.watch.append(a.tx)
    return attack


def reused_nonce(world: World) -> Attack:
    """A freshly signed KB-JWT, but over the nonce of a finished transaction."""
    a, _ = _answered(world)
    b = world.present(profile="identity")
    jwt, *disclosures, _ = b.presentation().split("~")
    presented = b.rebind(jwt, disclosures, world.key("human"), nonce=a.request.nonce)
    attack = b.respond(vp_token={"identity": [presented]})
    attack.watch.append(a.tx)
    return attack


def kb_claims(**changes: Any) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        live = world.present(profile="identity")
        jwt, *disclosures, _ = live.presentation().split("~")
        presented = live.rebind(jwt, disclosures, world.key("human"), **changes)
        return live.respond(vp_token={"identity": [presented]})

    return build


def other_audience(world: World) -> Attack:
    return kb_claims(aud="x509_hash:" + secrets.token_urlsafe(32))(world)


def bare_audience(world: World) -> Attack:
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    bare = live.request.client_id.split(":", 1)[1]
    presented = live.rebind(jwt, disclosures, world.key("human"), aud=bare)
    return live.respond(vp_token={"identity": [presented]})


def array_audience(world: World) -> Attack:
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    aud = [live.request.client_id]
    presented = live.rebind(jwt, disclosures, world.key("human"), aud=aud)
    return live.respond(vp_token={"identity": [presented]})


# -------------------------------------------------------------- same-device result release


def wrong_code(world: World) -> Attack:
    live, response = _answered(world, **SAME_DEVICE)
    attack = _rp(world, live.tx, response_code=secrets.token_urlsafe(32))
    attack.after = _still_releases(world, live.tx, _code(response))
    return attack


def used_code(world: World) -> Attack:
    live, response = _answered(world, **SAME_DEVICE)
    code = _code(response)
    assert world.rp.get(live.tx, response_code=code).status_code == 200
    return _rp(world, live.tx, response_code=code)


def other_transactions_code(world: World) -> Attack:
    a, first = _answered(world, **SAME_DEVICE)
    b, second = _answered(world, **SAME_DEVICE)
    attack = _rp(world, a.tx, response_code=_code(second))
    attack.watch.append(b.tx)
    attack.after = _still_releases(world, a.tx, _code(first))
    return attack


def same_device_rejected(world: World) -> Attack:
    """A rejected response still gets its redirect with a fresh response_code (§14)."""
    live = world.present(profile="identity", **SAME_DEVICE)
    return live.respond(vp_token={"identity": []})


def _c(
    name: str, source: str, build: Any, status: int, fragment: str, error: str = "invalid_request"
) -> Case:
    return Case(name, source, build, Refused(status, error, fragment))


CASES = [
    _c(
        "request_object_fetched_twice",
        "digest §10 #49; RFC 9101 §5.2",
        fetched_twice,
        BAD,
        "already retrieved",
    ),
    _c("request_object_unknown", "digest §10 #13", unknown_request, 404, "unknown request"),
    _c(
        "request_object_post_as_json",
        "digest §10 #9; OpenID4VP §5.10",
        post_as_json,
        415,
        "content type",
    ),
    _c(
        "request_object_post_repeated_wallet_nonce",
        "digest §10 #9; digest §9 duplicate keys",
        lambda w: post_form(w, b"wallet_nonce=a&wallet_nonce=b"),
        BAD,
        "repeated",
    ),
    _c(
        "request_object_post_invalid_utf8",
        "digest §10 #9",
        lambda w: post_form(w, b"wallet_nonce=\xff"),
        BAD,
        "UTF-8",
    ),
    _c(
        "wallet_nonce_too_long",
        "digest §10 #8",
        lambda w: post_form(w, b"wallet_nonce=" + b"n" * 300),
        BAD,
        "wallet_nonce is empty or too long",
    ),
    _c(
        "wallet_nonce_empty",
        "digest §10 #8",
        lambda w: post_form(w, b"wallet_metadata=%7B%7D&wallet_nonce="),
        BAD,
        "wallet_nonce is empty or too long",
    ),
    _c(
        "request_object_after_expiry",
        "digest §10 #13; digest §9 TTL",
        request_after_expiry,
        BAD,
        "expired",
    ),
    _c("response_after_success", "digest §10 #49", after_success, BAD, "already answered"),
    _c(
        "response_replayed_envelope",
        "digest §10 #49; OpenID4VP §14.1",
        replayed_envelope,
        BAD,
        "already answered",
    ),
    _c("response_after_rejection", "digest §10 #16, #49", after_rejection, BAD, "already answered"),
    _c(
        "response_after_wallet_error", "digest §10 #16", after_wallet_error, BAD, "already answered"
    ),
    _c(
        "response_after_expiry",
        "digest §10 #13; digest §9 TTL",
        response_after_expiry,
        BAD,
        "expired",
    ),
    _c(
        "agent_response_after_expiry",
        "digest §10 #13; agent-mandates §7(a)",
        agent_after_expiry,
        BAD,
        "expired",
    ),
    Case(
        "vp_token_replayed_into_other_transaction",
        "digest §10 #36; OpenID4VP §14.1; T4",
        replay_into_other,
        Rejected("kb_nonce_mismatch"),
    ),
    Case(
        "kb_nonce_of_finished_transaction",
        "digest §10 #1, #49",
        reused_nonce,
        Rejected("kb_nonce_mismatch"),
    ),
    Case(
        "kb_nonce_missing",
        "digest §10 #36",
        kb_claims(drop=("nonce",)),
        Rejected("kb_claim_missing"),
    ),
    Case(
        "kb_for_another_audience", "digest §10 #37; T4", other_audience, Rejected("kb_aud_mismatch")
    ),
    Case(
        "kb_audience_without_prefix",
        "digest §10 #6, #37",
        bare_audience,
        Rejected("kb_aud_mismatch"),
    ),
    Case(
        "kb_audience_as_array",
        "digest §10 #37; RFC 9901 §4.3",
        array_audience,
        Rejected("kb_aud_mismatch"),
    ),
    Case(
        "kb_audience_dc_api_origin",
        "digest §10 #37",
        kb_claims(aud="origin:https://rp.example"),
        Rejected("kb_aud_mismatch"),
    ),
    _c(
        "same_device_result_wrong_response_code",
        "digest §10 #15",
        wrong_code,
        BAD,
        "wrong or already used",
    ),
    _c(
        "same_device_result_used_response_code",
        "digest §10 #15, #49",
        used_code,
        BAD,
        "wrong or already used",
    ),
    _c(
        "same_device_result_other_transactions_code",
        "digest §10 #15",
        other_transactions_code,
        BAD,
        "wrong or already used",
    ),
    Case(
        "same_device_rejection_still_redirects",
        "digest §10 #14",
        same_device_rejected,
        Rejected("vp_token_malformed"),
    ),
]
