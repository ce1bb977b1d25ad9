"""SIOPv2 self-issued ID tokens next to the vp_token (digest §10 check 47; SIOPv2 §11.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import Attack, Case, Rejected, World, now
from verifier.protocol import SigningKey, create_id_token
from verifier.protocol.oid4vp.siop import thumbprint_subject

SIOP = {"profile": "identity", "response_type": "vp_token id_token"}


def id_token(make: Callable[[World, Any, dict[str, Any]], str | None]) -> Callable[[World], Attack]:
    """Answer with the honest vp_token and ``make(world, live, honest claims)`` as id_token."""

    def build(world: World) -> Attack:
        live = world.present(**SIOP)
        key = world.key("human")
        sub = thumbprint_subject(dict(key.public_key.jwk), urn=True)
        claims = {
            "iss": sub,
            "sub": sub,
            "sub_jwk": dict(key.public_key.jwk),
            "aud": live.request.client_id,
            "nonce": live.request.nonce,
            "iat": now(),
            "exp": now() + 600,
        }
        return live.respond(id_token=make(world, live, claims))

    return build


def signed(**changes: Any) -> Callable[[World, Any, dict[str, Any]], str]:
    def make(world: World, live: Any, claims: dict[str, Any]) -> str:
        values = {k: v() if callable(v) else v for k, v in changes.items()}
        return forge.signed(
            world.key("human"), {"alg": "ES256", "typ": "JWT"}, {**claims, **values}
        )

    return make


def stranger_key(world: World, live: Any, claims: dict[str, Any]) -> str:
    return forge.signed(SigningKey.generate(), {"alg": "ES256", "typ": "JWT"}, claims)


def other_nonce(world: World, live: Any, claims: dict[str, Any]) -> str:
    return create_id_token(
        key=world.key("human"), audience=live.request.client_id, nonce="x", iat=now()
    )


def _r(name: str, build: Callable[[World], Attack], code: str) -> Case:
    return Case(name, "digest §10 #47; SIOPv2 §11.1", build, Rejected(code))


CASES = [
    _r("id_token_missing", id_token(lambda w, live, c: None), "id_token_missing"),
    _r(
        "id_token_not_self_issued",
        id_token(signed(iss="https://idp.example")),
        "id_token_not_self_issued",
    ),
    _r(
        "id_token_sub_not_key_thumbprint",
        id_token(
            signed(
                sub="urn:ietf:params:oauth:jwk-thumbprint:sha-256:AAAA",
                iss="urn:ietf:params:oauth:jwk-thumbprint:sha-256:AAAA",
            )
        ),
        "id_token_sub_mismatch",
    ),
    _r(
        "id_token_for_another_audience",
        id_token(signed(aud="x509_hash:other")),
        "id_token_aud_mismatch",
    ),
    _r("id_token_other_nonce", id_token(other_nonce), "id_token_nonce_mismatch"),
    _r(
        "id_token_expired",
        id_token(signed(exp=lambda: now() - 3600, iat=lambda: now() - 4000)),
        "id_token_expired",
    ),
    _r("id_token_signed_by_another_key", id_token(stranger_key), "id_token_signature_invalid"),
    _r(
        "id_token_alg_none",
        id_token(lambda w, live, c: forge.unsigned({"alg": "none", "typ": "JWT"}, c)),
        "alg_not_allowed",
    ),
    _r(
        "id_token_sub_jwk_missing", id_token(signed(sub_jwk=lambda: None)), "id_token_claim_missing"
    ),
    _r(
        "id_token_sub_jwk_private",
        id_token(signed(sub_jwk=SigningKey.generate().to_jwk())),
        "malformed_jwk",
    ),
]
