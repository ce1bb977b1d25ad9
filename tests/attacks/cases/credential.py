"""SD-JWT VC claims after reconstruction: validity, ``vct``, ``cnf``, status reference (digest
§10 checks 30, 31, 33; SD-JWT VC §3.2.2, §3.5; RFC 7519 §4.1.4-§4.1.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.attacks import forge
from tests.attacks.harness import OPEN_ISS, Attack, Case, Rejected, World, now
from verifier.protocol.jose import b64url_decode

HOUR = 3600


def claims(**values: Any) -> Callable[[World], Attack]:
    return lambda w: w.crafted_response(claims=values)


def raw_claim(name: str, literal: bytes) -> Callable[[World], Attack]:
    """A validity claim whose JSON text is ``literal``: a number JSON allows but a float cannot
    hold (``1e400`` parses as infinity, a 400-digit integer overflows a float)."""

    def build(world: World) -> Attack:
        marker = 1234567890123
        issuer_jwt, disclosures = world.crafted(claims={name: marker})
        payload = b64url_decode(issuer_jwt.split(".")[1])
        payload = payload.replace(f'"{name}":{marker}'.encode(), f'"{name}":'.encode() + literal)
        forged = forge.signed(
            world.wallet.issuer("ekyc").key, forge.decode_part(issuer_jwt, 0), payload
        )
        return world.crafted_response(edit=lambda jwt, ds: (forged, disclosures))

    return build


def open_issuer(**values: Any) -> Callable[[World], Attack]:
    """Issued by the issuer the trust file allows for any vct."""
    return lambda w: w.crafted_response(
        key=w.wallet.issuer("open").key, claims={"iss": OPEN_ISS, **values}
    )


def mandate_for_identity_query(world: World) -> Attack:
    """A valid mandate presented under the identity query's id."""
    live = world.present(profile="identity", propose=False)
    jwt, disclosures = world.disclose(
        world.mandate,
        {
            "credentials": [
                {
                    "id": "m",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["https://agentvp.example/vct/agent_mandate/1"]},
                    "claims": [{"path": ["jti"]}],
                }
            ]
        },
    )
    presented = live.rebind(jwt, disclosures, world.key("agent"))
    return live.respond(vp_token={"identity": [presented]})


def no_cnf(world: World) -> Attack:
    return world.crafted_response(drop=("cnf",))


def _r(
    name: str, source: str, build: Callable[[World], Attack], code: str, fragment: str = ""
) -> Case:
    return Case(name, source, build, Rejected(code, fragment))


CASES = [
    _r(
        "credential_expired",
        "digest §10 #30",
        lambda w: w.crafted_response(claims={"exp": now() - HOUR}),
        "credential_expired",
    ),
    _r(
        "credential_not_yet_valid",
        "digest §10 #30",
        lambda w: w.crafted_response(claims={"nbf": now() + HOUR}),
        "credential_not_yet_valid",
    ),
    _r(
        "credential_iat_in_future",
        "digest §10 #30",
        lambda w: w.crafted_response(claims={"iat": now() + HOUR}),
        "credential_iat_in_future",
    ),
    _r(
        "credential_exp_not_a_number",
        "digest §10 #30; RFC 7519 §2",
        claims(exp="2099-01-01"),
        "validity_claim_invalid",
    ),
    _r(
        "credential_exp_boolean",
        "digest §10 #30; RFC 7519 §2",
        claims(exp=True),
        "validity_claim_invalid",
    ),
    _r(
        "credential_nbf_overflowing_number",
        "digest §10 #30; RFC 8259 §6",
        raw_claim("nbf", b"1e400"),
        "validity_claim_invalid",
    ),
    _r(
        "credential_exp_overflowing_number",
        "digest §10 #30; RFC 8259 §6",
        raw_claim("exp", b"-1e400"),
        "validity_claim_invalid",
    ),
    _r(
        "credential_exp_huge_integer",
        "digest §10 #30; RFC 7519 §2 NumericDate",
        raw_claim("exp", b"1" + b"0" * 400),
        "validity_claim_invalid",
    ),
    _r(
        "vct_missing",
        "digest §10 #31; SD-JWT VC §3.2.2.1",
        lambda w: w.crafted_response(
            key=w.wallet.issuer("open").key, claims={"iss": OPEN_ISS}, drop=("vct",)
        ),
        "vct_missing",
    ),
    _r(
        "vct_not_a_string",
        "digest §10 #31",
        open_issuer(vct=["https://agentvp.example/vct/verified_person/1"]),
        "vct_missing",
    ),
    _r(
        "vct_not_requested",
        "digest §10 #31",
        open_issuer(vct="https://evil.example/vct/admin/1"),
        "vct_not_requested",
    ),
    _r(
        "mandate_presented_as_identity",
        "digest §10 #31; T3",
        mandate_for_identity_query,
        "vct_not_requested",
    ),
    _r("kb_jwt_without_cnf", "digest §10 #33", no_cnf, "cnf_missing"),
    _r(
        "cnf_carries_private_key",
        "digest §10 #33; RFC 7800 §3.2",
        lambda w: w.crafted_response(claims={"cnf": {"jwk": w.key("human").to_jwk()}}),
        "cnf_invalid",
    ),
    _r("cnf_without_jwk", "digest §10 #33", claims(cnf={"kid": "human-1"}), "cnf_invalid"),
    _r(
        "cnf_point_not_on_curve",
        "digest §10 #33; invalid-curve",
        claims(
            cnf={"jwk": {"kty": "EC", "crv": "P-256", "x": "AQ" + "A" * 41, "y": "AQ" + "A" * 41}}
        ),
        "cnf_invalid",
    ),
    _r(
        "status_uri_not_http",
        "digest §10 #43; Token Status List §6.1",
        claims(status={"status_list": {"idx": 0, "uri": "file:///etc/passwd"}}),
        "status_reference_malformed",
    ),
    _r(
        "status_idx_negative",
        "Token Status List §6.1",
        claims(status={"status_list": {"idx": -1, "uri": "https://x.example/s"}}),
        "status_reference_malformed",
    ),
    _r(
        "status_not_an_object",
        "Token Status List §6.1",
        claims(status="revoked-never"),
        "status_reference_malformed",
    ),
]
