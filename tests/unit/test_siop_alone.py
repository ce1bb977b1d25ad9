"""SIOPv2 ``response_type=id_token`` alone: the request carries no DCQL query, the wallet side
accepts it only so, a response may hold just an ``id_token``, and the RP request model refuses
everything that would ask for a credential with it."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.errors import ServiceError
from verifier.presentations.create import CreatePresentation
from verifier.protocol.errors import MalformedError, RequestObjectError
from verifier.protocol.oid4vp.request import build_request_claims, unsigned_request_object
from verifier.protocol.oid4vp.response import response_from_params
from verifier.protocol.oid4vp.wallet_request import verify_request_object

RESPONSE_URI = "https://verifier.example/wallet/response/r1"
CLIENT_ID = f"redirect_uri:{RESPONSE_URI}"
NOW = 1_800_000_000
QUERY = {"credentials": [{"id": "identity", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]}}]}


def claims(response_type: str = "id_token", **extra: Any) -> dict[str, Any]:
    built = build_request_claims(
        client_id=CLIENT_ID,
        response_uri=RESPONSE_URI,
        nonce="n-1",
        state="s-1",
        dcql_query=QUERY,
        response_mode="direct_post",
        response_type=response_type,
    )
    return {**built, **extra}


def verify(payload: dict[str, Any]) -> Any:
    token = unsigned_request_object(payload)
    return verify_request_object(token, url_client_id=CLIENT_ID, anchors=[], now=NOW)


def test_an_id_token_request_has_no_query() -> None:
    payload = claims()
    assert "dcql_query" not in payload
    assert payload["scope"] == "openid" and payload["id_token_type"] == "subject_signed_id_token"
    request = verify(payload)
    assert request.response_type == "id_token" and request.wants_id_token
    assert request.dcql_query is None
    assert "dcql_query" in claims("vp_token id_token")


@pytest.mark.parametrize("extra", [{"dcql_query": QUERY}, {"transaction_data": ["e30"]}])
def test_an_id_token_request_asking_for_a_credential_is_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(RequestObjectError) as caught:
        verify(claims(**extra))
    assert caught.value.code == "request_parameter_invalid"


def test_a_response_may_hold_only_an_id_token() -> None:
    response = response_from_params({"id_token": "a.b.c", "state": "s"}, encrypted=False)
    assert response.vp_token is None and response.id_token == "a.b.c"
    with pytest.raises(MalformedError):
        response_from_params({"state": "s"}, encrypted=False)


def test_the_rp_request_model() -> None:
    assert CreatePresentation(response_type="id_token").resolve({}) == ({}, [])
    bad: list[dict[str, Any]] = [
        {"dcql_query": QUERY},
        {"profile": "identity"},
        {"transaction_data": ["e30"]},
        {"ap2_challenge_id": "c1"},
        {"flow": "dc_api"},
        {"flow": "same_device"},
    ]
    for extra in bad:
        with pytest.raises(ServiceError) as caught:
            CreatePresentation(response_type="id_token", **extra).resolve({})
        assert caught.value.status == 400, extra
    same_device = CreatePresentation(
        response_type="id_token", flow="same_device", redirect_uri="https://rp.example/back"
    )
    assert same_device.resolve({}) == ({}, [])
