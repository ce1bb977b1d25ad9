"""The issuer-signed JWT: algorithm, type, key resolution, signature, x5c chains (digest §10
checks 20-22, 46; RFC 8725 §3.1-§3.2; SD-JWT VC §3.5; HAIP §6.1.1). Every presentation here is
correctly bound by the holder, so the response is processed and rejected for its credential."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.attacks import forge
from tests.attacks.harness import (
    EKYC_ISS,
    IDENTITY_VCT,
    MANDATE_VCT,
    MANDATES_ISS,
    X5C_ISS,
    Attack,
    Case,
    Rejected,
    World,
    now,
)
from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_decode
from verifier.protocol.x509.chain import x5c_header
from verifier.protocol.x509.devpki import DevPKI, make_leaf, make_self_signed_leaf


def reissue(make: Callable[[World, dict[str, Any], bytes], str]) -> Callable[[World], Attack]:
    """Replace the crafted issuer JWT by ``make(world, its header, its exact payload bytes)``."""

    def build(world: World) -> Attack:
        def edit(jwt: str, disclosures: list[str]) -> tuple[str, list[str]]:
            header = forge.decode_part(jwt, 0)
            return make(world, header, b64url_decode(jwt.split(".")[1])), disclosures

        return world.crafted_response(edit=edit)

    return build


def ekyc_public(world: World) -> Any:
    return world.wallet.issuer("ekyc").key.private_key.public_key()


def hs256_with(secret: Callable[[World], bytes]) -> Callable[[World], Attack]:
    return reissue(lambda w, h, p: forge.hs256(secret(w), {**h, "alg": "HS256"}, p))


def pem(world: World) -> bytes:
    return ekyc_public(world).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwk_json(world: World) -> bytes:
    return json.dumps(world.wallet.issuer("ekyc").key.public_jwk).encode()


def point(world: World) -> bytes:
    return ekyc_public(world).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def es384(world: World, header: dict[str, Any], payload: bytes) -> str:
    return forge.signed(SigningKey.generate(crv="P-384"), {**header, "alg": "ES384"}, payload)


def tampered(world: World, header: dict[str, Any], payload: bytes) -> str:
    """The holder extends ``exp`` by ten years and keeps the issuer's signature."""
    head, _, signature = forge.signed(world.wallet.issuer("ekyc").key, header, payload).split(".")
    claims = json.loads(payload)
    claims["exp"] = now() + 10 * 365 * 86400
    return f"{head}.{forge.b64(json.dumps(claims).encode())}.{signature}"


def attacker_signed(**claims: Any) -> Callable[[World], Attack]:
    """Signed with a key the attacker owns, the header naming ``kid`` (or embedding ``jwk``)."""

    def build(world: World) -> Attack:
        return world.crafted_response(key=SigningKey.generate(kid="ekyc-1"), claims=claims)

    return build


def embedded_jwk(world: World) -> Attack:
    attacker = SigningKey.generate()
    return world.crafted_response(key=attacker, header={"jwk": attacker.public_jwk, "kid": None})


def x5c_attack(
    chain: Callable[[World, SigningKey], list[str]], *, iss: str = X5C_ISS, vct: str = IDENTITY_VCT
) -> Callable[[World], Attack]:
    """A credential signed by ``key`` and carrying ``chain(world, key)`` as its ``x5c``."""

    def build(world: World) -> Attack:
        key = world.x5c_key
        x5c = chain(world, key)
        return world.crafted_response(
            key=key, header={"x5c": x5c, "kid": None}, claims={"iss": iss, "vct": vct}
        )

    return build


def with_anchor(world: World, key: SigningKey) -> list[str]:
    return world.x5c(world.x5c_leaf, world.pki.intermediate, world.pki.root)


def self_signed(world: World, key: SigningKey) -> list[str]:
    leaf = make_self_signed_leaf(
        X5C_ISS, key, now=now(), dns=("x5c-issuer.attack.example",), uris=(X5C_ISS,)
    )
    return x5c_header([leaf])


def foreign_ca(world: World, key: SigningKey) -> list[str]:
    pki = DevPKI.create(now=now(), name="attack issuers")  # same names, other keys
    return world.x5c(pki.issuer_leaf(X5C_ISS, key, now=now()), pki.intermediate)


def other_name(world: World, key: SigningKey) -> list[str]:
    return world.x5c(world.pki.issuer_leaf("https://someone-else.attack.example", key, now=now()))


def expired_leaf(world: World, key: SigningKey) -> list[str]:
    t = now()
    leaf = make_leaf(
        X5C_ISS,
        key,
        world.pki.intermediate,
        world.pki.intermediate_key,
        now=t,
        not_before=t - 10 * 86400,
        not_after=t - 86400,
        dns=("x5c-issuer.attack.example",),
        uris=(X5C_ISS,),
    )
    return world.x5c(leaf)


def ca_leaf(world: World, key: SigningKey) -> list[str]:
    leaf = make_leaf(
        X5C_ISS,
        key,
        world.pki.intermediate,
        world.pki.intermediate_key,
        now=now(),
        ca=True,
        uris=(X5C_ISS,),
        key_usage=None,
    )
    return world.x5c(leaf)


def _r(
    name: str, source: str, build: Callable[[World], Attack], code: str, fragment: str = ""
) -> Case:
    return Case(name, source, build, Rejected(code, fragment))


NONE_HEADER = {"alg": "none", "typ": "dc+sd-jwt", "kid": "ekyc-1"}
CASES = [
    _r(
        "issuer_alg_none",
        "digest §10 #20; RFC 8725 §3.1",
        reissue(lambda w, h, p: forge.unsigned(NONE_HEADER, p)),
        "alg_not_allowed",
    ),
    _r(
        "issuer_alg_none_uppercase",
        "digest §10 #20; RFC 8725 §3.1",
        reissue(lambda w, h, p: forge.unsigned({**h, "alg": "NONE"}, p)),
        "alg_not_allowed",
    ),
    _r(
        "issuer_hs256_public_key_pem_as_secret",
        "digest §10 #20; RFC 8725 §3.2",
        hs256_with(pem),
        "alg_not_allowed",
    ),
    _r(
        "issuer_hs256_public_jwk_as_secret",
        "digest §10 #20; RFC 8725 §3.2",
        hs256_with(jwk_json),
        "alg_not_allowed",
    ),
    _r(
        "issuer_hs256_public_point_as_secret",
        "digest §10 #20; RFC 8725 §3.2",
        hs256_with(point),
        "alg_not_allowed",
    ),
    _r(
        "issuer_alg_es384_not_allowed", "digest §10 #20; HAIP §7", reissue(es384), "alg_not_allowed"
    ),
    _r(
        "issuer_typ_legacy_vc_sd_jwt",
        "digest §10 #20; SD-JWT VC §3.2.1",
        lambda w: w.crafted_response(header={"typ": "vc+sd-jwt"}),
        "issuer_typ_invalid",
    ),
    _r(
        "issuer_typ_jwt",
        "digest §10 #20",
        lambda w: w.crafted_response(header={"typ": "JWT"}),
        "issuer_typ_invalid",
    ),
    _r(
        "issuer_typ_missing",
        "digest §10 #20",
        lambda w: w.crafted_response(header={"typ": None}),
        "issuer_typ_invalid",
    ),
    _r(
        "issuer_header_crit",
        "RFC 7515 §4.1.11",
        lambda w: w.crafted_response(header={"crit": ["x"], "x": 1}),
        "malformed_jwt",
    ),
    _r(
        "issuer_header_duplicate_alg",
        "digest §9 duplicate keys; RFC 8725 §3.11",
        reissue(
            lambda w, h, p: forge.signed(
                w.wallet.issuer("ekyc").key,
                b'{"alg":"ES256","typ":"dc+sd-jwt","kid":"ekyc-1","alg":"none"}',
                p,
            )
        ),
        "json_duplicate_key",
    ),
    _r(
        "issuer_payload_duplicate_vct",
        "digest §9 duplicate keys; RFC 8725 §3.11",
        reissue(
            lambda w, h, p: forge.signed(
                w.wallet.issuer("ekyc").key, h, p[:-1] + b',"vct":"https://evil.example/vct"}'
            )
        ),
        "json_duplicate_key",
    ),
    _r(
        "issuer_payload_not_object",
        "RFC 7519 §7.2",
        reissue(lambda w, h, p: forge.signed(w.wallet.issuer("ekyc").key, h, b"[1,2]")),
        "malformed_jwt",
    ),
    _r(
        "issuer_payload_deeply_nested",
        "AGENTVP_MAX_JSON_DEPTH",
        lambda w: w.crafted_response(claims={"deep": json.loads("[" * 40 + "]" * 40)}),
        "json_too_deep",
    ),
    _r("issuer_claim_tampered", "digest §10 #22", reissue(tampered), "issuer_signature_invalid"),
    _r(
        "issuer_signature_stripped",
        "digest §10 #22",
        lambda w: w.crafted_response(edit=lambda j, d: (j.rsplit(".", 1)[0] + ".", d)),
        "issuer_signature_invalid",
    ),
    _r(
        "issuer_signed_by_attacker_with_trusted_kid",
        "digest §10 #22; T1",
        attacker_signed(),
        "issuer_signature_invalid",
    ),
    _r(
        "issuer_jwk_header_ignored",
        "digest §10 #21; RFC 8725 §3.10",
        embedded_jwk,
        "issuer_signature_invalid",
    ),
    _r(
        "issuer_untrusted",
        "digest §10 #21, #46",
        attacker_signed(iss="https://evil.attack.example"),
        "issuer_untrusted",
    ),
    _r(
        "issuer_iss_missing",
        "digest §10 #21; SD-JWT VC §3.2.2",
        lambda w: w.crafted_response(drop=("iss",)),
        "iss_missing",
    ),
    _r(
        "issuer_kid_unknown",
        "digest §10 #21",
        lambda w: w.crafted_response(header={"kid": "ekyc-999"}),
        "issuer_key_unknown",
    ),
    _r(
        "issuer_not_trusted_for_vct",
        "digest §10 #46; agent-mandates §6.1",
        lambda w: w.crafted_response(
            key=w.wallet.issuer("mandates").key, claims={"iss": MANDATES_ISS}
        ),
        "vct_not_trusted_for_issuer",
    ),
    _r(
        "x5c_contains_trust_anchor",
        "digest §10 #5, #21; HAIP §6.1.1",
        x5c_attack(with_anchor),
        "x5c_anchor_included",
    ),
    _r(
        "x5c_self_signed_leaf",
        "digest §10 #21; HAIP §6.1.1",
        x5c_attack(self_signed),
        "x5c_self_signed",
    ),
    _r("x5c_chain_to_foreign_ca", "digest §10 #21, #46", x5c_attack(foreign_ca), "x5c_untrusted"),
    _r(
        "x5c_leaf_names_other_issuer",
        "digest §10 #21; SD-JWT VC §3.5",
        x5c_attack(other_name),
        "x5c_name_mismatch",
    ),
    _r(
        "x5c_leaf_expired",
        "digest §10 #21; RFC 5280 §6.1.3",
        x5c_attack(expired_leaf),
        "x5c_expired",
    ),
    _r(
        "x5c_leaf_is_a_ca",
        "digest §10 #21; RFC 5280 §4.2.1.9",
        x5c_attack(ca_leaf),
        "x5c_key_usage",
    ),
    _r(
        "x5c_not_a_certificate",
        "digest §10 #21",
        x5c_attack(lambda w, k: [forge.b64(b"not a certificate")]),
        "x5c_invalid",
    ),
    _r(
        "x5c_for_vct_without_anchor",
        "digest §10 #46",
        x5c_attack(lambda w, k: w.x5c(), vct=MANDATE_VCT),
        "x5c_untrusted",
    ),
    _r(
        "x5c_with_statically_trusted_iss",
        "digest §10 #21, #46",
        x5c_attack(foreign_ca, iss=EKYC_ISS),
        "x5c_untrusted",
    ),
]
