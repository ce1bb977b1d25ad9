"""JOSE strictness over HTTP: base64url is canonical everywhere (RFC 4648 §3.5), the JWE IV and
tag have the lengths RFC 7518 §5.3 requires, and the JWE protected header is authenticated as
received (RFC 7516 §5.2 step 14).

A respelled segment - the same bytes under another text, the spare bits of its last character
set - used to pass, so a signature, a KB-JWT or a response could be changed in transit without
changing what it proves, and the hash of a presentation named no unique text. Each case here
respells one segment (or sends a short IV or tag) that an honest party made; every one was
accepted or processed on main before this rule."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.cases.oauth import FORM, authorize_form
from tests.attacks.harness import Attack, Case, Refused, Rejected, World
from tests.attacks.resource import access_token, call, request
from verifier.protocol.jose import b64url_decode, b64url_encode, hash_b64
from verifier.protocol.oauth.dpop import create_proof

NC = "RFC 4648 §3.5; RFC 7515 §2 (canonical base64url)"
BAD = (400, "invalid_request")


def _respell_part(token: str, index: int) -> str:
    parts = token.split(".")
    parts[index] = forge.respell(parts[index])
    return ".".join(parts)


def envelope(**opts: Any) -> Callable[[World], Attack]:
    """The honest response, encrypted by hand with ``opts`` (see :func:`forge.jwe`)."""

    def build(world: World) -> Attack:
        live = world.present(profile="identity")
        body = {"vp_token": live.vp_token, "state": live.request.state}
        return live.encrypted(json.dumps(body).encode(), **opts)

    return build


def kb_signature_respelled(world: World) -> Attack:
    """A man in the middle respells the honest KB-JWT's signature: same bytes, other text."""
    live = world.present(profile="identity")
    presentation = live.presentation()
    presented, _, kb = presentation.rpartition("~")
    return live.respond(vp_token={"identity": [f"{presented}~{_respell_part(kb, 2)}"]})


def issuer_signature_respelled(world: World) -> Attack:
    """The holder presents (and binds) the issuer JWT with its signature respelled."""
    live = world.present(profile="identity")
    jwt, *disclosures, _ = live.presentation().split("~")
    rebound = live.rebind(_respell_part(jwt, 2), disclosures, world.key("human"))
    return live.respond(vp_token={"identity": [rebound]})


def kb_header_respelled(world: World) -> Attack:
    """A KB-JWT whose header text is respelled before the holder signs it."""
    live = world.present(profile="identity")
    presented, _, kb = live.presentation().rpartition("~")
    head = forge.respell(
        b64url_encode(forge.aligned_json(json.loads(b64url_decode(kb.split(".")[0]))))
    )
    signing_input = f"{head}.{kb.split('.')[1]}"
    signature = b64url_encode(world.key("human").sign(signing_input.encode()))
    return live.respond(vp_token={"identity": [f"{presented}~{signing_input}.{signature}"]})


def disclosure_respelled(world: World) -> Attack:
    """A (malicious) issuer signs the digest of a respelled disclosure."""
    for value in ("Erika", "Erik", "Eri"):
        encoded, _ = forge.disclosure("given_name", value)
        if len(encoded) % 4 in (2, 3):
            text = forge.respell(encoded)
            return world.crafted_response(disclosures=[(text, hash_b64(text))])
    raise AssertionError("no disclosure with spare bits")


def dpop_signature_respelled(world: World) -> Attack:
    url = f"{world.verifier.url}/oauth/agent-authorize"
    proof = create_proof(world.key("agent"), htm="POST", htu=url, now=int(time.time()))
    headers = {"Content-Type": FORM, "DPoP": _respell_part(proof, 2)}
    return Attack("POST", url, headers, authorize_form(world))


def access_token_respelled(world: World) -> Attack:
    token = _respell_part(access_token(world), 2)
    return request(world, token, call())


def _c(name: str, source: str, build: Callable[[World], Attack], *refusal: Any) -> Case:
    return Case(name, source, build, Refused(*refusal))


def _r(name: str, source: str, build: Callable[[World], Attack], code: str) -> Case:
    return Case(name, source, build, Rejected(code, "not canonical"))


GCM = "RFC 7518 §5.3"
AAD = "RFC 7516 §5.2 step 14"
NOT_CANONICAL = "base64url_not_canonical"
CASES = [
    _c("jwe_iv_64_bits", GCM, envelope(iv_size=8), *BAD, "jwe_iv_invalid"),
    _c("jwe_iv_128_bits", GCM, envelope(iv_size=16), *BAD, "jwe_iv_invalid"),
    _c("jwe_tag_96_bits", GCM, envelope(tag_size=12), *BAD, "jwe_tag_invalid"),
    _c("jwe_tag_64_bits", GCM, envelope(tag_size=8), *BAD, "jwe_tag_invalid"),
    _c(
        "jwe_header_respelled_after_encryption",
        f"{AAD}; {NC}",
        envelope(respell_segments=(0,), aad_as_sent=False),
        *BAD,
        NOT_CANONICAL,
    ),
    _c(
        "jwe_header_respelled_and_authenticated",
        f"{AAD}; {NC}",
        envelope(respell_segments=(0,)),
        *BAD,
        NOT_CANONICAL,
    ),
    _c("jwe_ciphertext_respelled", NC, envelope(respell_segments=(3,)), *BAD, NOT_CANONICAL),
    _c("jwe_tag_respelled", NC, envelope(respell_segments=(4,)), *BAD, NOT_CANONICAL),
    _c(
        "jwe_epk_x_respelled",
        f"{NC}; RFC 7518 §6.2.1.2",
        envelope(respell_epk_x=True),
        *BAD,
        NOT_CANONICAL,
    ),
    _r("kb_jwt_signature_respelled", f"{NC}; RFC 9901 §7.3", kb_signature_respelled, NOT_CANONICAL),
    _r("kb_jwt_header_respelled", f"{NC}; RFC 9901 §7.3", kb_header_respelled, NOT_CANONICAL),
    _r(
        "issuer_signature_respelled",
        f"{NC}; RFC 9901 §7.1",
        issuer_signature_respelled,
        NOT_CANONICAL,
    ),
    _r("disclosure_respelled", f"{NC}; RFC 9901 §7.1 step 3", disclosure_respelled, NOT_CANONICAL),
    _c(
        "dpop_signature_respelled",
        f"{NC}; RFC 9449 §4.3",
        dpop_signature_respelled,
        400,
        "invalid_dpop_proof",
        "not canonical",
    ),
    _c(
        "access_token_signature_respelled",
        f"{NC}; RFC 9068 §4",
        access_token_respelled,
        401,
        "invalid_token",
        "not canonical",
    ),
]
