"""Mid-session confirmations (URL-mode elicitation, :mod:`verifier.oauth.confirm`): a resource
server (API key) asks agentvp for the person's wallet confirmation of one tool call, the person
opens the page and presents from the wallet, the resource redeems it once.

Each case starts from an honest wallet login (for ``STEPUP_RESOURCE``, whose policy asks for
the ekyc identity) and a confirmation of :data:`CALL` - confirmed by the human's wallet at the
page's link unless the case needs it pending - whose outcome the page's status poll has already
decided (so the attacked request cannot be the one that decides it). The confirmation record
and its presentation are watched; the ``after`` hooks prove an honest redemption still works
exactly once. Starting one must create no presentation (``presentations_created`` is in every
snapshot).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.attacks.cases.pep_clients import pep_token, service_client
from tests.attacks.cases.revocation import marked
from tests.attacks.cases.wallet_login import _attr, tokens
from tests.attacks.harness import Attack, Case, Refused, World
from tests.attacks.resource import access_token

ARGUMENTS: dict[str, Any] = {"order_id": "ord-c1", "amount": 25000, "currency": "EUR"}
CALL: dict[str, Any] = {"tool": "checkout", "arguments": ARGUMENTS}
MCP = "MCP 2025-11-25 client/elicitation (URL mode)"
JSON = "application/json"


def person(world: World) -> tuple[str, str]:
    """A wallet login of the human: (client_id, access token)."""
    client, answer = tokens(world)
    return client, str(answer["access_token"])


def start(world: World, token: str, **extra: Any) -> dict[str, Any]:
    started = world.rp.http.post("/oauth/confirmations", json={"token": token, **CALL, **extra})
    assert started.status_code == 201, started.text
    answer: dict[str, Any] = started.json()
    return answer


def status(world: World, cid: str) -> dict[str, Any]:
    """The page's poll (which decides a final presentation)."""
    response = world.http.get(f"{world.verifier.url}/oauth/confirm/{cid}/status")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def answer_page(
    world: World, started: dict[str, Any], credential: str, *, decline: bool = False
) -> dict[str, Any]:
    """The page's wallet link answered with ``credential`` (or declined in the wallet); waits
    for the decided status."""
    page = world.http.get(started["url"])
    assert page.status_code == 200, page.text
    link = _attr(page.text, 'id="wallet-link"', "href")
    simulator = world.simulator(credentials=[credential])
    try:
        request = simulator.resolve(link)
        if decline:
            simulator.decline(request)
        else:
            simulator.submit(simulator.propose(request))
    finally:
        simulator.http.close()
    deadline = time.monotonic() + 15
    view = status(world, started["confirmation_id"])
    while view["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        view = status(world, started["confirmation_id"])
    return view


def confirmed(world: World, token: str, **extra: Any) -> str:
    """A confirmation of :data:`CALL` the human confirmed with their wallet."""
    started = start(world, token, **extra)
    view = answer_page(world, started, world.identity.id)
    assert view == {"status": "verified"}, view
    return str(started["confirmation_id"])


def watched(world: World, cid: str) -> list[str]:
    record = world.record(cid)
    assert record is not None
    return [cid, str(record["parent_id"])]


def redeem(
    world: World,
    cid: str,
    body: dict[str, Any] | bytes,
    *,
    watch: list[str],
    headers: dict[str, str] | None = None,
) -> Attack:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {world.api_key}"}
    url = f"{world.verifier.url}/oauth/confirmations/{cid}/redeem"
    return Attack(
        "POST", url, {**auth, "Content-Type": JSON, **(headers or {})}, content, watch=watch
    )


def redeemable(world: World, cid: str, token: str) -> Callable[[httpx.Response], None]:
    """The ``after`` check: the honest redemption works - once."""

    def check(_: httpx.Response) -> None:
        honest = world.send(redeem(world, cid, {"token": token, **CALL}, watch=[]))
        assert honest.status_code == 200, honest.text
        assert honest.json()["status"] == "confirmed"
        again = world.send(redeem(world, cid, {"token": token, **CALL}, watch=[]))
        assert again.status_code == 409 and again.json()["error"] == "confirmation_used"

    return check


# ------------------------------------------------------------------ redeem


def redeemed_with(
    body: Callable[[World, str], dict[str, Any] | bytes],
    *,
    cid: Callable[[str], str] = lambda c: c,
    headers: Callable[[World], dict[str, str]] | None = None,
) -> Callable[[World], Attack]:
    """A confirmed confirmation redeemed with ``body(world, the person's token)`` at the id
    ``cid(real id)``."""

    def build(world: World) -> Attack:
        _, token = person(world)
        real = confirmed(world, token)
        attack = redeem(
            world,
            cid(real),
            body(world, token),
            watch=watched(world, real),
            headers=headers(world) if headers else None,
        )
        attack.after = redeemable(world, real, token)
        return attack

    return build


def by_another_client(world: World, token: str) -> dict[str, Any]:
    """The same person's token through another client (another pairwise ``sub``)."""
    _, other = person(world)
    return {"token": other, **CALL}


def replayed(world: World) -> Attack:
    _, token = person(world)
    cid = confirmed(world, token)
    first = world.send(redeem(world, cid, {"token": token, **CALL}, watch=[]))
    assert first.status_code == 200, first.text
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


# Lifetimes (s) tried in turn for a confirmation that must be made in time and then lapse: on
# a loaded machine the wallet's round trip can outlast the shortest, which then lapses first.
LAPSING = (2, 5, 15)


def expired(world: World) -> Attack:
    _, token = person(world)
    for lifetime in LAPSING:
        started = start(world, token, lifetime=lifetime)
        view = answer_page(world, started, world.identity.id)
        if view != {"status": "expired", "reason": "confirmation_expired"}:
            break  # confirmed in time (or some other answer, which the assert names)
    assert view == {"status": "verified"}, view
    cid = str(started["confirmation_id"])
    record = world.record(cid)
    assert record is not None
    time.sleep(max(0.0, record["expires_at"] + 1.1 - time.time()))
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


def pending(world: World) -> Attack:
    _, token = person(world)
    cid = str(start(world, token)["confirmation_id"])
    assert status(world, cid) == {"status": "pending"}
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


def wrong_person(world: World) -> Attack:
    """A stranger opened the URL and presented their own identity (decided already)."""
    _, token = person(world)
    started = start(world, token)
    stranger = world.issue_identity(holder="stranger")
    view = answer_page(world, started, stranger.id)
    assert view == {"status": "rejected", "reason": "confirmation_wrong_person"}, view
    cid = str(started["confirmation_id"])
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


def declined(world: World) -> Attack:
    """The person said no in the wallet (decided already)."""
    _, token = person(world)
    started = start(world, token)
    view = answer_page(world, started, world.identity.id, decline=True)
    assert view["status"] == "rejected" and "access_denied" in view["reason"], view
    cid = str(started["confirmation_id"])
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


def revoked_token(world: World) -> Attack:
    client, token = person(world)
    cid = confirmed(world, token)
    marked(world, token)
    gone = world.http.post(
        f"{world.verifier.url}/oauth/revoke", data={"token": token, "client_id": client}
    )
    assert gone.status_code == 200, gone.text
    return redeem(world, cid, {"token": token, **CALL}, watch=watched(world, cid))


def duplicate_token_member(world: World) -> Attack:
    """The other client's token first, the person's last: a last-wins parser would redeem."""
    _, token = person(world)
    cid = confirmed(world, token)
    _, other = person(world)
    text = json.dumps({"token": other, **CALL})[:-1] + f', "token": "{token}"}}'
    attack = redeem(world, cid, text.encode(), watch=watched(world, cid))
    attack.after = redeemable(world, cid, token)
    return attack


# ------------------------------------------------------------------ start


def started_with(
    body: Callable[[World], dict[str, Any] | bytes],
    *,
    headers: Callable[[World], dict[str, str]] | None = None,
) -> Callable[[World], Attack]:
    """``POST /oauth/confirmations`` with ``body(world)`` (the API key unless ``headers``)."""

    def build(world: World) -> Attack:
        made = body(world)
        content = made if isinstance(made, bytes) else json.dumps(made).encode()
        auth = headers(world) if headers else {"Authorization": f"Bearer {world.api_key}"}
        url = f"{world.verifier.url}/oauth/confirmations"
        return Attack("POST", url, {"Content-Type": JSON, **auth}, content)

    return build


def agent_token_call(world: World) -> dict[str, Any]:
    return {"token": access_token(world), **CALL}


def pep_token_call(world: World) -> dict[str, Any]:
    return {"token": pep_token(world, service_client(world)), **CALL}


def pep_bearer(world: World) -> dict[str, str]:
    """A live PEP token where the API key belongs."""
    return {"Authorization": f"Bearer {pep_token(world, service_client(world))}"}


def login_call(world: World, **changes: Any) -> dict[str, Any]:
    return {"token": person(world)[1], **CALL, **changes}


def _overflowing(world: World, token: str) -> bytes:
    """The call with its amount written as ``1e999`` (a float overflowing to infinity)."""
    text = json.dumps({"token": token, **CALL})
    return text.replace('"amount": 25000', '"amount": 1e999').encode()


# ------------------------------------------------------------------ the page


def page(suffix: str, change: Callable[[str], str]) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        _, token = person(world)
        cid = str(start(world, token)["confirmation_id"])
        url = f"{world.verifier.url}/oauth/confirm/{change(cid)}{suffix}"
        return Attack("GET", url, watch=watched(world, cid))

    return build


def _tampered(cid: str) -> str:
    return cid[:-1] + ("A" if cid[-1] != "A" else "B")


def _c(name: str, source: str, build: Callable[[World], Attack], *refused: Any) -> Case:
    return Case(name, source, build, Refused(*refused))


MISMATCH = (403, "confirmation_mismatch")
NOT_LOGIN = (400, "invalid_token", "not an active wallet-login token")
CASES = [
    _c(
        "confirm_redeem_by_another_client",
        MCP + " (bound to the user and client)",
        redeemed_with(by_another_client),
        *MISMATCH,
        "another person, client or resource",
    ),
    _c(
        "confirm_redeem_for_another_amount",
        MCP + " (bound to the call)",
        redeemed_with(
            lambda w, t: {"token": t, **CALL, "arguments": {**ARGUMENTS, "amount": 99999}}
        ),
        *MISMATCH,
        "another call",
    ),
    _c(
        "confirm_redeem_for_another_tool",
        MCP + " (bound to the call)",
        redeemed_with(lambda w, t: {"token": t, **CALL, "tool": "refund"}),
        *MISMATCH,
        "another call",
    ),
    _c(
        "confirm_redeem_with_an_extra_argument",
        MCP + " (bound to the call)",
        redeemed_with(
            lambda w, t: {"token": t, **CALL, "arguments": {**ARGUMENTS, "payee": "evil"}}
        ),
        *MISMATCH,
        "another call",
    ),
    _c(
        "confirm_redeem_tampered_id",
        MCP,
        redeemed_with(lambda w, t: {"token": t, **CALL}, cid=_tampered),
        404,
        "confirmation_unknown",
        "no such confirmation",
    ),
    _c(
        "confirm_redeem_overlong_id",
        MCP,
        redeemed_with(lambda w, t: {"token": t, **CALL}, cid=lambda c: c + c),
        404,
        "confirmation_unknown",
        "no such confirmation",
    ),
    _c(
        "confirm_redeem_with_an_agent_token",
        MCP + "; RFC 9068 §4",
        redeemed_with(lambda w, t: {"token": access_token(w), **CALL}),
        *NOT_LOGIN,
    ),
    _c(
        "confirm_redeem_with_a_pep_token",
        MCP + "; RFC 9068 §4",
        redeemed_with(lambda w, t: {"token": pep_token(w, service_client(w)), **CALL}),
        *NOT_LOGIN,
    ),
    _c(
        "confirm_redeem_with_a_pep_token_as_api_key",
        "RFC 6750 §3.1",
        redeemed_with(
            lambda w, t: {"token": t, **CALL},
            headers=pep_bearer,
        ),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "confirm_redeem_duplicate_token_member",
        "RFC 8259 §4; digest §9 duplicate keys",
        duplicate_token_member,
        400,
        "invalid_request",
        "duplicate",
    ),
    _c(
        "confirm_redeem_body_not_an_object",
        MCP,
        redeemed_with(lambda w, t: json.dumps([{"token": t, **CALL}]).encode()),
        400,
        "invalid_request",
        "JSON object",
    ),
    _c(
        "confirm_redeem_as_a_form",
        MCP + " (JSON bodies only)",
        redeemed_with(
            lambda w, t: urlencode({"token": t, "tool": "checkout", **ARGUMENTS}).encode(),
            headers=lambda w: {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
        "not valid JSON",
    ),
    _c(
        "confirm_redeem_oversized_body",
        MCP + "; bounded bodies",
        redeemed_with(lambda w, t: {"token": t, **CALL, "pad": "x" * 9000}),
        413,
        "invalid_request",
        "too large",
    ),
    _c(
        "confirm_redeem_replayed",
        MCP + " (single use)",
        replayed,
        409,
        "confirmation_used",
        "already redeemed",
    ),
    _c(
        "confirm_redeem_expired",
        MCP + " (expires)",
        expired,
        409,
        "confirmation_expired",
        "expired before it was redeemed",
    ),
    _c(
        "confirm_redeem_pending",
        MCP,
        pending,
        409,
        "confirmation_pending",
        "not confirmed yet",
    ),
    _c(
        "confirm_redeem_confirmed_by_another_person",
        MCP + " (the completing user is the same; phishing)",
        wrong_person,
        409,
        "confirmation_wrong_person",
        "confirmation_wrong_person",
    ),
    _c(
        "confirm_redeem_declined",
        MCP + " (decline)",
        declined,
        409,
        "confirmation_rejected",
        "presentation_access_denied",
    ),
    _c(
        "confirm_redeem_with_a_revoked_token",
        MCP + "; RFC 7009 §2",
        revoked_token,
        *NOT_LOGIN,
    ),
    _c(
        "confirm_start_with_an_agent_token",
        MCP + "; RFC 9068 §4",
        started_with(agent_token_call),
        *NOT_LOGIN,
    ),
    _c(
        "confirm_start_with_a_pep_token",
        MCP + "; RFC 9068 §4",
        started_with(pep_token_call),
        *NOT_LOGIN,
    ),
    _c(
        "confirm_start_with_a_refresh_token",
        MCP + "; RFC 6749 §1.5",
        started_with(lambda w: {"token": tokens(w)[1]["refresh_token"], **CALL}),
        *NOT_LOGIN,
    ),
    _c(
        "confirm_start_with_a_pep_token_as_api_key",
        "RFC 6750 §3.1",
        started_with(login_call, headers=pep_bearer),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "confirm_start_oversized_body",
        MCP + "; bounded bodies",
        started_with(lambda w: login_call(w, message="m", pad="x" * 9000)),
        413,
        "invalid_request",
        "too large",
    ),
    _c(
        "confirm_start_lifetime_beyond_bound",
        MCP + " (expires)",
        started_with(lambda w: login_call(w, lifetime=601)),
        400,
        "invalid_request",
        "lifetime",
    ),
    _c(
        "confirm_page_tampered_id",
        MCP,
        page("", _tampered),
        404,
        "not_found",
        "no such confirmation",
    ),
    _c(
        "confirm_status_tampered_id",
        MCP,
        page("/status", _tampered),
        404,
        "not_found",
        "no such confirmation",
    ),
    _c(
        "confirm_start_overflowing_number",
        MCP + "; RFC 8259 §6",
        started_with(lambda w: _overflowing(w, person(w)[1])),
        400,
        "invalid_request",
        "arguments",
    ),
    _c(
        "confirm_redeem_overflowing_number",
        MCP + "; RFC 8259 §6",
        redeemed_with(_overflowing),
        400,
        "invalid_request",
        "arguments",
    ),
]
