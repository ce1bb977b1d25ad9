"""OpenID4VP over the Digital Credentials API (Appendix A) in the protocol library: origins, the
request the verifier builds, the answer it parses, the wallet's checks, the KB-JWT audience;
and the ``AGENTVP_DC_API_ORIGINS`` setting. Negative cases as data in
``tests/vectors/dc_api/negative.json`` where no key is needed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from verifier.errors import ServiceError
from verifier.presentations.create import CreatePresentation
from verifier.presentations.dc_api import dc_api_meta
from verifier.protocol import AgentVPError, SigningKey, create_kb_jwt, verify_kb_jwt
from verifier.protocol.jose import decrypt_jwe, parse_unverified_jws
from verifier.protocol.oid4vp.dc_api import (
    PROTOCOL_MULTISIGNED,
    PROTOCOL_SIGNED,
    PROTOCOL_UNSIGNED,
    build_dc_api_request,
    check_origin,
    dc_api_request_claims,
    origin_audience,
    parse_dc_api_response,
)
from verifier.protocol.oid4vp.dc_api_wallet import dc_api_answer, verify_dc_api_request
from verifier.protocol.oid4vp.request import client_metadata
from verifier.protocol.x509.chain import x509_hash
from verifier.protocol.x509.devpki import DevPKI
from verifier.settings import Settings

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "dc_api" / "negative.json").read_text()
)
NOW = int(time.time())
SHOP = "https://shop.example"
QUERY = {
    "credentials": [
        {
            "id": "identity",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://agentvp.example/vct/verified_person/1"]},
            "claims": [{"path": ["given_name"]}],
        }
    ]
}
PKI = DevPKI.create(now=NOW, name="dc api unit")
KEY = SigningKey.generate()
LEAF = PKI.verifier_leaf("verifier.example", KEY, now=NOW)
CLIENT_ID = "x509_hash:" + x509_hash(LEAF)
ENC = SigningKey.generate(kid="enc-1")
ENC_PUBLIC = {**ENC.public_jwk, "use": "enc", "alg": "ECDH-ES"}


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("AGENTVP_")]:
        monkeypatch.delenv(name)
    yield


def claims(**changes: Any) -> dict[str, Any]:
    base = dc_api_request_claims(
        nonce="n-0S6_WzA2Mj",
        dcql_query=QUERY,
        response_mode="dc_api.jwt",
        metadata=client_metadata(ENC_PUBLIC),
        client_id=CLIENT_ID,
        expected_origins=[SHOP],
        iat=NOW,
    )
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], *, key: SigningKey = KEY, **header: Any) -> dict[str, Any]:
    token = key.sign_jws({"typ": "oauth-authz-req+jwt", "x5c": PKI.x5c(LEAF), **header}, payload)
    return {"protocol": PROTOCOL_SIGNED, "data": {"request": token}}


def wallet_check(request: Any, origin: str = SHOP) -> Any:
    return verify_dc_api_request(request, origin=origin, anchors=PKI.anchors, now=NOW)


# ------------------------------------------------------------------ origins


@pytest.mark.parametrize("origin", VECTORS["origins"]["valid"])
def test_serialised_origins_are_accepted(origin: str) -> None:
    assert check_origin(origin) == origin


@pytest.mark.parametrize(
    "case", VECTORS["origins"]["invalid"], ids=lambda c: str(c["value"])[:40] or "empty"
)
def test_what_no_browser_reports_as_origin_is_refused(case: dict[str, Any]) -> None:
    with pytest.raises(AgentVPError) as info:
        check_origin(case["value"])
    assert info.value.code == "dc_api_origin_invalid", case["source"]


def test_the_audience_is_the_origin_with_its_prefix() -> None:
    assert origin_audience(SHOP) == "origin:https://shop.example"


# ------------------------------------------------------------------ the verifier's request


def test_an_unsigned_request_carries_the_parameters_and_no_client_id() -> None:
    params = dc_api_request_claims(
        nonce="n", dcql_query=QUERY, response_mode="dc_api", metadata=client_metadata(None)
    )
    request = build_dc_api_request(params)
    assert request == {"protocol": PROTOCOL_UNSIGNED, "data": params}
    assert set(params) == {
        "response_type",
        "response_mode",
        "nonce",
        "dcql_query",
        "client_metadata",
    }


def test_a_signed_request_is_a_request_object_with_expected_origins() -> None:
    request = build_dc_api_request(claims(), signing_key=KEY, x5c=PKI.x5c(LEAF))
    assert request["protocol"] == PROTOCOL_SIGNED and set(request["data"]) == {"request"}
    jws = parse_unverified_jws(request["data"]["request"])
    assert jws.header["typ"] == "oauth-authz-req+jwt" and jws.header["x5c"] == PKI.x5c(LEAF)
    payload = jws.payload_json()
    assert payload["client_id"] == CLIENT_ID and payload["expected_origins"] == [SHOP]
    assert payload["exp"] == NOW + 300
    assert not {"state", "response_uri", "redirect_uri", "request_uri"} & set(payload)
    with pytest.raises(ValueError, match="expected_origins"):
        dc_api_request_claims(
            nonce="n", dcql_query=QUERY, response_mode="dc_api", metadata={}, client_id=CLIENT_ID
        )
    with pytest.raises(ValueError, match="DC API mode"):
        dc_api_request_claims(nonce="n", dcql_query=QUERY, response_mode="fragment", metadata={})


# ------------------------------------------------------------------ the wallet's checks


def test_the_wallet_accepts_a_signed_request_from_an_expected_origin() -> None:
    request = wallet_check(signed(claims()))
    assert request.client_id == CLIENT_ID and request.audience == "origin:https://shop.example"
    assert request.verifier_certificate is not None


def test_an_unsigned_request_ignores_client_id_and_expected_origins() -> None:
    data = claims(expected_origins=["https://elsewhere.example"], client_id="x509_hash:other")
    request = wallet_check({"protocol": PROTOCOL_UNSIGNED, "data": data})
    assert request.client_id is None and request.origin == SHOP


INVALID, PREFIX, PARAM = (
    "dc_api_request_invalid",
    "client_id_prefix_unsupported",
    ("request_parameter_invalid"),
)
REFUSALS: dict[str, tuple[Any, str, str]] = {
    "origin_not_expected": (signed(claims()), "https://evil.example", "dc_api_origin_not_expected"),
    "origin_other_port": (signed(claims()), SHOP + ":8443", "dc_api_origin_not_expected"),
    "expected_origins_missing": (signed(claims(expected_origins=None)), SHOP, INVALID),
    "expected_origins_empty": (signed(claims(expected_origins=[])), SHOP, INVALID),
    "expected_origins_not_strings": (signed(claims(expected_origins=[1])), SHOP, INVALID),
    "client_id_missing": (signed(claims(client_id=None)), SHOP, INVALID),
    "client_id_origin_prefix": (signed(claims(client_id="origin:" + SHOP)), SHOP, PREFIX),
    "client_id_redirect_uri": (signed(claims(client_id="redirect_uri:" + SHOP)), SHOP, PREFIX),
    "client_id_other_hash": (signed(claims(client_id="x509_hash:abc")), SHOP, "client_id_invalid"),
    "signed_by_another_key": (
        signed(claims(), key=SigningKey.generate()),
        SHOP,
        "request_signature_invalid",
    ),
    "typ_missing": (signed(claims(), typ=None), SHOP, "request_typ_invalid"),
    "expired": (signed(claims(exp=NOW - 3600)), SHOP, "request_expired"),
    "redirect_mode": (signed(claims(response_mode="direct_post.jwt")), SHOP, PARAM),
    "id_token": (signed(claims(response_type="vp_token id_token")), SHOP, PARAM),
    "nonce_missing": (signed(claims(nonce=None)), SHOP, PARAM),
    "no_encryption_key": (signed(claims(client_metadata={})), SHOP, "malformed_jwk"),
    "signed_data_extra": (
        {"protocol": PROTOCOL_SIGNED, "data": {"request": "a.b.c", "nonce": "n"}},
        SHOP,
        INVALID,
    ),
    "unsigned_with_request": (
        {"protocol": PROTOCOL_UNSIGNED, "data": {"request": "a.b.c"}},
        SHOP,
        INVALID,
    ),
    "multisigned": ({"protocol": PROTOCOL_MULTISIGNED, "data": {"payload": "x"}}, SHOP, INVALID),
    "pre_final_protocol": ({"protocol": "openid4vp", "data": claims()}, SHOP, INVALID),
    "data_not_object": ({"protocol": PROTOCOL_UNSIGNED, "data": "x"}, SHOP, INVALID),
    "origin_not_an_origin": (signed(claims()), SHOP + "/", "dc_api_origin_invalid"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_the_wallet_refuses(name: str) -> None:
    request, origin, code = REFUSALS[name]
    with pytest.raises(AgentVPError) as info:
        wallet_check(request, origin)
    assert info.value.code == code, info.value.reason
    assert info.value.error == "invalid_request"  # VP A.2: SHOULD be invalid_request


# ------------------------------------------------------------------ the answer


@pytest.mark.parametrize("case", VECTORS["responses"], ids=lambda c: c["name"])
def test_malformed_plain_answers_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(AgentVPError) as info:
        parse_dc_api_response(case["data"], response_mode="dc_api", enc_jwk=None,
                              allowed_enc=("A128GCM",), max_bytes=65536)  # fmt: skip
    assert info.value.code == case["error"], case["source"]


def _encrypted_answer(params: dict[str, Any]) -> Any:
    request = wallet_check(signed(claims()))
    return dc_api_answer(request, params)


def test_an_encrypted_answer_round_trips() -> None:
    answer = _encrypted_answer({"vp_token": {"identity": ["a~"]}})
    assert answer["protocol"] == PROTOCOL_SIGNED and set(answer["data"]) == {"response"}
    header, _ = decrypt_jwe(
        answer["data"]["response"],
        ENC.to_jwk(),
        expected_kid="enc-1",
        allowed_enc=("A256GCM",),
        max_bytes=65536,
    )
    assert header["kid"] == "enc-1" and header["enc"] == "A256GCM"  # HAIP: A256GCM preferred
    parsed = parse_dc_api_response(answer["data"], response_mode="dc_api.jwt",
                                   enc_jwk=ENC.to_jwk(), allowed_enc=("A128GCM", "A256GCM"),
                                   max_bytes=65536)  # fmt: skip
    assert parsed.encrypted and parsed.vp_token == {"identity": ["a~"]} and parsed.state is None


MALFORMED = "dc_api_response_malformed"
ENCRYPTED_REFUSALS: dict[str, tuple[Any, str]] = {
    "state_inside": (
        _encrypted_answer({"vp_token": {"identity": ["a~"]}, "state": "s"})["data"],
        "dc_api_state_present",
    ),
    "plain_answer": ({"vp_token": {"identity": ["a~"]}}, MALFORMED),
    "extra_member": ({**_encrypted_answer({"vp_token": {}})["data"], "vp_token": {}}, MALFORMED),
    "response_not_a_string": ({"response": 5}, MALFORMED),
    "vp_token_not_an_object": (_encrypted_answer({"vp_token": "x"})["data"], MALFORMED),
    "not_a_jwe": ({"response": "not.a.jwe"}, "malformed_jwe"),
}


@pytest.mark.parametrize("name", list(ENCRYPTED_REFUSALS))
def test_malformed_encrypted_answers_are_refused(name: str) -> None:
    data, code = ENCRYPTED_REFUSALS[name]
    with pytest.raises(AgentVPError) as info:
        parse_dc_api_response(data, response_mode="dc_api.jwt", enc_jwk=ENC.to_jwk(),
                              allowed_enc=("A128GCM", "A256GCM"), max_bytes=65536)  # fmt: skip
    assert info.value.code == code


def test_an_error_answer_is_plain_in_both_modes() -> None:
    for mode in ("dc_api", "dc_api.jwt"):
        parsed = parse_dc_api_response({"error": "access_denied"}, response_mode=mode,
                                       enc_jwk=ENC.to_jwk(), allowed_enc=("A128GCM",),
                                       max_bytes=65536)  # fmt: skip
        assert parsed.error == "access_denied" and parsed.vp_token is None


# ------------------------------------------------------------------ the KB-JWT audience


@pytest.mark.parametrize(
    ("aud", "audience", "code"),
    [
        (CLIENT_ID, origin_audience(SHOP), "kb_aud_not_origin"),  # A.4: never the client_id
        (SHOP, origin_audience(SHOP), "kb_aud_not_origin"),  # the origin without its prefix
        ("origin:https://evil.example", origin_audience(SHOP), "kb_aud_mismatch"),
        (origin_audience(SHOP), CLIENT_ID, "kb_aud_mismatch"),  # a DC API answer over redirects
    ],
)
def test_the_kb_jwt_audience_over_the_dc_api(aud: str, audience: str, code: str) -> None:
    holder = SigningKey.generate()
    presented = "eyJ.eyJ.sig~"
    token = create_kb_jwt(presented=presented, holder_key=holder, audience=aud, nonce="n", iat=NOW)
    with pytest.raises(AgentVPError) as info:
        verify_kb_jwt(token, holder_key=holder.public_key, presented=presented, sd_alg="sha-256",
                      audience=audience, nonce="n", now=NOW, allowed_algs={"ES256"}, max_age=300,
                      leeway=60)  # fmt: skip
    assert info.value.code == code


# ------------------------------------------------------------------ AGENTVP_DC_API_ORIGINS


def test_the_allow_list_defaults_to_the_origin_of_the_public_url(tmp_path: Path) -> None:
    def origins(**values: Any) -> list[str]:
        return Settings(data_dir=tmp_path, **values).dc_api_origin_list

    assert origins(public_url="http://localhost:8080") == ["http://localhost:8080"]
    assert origins(public_url="https://v.example/base/") == ["https://v.example"]
    assert origins(public_url="http://v.internal") == []  # http, not loopback: nobody
    assert origins(dc_api_origins=f" {SHOP} ,http://127.0.0.1:5173") == [
        SHOP,
        "http://127.0.0.1:5173",
    ]


@pytest.mark.parametrize("value", ["https://shop.example/", "http://shop.example", "shop.example"])
def test_an_invalid_allow_list_entry_stops_the_verifier(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="dc_api_origins entry"):
        Settings(data_dir=tmp_path, dc_api_origins=f"{SHOP},{value}")


# ------------------------------------------------------------------ creating a DC API request


def test_signed_by_default_only_when_the_verifier_can_sign() -> None:
    spec = CreatePresentation(profile="identity", flow="dc_api")
    assert dc_api_meta(spec, allowed=[SHOP], can_sign=True) == {
        "signed": True,
        "expected_origins": [SHOP],
    }
    assert dc_api_meta(spec, allowed=[SHOP], can_sign=False)["signed"] is False  # redirect_uri
    with pytest.raises(ServiceError, match="signing client_id prefix"):
        dc_api_meta(spec.model_copy(update={"signed": True}), allowed=[SHOP], can_sign=False)
    with pytest.raises(ServiceError, match="no origin may use"):
        dc_api_meta(spec, allowed=[], can_sign=True)  # public_url not an origin, no setting
