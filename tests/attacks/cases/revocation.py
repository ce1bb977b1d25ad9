"""Token revocation (``POST /oauth/revoke``, RFC 7009, :mod:`verifier.oauth.revocation`).

Who may revoke: an RP API key (any token) or a public client naming its ``client_id`` (its own
tokens only); a confidential client - a PEP's service client - its own tokens, only with its
credentials, never by naming its ``client_id`` alone (RFC 7009 §2.1). Each case starts from
honest tokens (a wallet login's access and refresh token, an agent's token, a PEP's token);
the token's revocation mark (``revoked-token:<jti>``, read with the counters), the login's
refresh family and the clients are watched, and the ``after`` hooks prove the token still
works and that no Shared Signals ``session-revoked`` named it (a poll stream the module
creates once, RFC 8936).

A refused request is answered as RFC 6749 §5.2 (``unauthorized_client``, ``invalid_client``,
``invalid_request``); a token the server will not revoke - forged, unsigned, already revoked -
is answered 200 without a body and changes nothing (RFC 7009 §2.2, :class:`Ignored`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.attacks import forge
from tests.attacks.cases.pep_clients import basic, claims_of, pep_token, service_client
from tests.attacks.cases.pep_clients import evaluate as pep_evaluate
from tests.attacks.cases.wallet_login import _sha, register, tokens
from tests.attacks.harness import FORM, Attack, Case, Ignored, Refused, World
from tests.attacks.resource import access_token, unspent
from verifier.protocol import SigningKey

RFC = "RFC 7009 §2.1"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"


def url(world: World) -> str:
    return f"{world.verifier.url}/oauth/revoke"


def marked(world: World, token: str) -> str:
    """Watch ``token``'s revocation mark (read with every snapshot's counters); its jti."""
    jti = str(claims_of(token)["jti"])
    world.counter_keys.add(f"revoked-token:{jti}")
    return jti


def active(world: World, token: str) -> bool:
    answer = world.rp.http.post("/oauth/introspect", data={"token": token})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


_STREAMS: dict[int, str] = {}


def signals(world: World) -> list[dict[str, Any]]:
    """The ``sub_id`` of every session-revoked SET since the last call (acknowledged)."""
    if id(world) not in _STREAMS:
        body = {"delivery": {"method": "urn:ietf:rfc:8936"}}
        created = world.rp.http.post("/ssf/stream", json=body)
        assert created.status_code == 201, created.text
        _STREAMS[id(world)] = created.json()["stream_id"]
    path = f"/ssf/poll/{_STREAMS[id(world)]}"
    sets = world.rp.http.post(path, json={}).json()["sets"]
    if sets:
        world.rp.http.post(path, json={"ack": list(sets), "maxEvents": 0})
    payloads = [forge.decode_part(token, 1) for token in sets.values()]
    return [p["sub_id"] for p in payloads if SESSION_REVOKED in p["events"]]


def naming(world: World, token: str) -> list[dict[str, Any]]:
    """The session-revoked subjects since the last poll naming ``token`` (its jti) or its
    login (sid)."""
    claims = claims_of(token)
    names = {claims["jti"], claims.get("sid")} - {None}
    return [s for s in signals(world) if s.get("jti") in names or s.get("id") in names]


def unsignalled(world: World, token: str) -> Callable[[httpx.Response], None]:
    """The ``after`` check: no session-revoked named ``token`` or its login."""

    def check(_: httpx.Response) -> None:
        assert naming(world, token) == [], "a session-revoked named the token"

    return check


def still_active(world: World, *tokens_: str) -> Callable[[httpx.Response], None]:
    silent = [unsignalled(world, token) for token in tokens_]

    def check(response: httpx.Response) -> None:
        for token in tokens_:
            assert active(world, token), "the attacked token was revoked"
        for quiet in silent:
            quiet(response)

    return check


def revoke(
    world: World,
    form: list[tuple[str, str]] | bytes,
    watch: list[str],
    *,
    headers: dict[str, str] | None = None,
) -> Attack:
    body = form if isinstance(form, bytes) else urlencode(form).encode()
    return Attack("POST", url(world), {"Content-Type": FORM, **(headers or {})}, body, watch=watch)


def login(world: World) -> tuple[str, dict[str, Any], list[str]]:
    """A wallet login: its client, the token answer and what to watch (the refresh family,
    the refresh token's record, the client and the access token's mark)."""
    client, answer = tokens(world)
    marked(world, answer["access_token"])
    sid = str(claims_of(answer["access_token"])["sid"])
    return client, answer, [sid, _sha(answer["refresh_token"]), client]


# ------------------------------------------------------------------ refused


def victim(
    form: Callable[[dict[str, Any], str], list[tuple[str, str]]],
    *,
    headers: Callable[[World], dict[str, str]] | None = None,
) -> Callable[[World], Attack]:
    """Another client (registered, public) sends ``form(victim's tokens, its client_id)``."""

    def build(world: World) -> Attack:
        _, answer, watch = login(world)
        other = register(world)
        attack = revoke(
            world,
            form(answer, other),
            [*watch, other],
            headers=headers(world) if headers else None,
        )
        attack.after = still_active(world, answer["access_token"])
        return attack

    return build


def own(
    make: Callable[[dict[str, Any], str], list[tuple[str, str]] | bytes], content_type: str = FORM
) -> Callable[[World], Attack]:
    """The owning client itself, with a request malformed as ``make`` makes it."""

    def build(world: World) -> Attack:
        client, answer, watch = login(world)
        attack = revoke(world, make(answer, client), watch)
        attack.headers = {"Content-Type": content_type}
        attack.after = still_active(world, answer["access_token"])
        return attack

    return build


def agent_token_by_public_client(world: World) -> Attack:
    token = access_token(world)
    marked(world, token)
    other = register(world)
    attack = revoke(world, [("token", token), ("client_id", other)], [other])
    spent, quiet = unspent(world, token), unsignalled(world, token)

    def check(response: httpx.Response) -> None:
        quiet(response)
        spent(response)

    attack.after = check
    return attack


def pep_by(credential: str) -> Callable[[World], Attack]:
    """A PEP's token, revoked by naming its ``client_id`` alone (``client_id``), with its
    client id and a wrong secret as HTTP Basic (``wrong_secret``), with another service
    client's valid credentials (``other_client``) or - the victim a person's token - with the
    PEP token in place of an API key (``bearer``)."""

    def build(world: World) -> Attack:
        client = service_client(world)
        token = pep_token(world, client)
        marked(world, token)
        watch = [client["client_id"]]
        if credential == "client_id":
            attack = revoke(world, [("token", token), ("client_id", client["client_id"])], watch)
        elif credential == "wrong_secret":
            secret = basic(client["client_id"], "not-" + client["client_secret"])
            attack = revoke(world, [("token", token)], watch, headers=secret)
        elif credential == "other_client":
            other = service_client(world)
            secret = basic(other["client_id"], other["client_secret"])
            attack = revoke(world, [("token", token)], [*watch, other["client_id"]], headers=secret)
        else:
            _, answer, more = login(world)
            headers = {"Authorization": f"Bearer {token}"}
            attack = revoke(
                world, [("token", answer["access_token"])], watch + more, headers=headers
            )
            attack.after = still_active(world, answer["access_token"])
            return attack

        quiet = unsignalled(world, token)

        def works(response: httpx.Response) -> None:
            answer = world.send(pep_evaluate(world, token, []))
            assert answer.status_code == 200, answer.text
            quiet(response)

        attack.after = works
        return attack

    return build


# ------------------------------------------------------------------ ignored (RFC 7009 §2.2)


def resigned(key: SigningKey | None) -> Callable[[World], Attack]:
    """The victim's access token with its claims signed by another key (``None``: unsigned,
    ``alg: none``), revoked by the API key - which may revoke any token agentvp issued."""

    def build(world: World) -> Attack:
        _, answer, watch = login(world)
        token = answer["access_token"]
        header = forge.decode_part(token, 0)
        claims = claims_of(token)
        if key is None:
            fake = forge.unsigned({**header, "alg": "none"}, claims)
        else:
            fake = forge.signed(key, header, claims)
        headers = {"Authorization": f"Bearer {world.api_key}"}
        attack = revoke(world, [("token", fake)], watch, headers=headers)
        attack.after = still_active(world, token)
        return attack

    return build


def replayed(kind: str) -> Callable[[World], Attack]:
    """The client revoked its own ``kind`` token; the same request again."""

    def build(world: World) -> Attack:
        client, answer, watch = login(world)
        form = [("token", answer[kind]), ("client_id", client)]
        first = world.send(revoke(world, form, []))
        assert first.status_code == 200, first.text
        assert not active(world, answer["access_token"])
        assert len(naming(world, answer["access_token"])) == 1, "one session-revoked first"
        attack = revoke(world, form, watch)
        attack.after = unsignalled(world, answer["access_token"])  # not a second one
        return attack

    return build


def unknown_refresh_of_another_client(world: World) -> Attack:
    """A refresh token that was never issued (a guess), revoked by some client."""
    _, answer, watch = login(world)
    other = register(world)
    guess = answer["refresh_token"][:-4] + "AAAA"
    attack = revoke(world, [("token", guess), ("client_id", other)], [*watch, other])
    attack.after = still_active(world, answer["access_token"])
    return attack


def _c(name: str, source: str, build: Callable[[World], Attack], *refused: Any) -> Case:
    return Case(name, source, build, Refused(*refused))


UNAUTHORIZED = (400, "unauthorized_client", "issued to another client")
CASES = [
    _c(
        "revoke_access_token_of_another_client",
        RFC,
        victim(lambda a, other: [("token", a["access_token"]), ("client_id", other)]),
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_refresh_token_of_another_client",
        RFC,
        victim(
            lambda a, other: [
                ("token", a["refresh_token"]),
                ("token_type_hint", "refresh_token"),
                ("client_id", other),
            ]
        ),
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_another_clients_token_with_a_lying_hint",
        RFC + " (the search extends past the hint)",
        victim(
            lambda a, other: [
                ("token", a["access_token"]),
                ("token_type_hint", "refresh_token"),
                ("client_id", other),
            ]
        ),
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_another_clients_token_with_an_unsupported_hint",
        RFC + "; RFC 7009 §2.2.1",
        victim(
            lambda a, other: [
                ("token", a["refresh_token"]),
                ("token_type_hint", "id_token"),
                ("client_id", other),
            ]
        ),
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_another_clients_token_with_unknown_members",
        RFC + "; RFC 6749 §3.2 (unknown parameters ignored)",
        victim(
            lambda a, other: [
                ("token", a["access_token"]),
                ("client_id", other),
                ("sub", str(claims_of(a["access_token"])["sub"])),
                ("owner", str(claims_of(a["access_token"])["client_id"])),
            ]
        ),
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_agent_token_by_a_public_client",
        RFC + "; T1",
        agent_token_by_public_client,
        *UNAUTHORIZED,
    ),
    _c(
        "revoke_pep_token_by_its_client_id_alone",
        RFC + " (a confidential client authenticates)",
        pep_by("client_id"),
        401,
        "invalid_client",
        "confidential client",
    ),
    _c(
        "revoke_pep_token_with_a_wrong_client_secret",
        RFC + " (a confidential client authenticates); RFC 6749 §5.2",
        pep_by("wrong_secret"),
        401,
        "invalid_client",
        "wrong secret",
    ),
    _c(
        "revoke_pep_token_with_another_service_clients_credentials",
        RFC + " (the token was issued to another client)",
        pep_by("other_client"),
        400,
        "unauthorized_client",
        "another client",
    ),
    _c(
        "revoke_with_a_pep_token_as_api_key",
        RFC + "; RFC 6750 §3.1",
        pep_by("bearer"),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "revoke_with_an_unknown_api_key",
        RFC,
        victim(
            lambda a, _: [("token", a["access_token"])],
            headers=lambda w: {"Authorization": "Bearer not-an-api-key"},
        ),
        401,
        "invalid_token",
        "unknown API key",
    ),
    _c(
        "revoke_without_client_authentication",
        RFC,
        victim(lambda a, _: [("token", a["access_token"])]),
        401,
        "invalid_client",
        "API key or the client_id",
    ),
    _c(
        "revoke_client_id_repeated",
        "RFC 6749 §3.2 (parameters sent once)",
        victim(
            lambda a, other: [
                ("token", a["access_token"]),
                ("client_id", other),
                ("client_id", str(claims_of(a["access_token"])["client_id"])),
            ]
        ),
        400,
        "invalid_request",
        "repeated",
    ),
    _c(
        "revoke_token_repeated",
        "RFC 6749 §3.2 (parameters sent once)",
        victim(
            lambda a, other: [
                ("token", a["refresh_token"]),
                ("token", a["access_token"]),
                ("client_id", other),
            ]
        ),
        400,
        "invalid_request",
        "repeated",
    ),
    _c(
        "revoke_as_json",
        "RFC 7009 §2.1 (application/x-www-form-urlencoded)",
        own(
            lambda a, c: json.dumps({"token": a["access_token"], "client_id": c}).encode(),
            "application/json",
        ),
        400,
        "invalid_request",
        "content type",
    ),
    _c(
        "revoke_form_with_too_many_fields",
        "RFC 7009 §2.1; bounded forms",
        own(lambda a, c: [("token", a["access_token"]), ("client_id", c)] + [("x", "1")] * 20),
        400,
        "invalid_request",
        "malformed",
    ),
    _c(
        "revoke_form_not_utf8",
        "RFC 7009 §2.1; RFC 6749 Appendix B",
        own(
            lambda a, c: (
                urlencode([("token", a["access_token"]), ("client_id", c)]).encode() + b"&x=\xff"
            )
        ),
        400,
        "invalid_request",
        "malformed",
    ),
    _c(
        "revoke_oversized_body",
        "AGENTVP_MAX_BODY_BYTES",
        own(
            lambda a, c: urlencode(
                [("token", a["access_token"]), ("client_id", c), ("pad", "x" * 300_000)]
            ).encode()
        ),
        413,
        "invalid_request",
        "exceeds",
    ),
    Case(
        "revoke_token_signed_by_another_key",
        "RFC 7009 §2.2; RFC 9068 §4",
        resigned(SigningKey.generate()),
        Ignored(),
    ),
    Case(
        "revoke_unsigned_token",
        "RFC 7009 §2.2; RFC 8725 §3.1",
        resigned(None),
        Ignored(),
    ),
    Case(
        "revoke_access_token_replayed",
        "RFC 7009 §2.2 (revoking again changes nothing)",
        replayed("access_token"),
        Ignored(),
    ),
    Case(
        "revoke_refresh_token_replayed",
        "RFC 7009 §2.2 (revoking again changes nothing)",
        replayed("refresh_token"),
        Ignored(),
    ),
    Case(
        "revoke_guessed_refresh_token",
        "RFC 7009 §2.2",
        unknown_refresh_of_another_client,
        Ignored(),
    ),
]
