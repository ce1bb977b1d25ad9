"""One test per vector case in tests/vectors/<area>/*.json (see generate.py for provenance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from verifier.protocol import (
    AgentVPError,
    DCQLQuery,
    StaticKeyResolver,
    VerificationPolicy,
    check_status,
    decode_status_list,
    public_key_from_jwk,
    reconstruct,
    split_sd_jwt,
    verify_kb_jwt,
    verify_presentation,
    verify_status_list_token,
    verify_vp_token,
)
from verifier.protocol.jose import SigningKey, decrypt_jwe, parse_unverified_jws, verify_jws

HERE = Path(__file__).resolve().parent


def load(area: str, name: str) -> list[dict[str, Any]]:
    cases = json.loads((HERE / area / f"{name}.json").read_text())["cases"]
    return [pytest.param(c, id=c["name"]) for c in cases]


def key(role: str) -> SigningKey:
    return SigningKey.from_jwk(json.loads((HERE / "keys" / f"{role}.json").read_text()))


def resolver(inputs: dict[str, Any]) -> StaticKeyResolver:
    issuers = {iss: [key(r).public_jwk for r in roles] for iss, roles in inputs["trust"].items()}
    vcts = {iss: frozenset(v) for iss, v in inputs.get("trust_vct", {}).items()}
    return StaticKeyResolver(issuers, vcts)


def policy(inputs: dict[str, Any]) -> VerificationPolicy:
    overrides = {
        k: frozenset(v) if isinstance(v, list) else v for k, v in inputs.get("policy", {}).items()
    }
    return VerificationPolicy(**overrides)


def run_presentation(inputs: dict[str, Any]) -> Any:
    if "vp_token" in inputs:
        return verify_vp_token(
            inputs["vp_token"],
            query=DCQLQuery.parse(inputs["query"]),
            keys=resolver(inputs),
            audience=inputs["audience"],
            nonce=inputs["nonce"],
            now=inputs["now"],
            transaction_data=inputs["transaction_data"],
            policy=policy(inputs),
        )
    return verify_presentation(
        inputs["presentation"],
        keys=resolver(inputs),
        audience=inputs["audience"],
        nonce=inputs["nonce"],
        now=inputs["now"],
        require_key_binding=inputs["require_key_binding"],
        policy=policy(inputs),
    )


@pytest.mark.parametrize("case", load("sdjwt", "negative") + load("dcql", "negative"))
def test_presentation_vectors(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if "error" in expected:
        with pytest.raises(AgentVPError) as info:
            run_presentation(case["input"])
        assert info.value.code == expected["error"], info.value.reason
    else:
        assert run_presentation(case["input"]) is not None


def verify_rfc9901(inputs: dict[str, Any]) -> dict[str, Any]:
    """RFC 9901 §7 (any typ): issuer signature, disclosures, KB-JWT when bound."""
    parts = split_sd_jwt(inputs["presentation"])
    issuer = key(inputs["issuer_key"]).public_key
    jws = parse_unverified_jws(parts.issuer_jwt)
    verify_jws(jws, issuer, allowed_algs={"ES256"}, code="issuer_signature_invalid")
    rebuilt = reconstruct(jws.payload_json(), parts.disclosures)
    if inputs["require_key_binding"]:
        assert parts.kb_jwt is not None
        verify_kb_jwt(
            parts.kb_jwt,
            holder_key=public_key_from_jwk(rebuilt.claims["cnf"]["jwk"]),
            presented=parts.presented,
            sd_alg=rebuilt.sd_alg,
            audience=inputs["audience"],
            nonce=inputs["nonce"],
            now=inputs["now"],
            allowed_algs={"ES256"},
            max_age=300,
            leeway=60,
        )
    return rebuilt.claims


@pytest.mark.parametrize("case", load("sdjwt", "rfc9901_examples"))
def test_rfc9901_examples_match_reference_verifier(case: dict[str, Any]) -> None:
    inputs = case["input"]
    ours = verify_rfc9901(inputs)
    assert ours == case["expected"]["claims"]
    issuer_jwk = key(inputs["issuer_key"]).public_jwk
    bound = inputs["require_key_binding"]
    reference = SDJWTVerifier(
        inputs["presentation"],
        lambda iss, header: JWK(**issuer_jwk),
        inputs["audience"] if bound else None,
        inputs["nonce"] if bound else None,
    ).get_verified_payload()
    assert ours == reference


@pytest.mark.parametrize("case", load("sdjwt", "rfc9901_examples"))
def test_rfc9901_examples_through_the_vc_layer(case: dict[str, Any]) -> None:
    """Only the SD-JWT VC example (typ dc+sd-jwt) is a VC; the others must fail on typ."""
    inputs = case["input"]
    trusted = {case["expected"]["claims"]["iss"]: [key("rfc9901_issuer").public_jwk]}

    def run() -> Any:
        return verify_presentation(
            inputs["presentation"],
            keys=StaticKeyResolver(trusted),
            audience=inputs["audience"],
            nonce=inputs["nonce"],
            now=inputs["now"],
            require_key_binding=inputs["require_key_binding"],
        )

    if inputs["typ"] == "dc+sd-jwt":
        assert run().claims == case["expected"]["claims"]
    else:
        with pytest.raises(AgentVPError) as info:
            run()
        assert info.value.code == "issuer_typ_invalid"


@pytest.mark.parametrize("case", load("status_list", "draft_examples"))
def test_status_list_draft_examples(case: dict[str, Any]) -> None:
    inputs, expected = case["input"], case["expected"]
    decoded = decode_status_list(inputs["lst"], inputs["bits"])
    if "statuses" in expected:
        assert [decoded.get(i) for i in range(len(expected["statuses"]))] == expected["statuses"]
        return
    size, bits = expected["size"], inputs["bits"]
    raw = bytearray(size * bits // 8)
    for idx, value in expected["nonzero"].items():
        i = int(idx)
        raw[i * bits // 8] |= value << ((i % (8 // bits)) * bits)
        assert decoded.get(i) == value
    assert decoded.raw == bytes(raw)  # every other entry is 0 (VALID)


@pytest.mark.parametrize("case", load("status_list", "negative"))
def test_status_list_vectors(case: dict[str, Any]) -> None:
    inputs, expected = case["input"], case["expected"]

    def run() -> int:
        token = verify_status_list_token(
            inputs["token"],
            keys=[key(inputs["signer"]).public_key],
            expected_uri=inputs["uri"],
            now=inputs["now"],
        )
        return check_status(token.status_list, inputs["idx"])

    if "error" in expected:
        with pytest.raises(AgentVPError) as info:
            run()
        assert info.value.code == expected["error"], info.value.reason
    else:
        assert run() == expected["status"]


def run_jose(inputs: dict[str, Any]) -> Any:
    """One JOSE strictness vector (``jose_cases.py``): a JWE, a JWS or a presentation."""
    if inputs["kind"] == "jwe":
        _, plaintext = decrypt_jwe(
            inputs["token"],
            key(inputs["key"]).to_jwk(),
            expected_kid=inputs["expected_kid"],
            allowed_enc=set(inputs["allowed_enc"]),
        )
        return json.loads(plaintext)
    if inputs["kind"] == "jws":
        jws = parse_unverified_jws(inputs["token"])
        verify_jws(jws, key(inputs["key"]).public_key, allowed_algs=set(inputs["allowed_algs"]))
        return jws.payload_json()
    return run_presentation(inputs)


@pytest.mark.parametrize("case", load("jose", "negative"))
def test_jose_strictness_vectors(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if "error" not in expected:
        result = run_jose(case["input"])
        assert "plaintext" not in expected or result == expected["plaintext"]
        return
    with pytest.raises(AgentVPError) as info:
        run_jose(case["input"])
    assert info.value.code == expected["error"], info.value.reason
    assert expected.get("reason", "") in info.value.reason, info.value.reason
