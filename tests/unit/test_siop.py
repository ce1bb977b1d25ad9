"""SIOPv2 -13 self-issued ID token (verifier.protocol.oid4vp.siop): round trips and one test per
check."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from verifier.protocol import (
    AgentVPError,
    AlgorithmError,
    IDTokenError,
    MalformedError,
    SignatureError,
    SigningKey,
)
from verifier.protocol.jose import b64url_encode, jwk_thumbprint, parse_unverified_jws
from verifier.protocol.oid4vp.siop import (
    JWK_THUMBPRINT_URN_PREFIX,
    SelfIssuedSubject,
    create_id_token,
    verify_id_token,
)

AUD = "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"
NONCE = "b3J0aG9nb25hbC1ub25jZS0xMjg"
NOW = 1_760_000_100
KEY = SigningKey.generate()
OTHER = SigningKey.generate()
DROP = object()


def claims(key: SigningKey = KEY, **changes: Any) -> dict[str, Any]:
    """A valid self-issued payload for ``key``; ``name=DROP`` removes a claim."""
    sub = JWK_THUMBPRINT_URN_PREFIX + key.thumbprint
    payload: dict[str, Any] = {
        "iss": sub,
        "sub": sub,
        "sub_jwk": dict(key.public_jwk),
        "aud": AUD,
        "nonce": NONCE,
        "iat": NOW,
        "exp": NOW + 600,
    }
    for name, value in changes.items():
        if value is DROP:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def signed(payload: dict[str, Any], key: SigningKey = KEY, **header: Any) -> str:
    return key.sign_jws({"typ": "JWT", **header}, payload)


def verify(token: str, **options: Any) -> SelfIssuedSubject:
    kwargs: dict[str, Any] = {"audience": AUD, "nonce": NONCE, "now": NOW, **options}
    return verify_id_token(token, **kwargs)


def expect(error: type[AgentVPError], code: str, token: str, **options: Any) -> None:
    with pytest.raises(error) as info:
        verify(token, **options)
    assert info.value.code == code


def hand_made(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(payload).encode())
    return f"{head}.{body}.{b64url_encode(signature)}"


# --------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("urn_subject", [True, False])
def test_round_trip(urn_subject: bool) -> None:
    token = create_id_token(key=KEY, audience=AUD, nonce=NONCE, iat=NOW, urn_subject=urn_subject)
    jws = parse_unverified_jws(token)
    assert jws.header == {"alg": "ES256", "typ": "JWT"}
    payload = jws.payload_json()
    expected_sub = (JWK_THUMBPRINT_URN_PREFIX if urn_subject else "") + KEY.thumbprint
    assert payload["iss"] == payload["sub"] == expected_sub
    assert payload["sub_jwk"] == {k: KEY.public_jwk[k] for k in ("kty", "crv", "x", "y")}
    assert "d" not in payload["sub_jwk"]
    assert payload["exp"] == NOW + 600

    result = verify(token, now=NOW + 30)
    assert result == SelfIssuedSubject(
        sub=expected_sub,
        thumbprint=KEY.thumbprint,
        jwk=payload["sub_jwk"],
        iat=NOW,
        exp=NOW + 600,
    )


def test_kid_of_the_key_goes_to_the_header_not_into_sub_jwk() -> None:
    key = SigningKey.generate(kid="holder-1")
    token = create_id_token(key=key, audience=AUD, nonce=NONCE, iat=NOW, lifetime=60)
    jws = parse_unverified_jws(token)
    assert jws.header["kid"] == "holder-1"
    assert "kid" not in jws.payload_json()["sub_jwk"]
    assert verify(token).exp == NOW + 60


def test_rfc9901_holder_key_thumbprint_is_the_digest_example_subject() -> None:
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
        "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
    }
    assert JWK_THUMBPRINT_URN_PREFIX + jwk_thumbprint(jwk) == (
        "urn:ietf:params:oauth:jwk-thumbprint:sha-256:aISfTcr9M_Zd09AXGAAeFxnLbFY6lBa87UN515wm5d4"
    )


def test_aud_array_containing_the_client_id() -> None:
    assert verify(signed(claims(aud=["https://other.example", AUD]))).sub == claims()["sub"]


def test_within_leeway_is_accepted() -> None:
    assert verify(signed(claims(exp=NOW - 59))).exp == NOW - 59
    assert verify(signed(claims(iat=NOW + 60))).iat == NOW + 60
    assert verify(signed(claims(iat=NOW - 600))).iat == NOW - 600


def test_create_rejects_non_positive_lifetime() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        create_id_token(key=KEY, audience=AUD, nonce=NONCE, iat=NOW, lifetime=0)


# --------------------------------------------------------------------------------------------
# one negative per check, in verification order


def test_missing_token() -> None:
    expect(IDTokenError, "id_token_missing", "")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b", "e30.e30.e30.e30", "!!.e30."])
def test_unparseable(token: str) -> None:
    with pytest.raises(MalformedError):
        verify(token)


def test_payload_not_an_object() -> None:
    token = KEY.sign_jws({"typ": "JWT"}, b"[1, 2]")
    expect(MalformedError, "malformed_jwt", token)


def test_alg_none_is_refused() -> None:
    token = hand_made({"alg": "none", "typ": "JWT"}, claims())
    expect(AlgorithmError, "alg_not_allowed", token)
    expect(AlgorithmError, "alg_not_allowed", token, allowed_algs={"none", "ES256"})


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    header = {"alg": "HS256", "typ": "JWT"}
    unsigned = hand_made(header, claims()).rsplit(".", 1)[0]
    secret = json.dumps(KEY.public_jwk).encode()
    mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    token = f"{unsigned}.{b64url_encode(mac)}"
    expect(AlgorithmError, "alg_not_allowed", token, allowed_algs={"HS256", "ES256"})


def test_alg_outside_the_allow_list() -> None:
    p384 = SigningKey.generate(crv="P-384")
    token = signed(claims(p384), p384)
    expect(AlgorithmError, "alg_not_allowed", token)
    assert verify(token, allowed_algs={"ES384"}).thumbprint == p384.thumbprint


def test_iss_differs_from_sub() -> None:
    token = signed(claims(iss="https://op.example"))
    expect(IDTokenError, "id_token_not_self_issued", token)


def test_sub_jwk_missing() -> None:
    expect(IDTokenError, "id_token_claim_missing", signed(claims(sub_jwk=DROP)))


def test_sub_jwk_with_private_members_is_refused() -> None:
    token = signed(claims(sub_jwk=KEY.to_jwk()))
    expect(MalformedError, "malformed_jwk", token)


@pytest.mark.parametrize("sub_jwk", ["a string", {"kty": "EC", "crv": "P-256", "x": "AA"}])
def test_sub_jwk_not_a_public_key(sub_jwk: Any) -> None:
    expect(MalformedError, "malformed_jwk", signed(claims(sub_jwk=sub_jwk)))


@pytest.mark.parametrize(
    "sub",
    [
        JWK_THUMBPRINT_URN_PREFIX + OTHER.thumbprint,
        OTHER.thumbprint,
        "urn:ietf:params:oauth:jwk-thumbprint:sha-384:" + KEY.thumbprint,
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ],
)
def test_sub_is_not_the_thumbprint_of_sub_jwk(sub: str) -> None:
    expect(IDTokenError, "id_token_sub_mismatch", signed(claims(iss=sub, sub=sub)))


def test_signed_by_another_key_than_sub_jwk() -> None:
    # A consistent subject for OTHER, but the signature is KEY's.
    expect(SignatureError, "id_token_signature_invalid", signed(claims(OTHER), KEY))


def test_tampered_payload() -> None:
    head, _, sig = signed(claims()).split(".")
    body = b64url_encode(json.dumps(claims(nonce="attacker")).encode())
    expect(SignatureError, "id_token_signature_invalid", f"{head}.{body}.{sig}")


@pytest.mark.parametrize("aud", ["https://other.example", ["https://other.example"], 42, {}])
def test_aud_mismatch(aud: Any) -> None:
    expect(IDTokenError, "id_token_aud_mismatch", signed(claims(aud=aud)))


def test_aud_must_include_the_prefix() -> None:
    token = signed(claims(aud="Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"))
    expect(IDTokenError, "id_token_aud_mismatch", token)


def test_nonce_mismatch() -> None:
    expect(IDTokenError, "id_token_nonce_mismatch", signed(claims(nonce=NONCE + "x")))


def test_expired() -> None:
    expect(IDTokenError, "id_token_expired", signed(claims(exp=NOW - 60)))


def test_iat_in_the_future() -> None:
    expect(IDTokenError, "id_token_iat_invalid", signed(claims(iat=NOW + 61, exp=NOW + 900)))


def test_iat_too_old() -> None:
    token = signed(claims(iat=NOW - 601, exp=NOW + 3600))
    expect(IDTokenError, "id_token_iat_invalid", token)
    assert verify(token, max_age=3600).iat == NOW - 601


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": DROP},
        {"sub": DROP},
        {"iss": 7, "sub": 7},
        {"aud": DROP},
        {"nonce": DROP},
        {"nonce": 123},
        {"exp": DROP},
        {"exp": "soon"},
        {"exp": True},
        {"iat": DROP},
        {"iat": None},
    ],
    ids=repr,
)
def test_required_claim_missing(changes: dict[str, Any]) -> None:
    expect(IDTokenError, "id_token_claim_missing", signed(claims(**changes)))


def test_overflowing_number_is_not_a_time() -> None:
    # "1e400" is valid JSON and parses as float('inf'); it must not crash int().
    body = json.dumps(claims(exp=0)).replace('"exp": 0', '"exp": 1e400').encode()
    expect(IDTokenError, "id_token_claim_missing", KEY.sign_jws({"typ": "JWT"}, body))


def test_checks_run_in_order() -> None:
    # Wrong aud, nonce and exp at once: aud is checked first.
    token = signed(claims(aud="https://other.example", nonce="x", exp=NOW - 3600))
    expect(IDTokenError, "id_token_aud_mismatch", token)
    # iss != sub and a bad signature: self-issued-ness is decided before the signature.
    expect(IDTokenError, "id_token_not_self_issued", signed(claims(OTHER, iss="x"), KEY))
