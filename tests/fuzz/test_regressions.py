"""Focused properties for the bugs the fuzzers found, each with its original input as an
``@example`` (inputs that made a parser raise something other than a typed error)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from verifier.ops.fetch import FetchError, SafeFetcher
from verifier.protocol import AgentVPError, MalformedError, TrustError, encode_transaction_data
from verifier.protocol.jose import b64url_encode, decrypt_jwe, jwk_thumbprint, public_key_from_jwk
from verifier.protocol.oauth.dpop import DPoPError, verify_proof
from verifier.protocol.oid4vp.request import (
    parse_authorization_request_uri,
    unsigned_request_object,
)
from verifier.protocol.oid4vp.vp_token import parse_transaction_data
from verifier.protocol.oid4vp.wallet_request import verify_request_object
from verifier.protocol.x509.chain import parse_x5c, validate_chain

from .targets import ANCHORS, DPOP, ENC_JWK, ENCS, NOW, C, b64json_decode, key, run_sdjwt_vc

FUZZ = settings.get_profile("agentvp-fuzz")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _b64(value: Any) -> str:
    return b64url_encode(json.dumps(value).encode())


@FUZZ
@given(kty=JSON.filter(lambda v: not isinstance(v, str)))
@example(kty=["EC"])  # TypeError: unhashable type: 'list' (DPoP header jwk, SIOP sub_jwk)
@example(kty={"kty": "EC"})
def test_jwk_with_a_kty_of_any_json_type_is_refused(kty: Any) -> None:
    jwk = {**key("attacker").public_jwk, "kty": kty}
    with pytest.raises(MalformedError):
        public_key_from_jwk(jwk)
    with pytest.raises(MalformedError):
        jwk_thumbprint(jwk)


@FUZZ
@given(alg=JSON, enc=JSON)
@example(alg=["ECDH-ES"], enc="A128GCM")  # TypeError: unhashable type: 'list'
@example(alg="ECDH-ES", enc={"A128GCM": 1})  # TypeError: unhashable type: 'dict'
def test_jwe_with_alg_and_enc_of_any_json_type_is_refused(alg: Any, enc: Any) -> None:
    token = f"{_b64({'alg': alg, 'enc': enc, 'kid': 'enc-1'})}..aXY.Y3Q.dGFn"
    with pytest.raises(AgentVPError):
        decrypt_jwe(token, ENC_JWK, expected_kid="enc-1", allowed_enc=ENCS)


@FUZZ
@given(algs=st.lists(JSON, max_size=3))
@example(algs=[{}])  # TypeError: unhashable type: 'dict' (a 500 on POST /v1/presentations)
@example(algs=[["sha-256"]])
def test_transaction_data_hashes_alg_of_any_json_type(algs: list[Any]) -> None:
    entry = {"type": "t", "credential_ids": ["q"], "transaction_data_hashes_alg": algs}
    try:
        td = parse_transaction_data(encode_transaction_data(entry))
    except AgentVPError:
        return
    assert td.hashes_alg is not None and set(td.hashes_alg) <= {"sha-256", "sha-384", "sha-512"}


LEAF = base64.b64decode(b64json_decode(C["requests"][0]["token"].split(".")[0])["x5c"][0])
INTERMEDIATE = b64json_decode(C["requests"][0]["token"].split(".")[0])["x5c"][1]


@FUZZ
@given(pos=st.integers(0, len(LEAF) - 1), value=st.integers(0, 255))
@example(pos=12, value=1)  # x509.InvalidVersion from load_der_x509_certificate
@example(pos=58, value=0)  # ValueError decoding the issuer name (lazily, in validate_chain)
@example(pos=126, value=0)  # ValueError decoding the subject name
@example(pos=252, value=35)  # x509.DuplicateExtension from cert.extensions
@pytest.mark.filterwarnings(
    "ignore:Parsed a serial number:cryptography.utils.CryptographyDeprecationWarning"
)
def test_x5c_with_a_corrupted_certificate(pos: int, value: int) -> None:
    der = bytearray(LEAF)
    der[pos] = value
    x5c = [base64.b64encode(der).decode(), INTERMEDIATE]
    with contextlib.suppress(TrustError):
        validate_chain(parse_x5c(x5c), ANCHORS, now=NOW)


@FUZZ
@given(url=st.text(max_size=40).map(lambda s: f"https://{s}"))
@example(url="https://[x/")  # ValueError: Invalid IPv6 URL, at each place below
def test_urls_that_are_no_urls_are_refused(url: str) -> None:
    # wallet: the invocation URL
    with contextlib.suppress(AgentVPError):
        parse_authorization_request_uri(f"openid4vp://{url[8:]}?client_id=x")
    # wallet: an unsigned (redirect_uri) request object's response_uri
    claims = {"client_id": f"redirect_uri:{url}", "response_mode": "direct_post"}
    claims |= {"response_uri": url, "response_type": "vp_token", "nonce": "n"}
    with pytest.raises(AgentVPError):
        verify_request_object(
            unsigned_request_object(claims), url_client_id=claims["client_id"], anchors=[], now=0
        )
    # authorization server: a DPoP proof's htu, signed by the proof's own key
    agent = key("agent")
    header = {"typ": "dpop+jwt", "jwk": agent.public_jwk}
    proof = agent.sign_jws(header, {"jti": "j", "htm": "POST", "htu": url, "iat": NOW})
    with pytest.raises(DPoPError):
        verify_proof(proof, htm="POST", htu=DPOP["htu"], now=NOW)


@FUZZ
@given(iss=st.text(max_size=20).map(lambda s: f"https://{s}"))
@example(iss="https://[x")  # ValueError in TrustResolver (x5c issuer name vs. leaf SANs)
def test_x5c_credential_with_an_iss_that_is_no_url(iss: str) -> None:
    """The x5c chain is checked before the signature, so the unsigned ``iss`` reaches it."""
    issuer_jwt, _, rest = C["issuances"]["x5c_identity"].partition("~")
    head, payload, signature = issuer_jwt.split(".")
    claims = b64json_decode(payload) | {"iss": iss}
    with pytest.raises(AgentVPError):
        run_sdjwt_vc(f"{head}.{_b64(claims)}.{signature}~{rest}")


@pytest.mark.parametrize("url", ["https://a.example:99999/", "https://a.example:x/", "https://[x/"])
def test_fetcher_refuses_urls_it_cannot_parse(url: str) -> None:
    """A callback or status list URL with a bad port or host is refused, never a ValueError
    (which stalled the webhook loop)."""

    async def check() -> None:
        fetcher = SafeFetcher()
        try:
            with pytest.raises(FetchError):
                await fetcher.check_target(url)
        finally:
            await fetcher.close()

    asyncio.run(check())
