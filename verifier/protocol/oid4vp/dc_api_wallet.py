"""Wallet side of OpenID4VP over the Digital Credentials API (VP Appendix A).

:func:`verify_dc_api_request` takes one entry of ``digital.requests`` (``{protocol, data}``) and
the origin the platform reports, and raises unless the wallet may act on it:

- ``openid4vp-v1-unsigned``: the parameters are ``data``; a ``client_id`` or ``expected_origins``
  in it is ignored (A.2) - the verifier is the origin.
- ``openid4vp-v1-signed``: ``data`` is ``{"request": <JWS>}``; the Request Object is verified as
  for redirects (``typ``, signature by the ``x5c`` leaf, chain to a trusted verifier anchor,
  ``x509_hash``/``x509_san_dns`` bound to the leaf; never ``redirect_uri``, never ``origin:``),
  must carry ``client_id`` and a non-empty ``expected_origins``, and the origin must be one of
  them by exact string comparison (A.2; else ``invalid_request``).
- ``openid4vp-v1-multisigned`` (JWS JSON serialisation) is not supported by this wallet.

Then, for both: ``response_type`` ``vp_token``, ``response_mode`` ``dc_api`` or ``dc_api.jwt``
(the latter with an encryption key in ``client_metadata``), a ``nonce``, a DCQL query.

:func:`dc_api_answer` is what the wallet returns through the platform: ``{protocol, data}`` with
``data`` = ``{"response": <JWE>}`` (``dc_api.jwt``) or the parameters themselves (``dc_api``).
Every KB-JWT in it names :attr:`DCAPIRequest.audience` = ``origin:<origin>`` (A.4).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from ..dcql.query import DCQLQuery
from ..errors import AgentVPError, DCAPIError, MalformedError, RequestObjectError
from ..jose import encrypt_jwe, parse_unverified_jws
from .dc_api import (
    PROTOCOL_MULTISIGNED,
    PROTOCOL_SIGNED,
    PROTOCOL_UNSIGNED,
    RESPONSE_MODES,
    check_origin,
    origin_audience,
)
from .request import REQUEST_TYP, split_client_id
from .response import select_encryption_key
from .wallet_request import verify_request_signature

__all__ = ["DCAPIRequest", "dc_api_answer", "verify_dc_api_request"]

SIGNED_PREFIXES = ("x509_hash", "x509_san_dns")


@dataclass(frozen=True)
class DCAPIRequest:
    """A verified DC API request, as the wallet will act on it."""

    protocol: str
    origin: str
    client_id: str | None  # signed requests only
    response_mode: str
    nonce: str
    dcql_query: DCQLQuery
    client_metadata: dict[str, Any] = field(default_factory=dict)
    transaction_data: tuple[str, ...] = ()
    verifier_certificate: x509.Certificate | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def audience(self) -> str:
        """``origin:<origin>``: the KB-JWT ``aud`` over the DC API, signed or not (A.4)."""
        return origin_audience(self.origin)

    @property
    def verifier_subject(self) -> str | None:
        cert = self.verifier_certificate
        return cert.subject.rfc4514_string() if cert is not None else None


def _signed_claims(
    data: Mapping[str, Any],
    *,
    origin: str,
    anchors: Sequence[x509.Certificate],
    now: int,
    allowed_algs: Collection[str],
) -> tuple[dict[str, Any], x509.Certificate]:
    token = data.get("request")
    if set(data) != {"request"} or not isinstance(token, str):
        raise DCAPIError("dc_api_request_invalid", "a signed request is {'request': <JWS>}")
    header, claims, leaf = _verify(token, anchors=anchors, now=now, allowed_algs=allowed_algs)
    if header.get("typ") != REQUEST_TYP:
        raise RequestObjectError("request_typ_invalid", f"request typ {header.get('typ')!r}")
    if isinstance(claims.get("exp"), int | float) and claims["exp"] < now - 60:
        raise RequestObjectError("request_expired", "the request object has expired")
    expected = claims.get("expected_origins")
    if (
        not isinstance(expected, list)
        or not expected
        or not all(isinstance(o, str) for o in expected)
    ):
        raise DCAPIError("dc_api_request_invalid", "expected_origins is not a non-empty array")
    if origin not in expected:  # A.2: simple string comparison, no normalisation
        raise DCAPIError(
            "dc_api_origin_not_expected", f"origin {origin!r} is not in expected_origins"
        )
    return claims, leaf


def _verify(
    token: str, *, anchors: Sequence[x509.Certificate], now: int, allowed_algs: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any], x509.Certificate]:
    """The signature, under the prefix the payload's ``client_id`` names (checked after)."""
    peek = parse_unverified_jws(token, what="request object").payload_json(what="request object")
    client_id = peek.get("client_id")  # only picks the prefix rules; verified right below
    if not isinstance(client_id, str):
        raise DCAPIError("dc_api_request_invalid", "a signed request needs a client_id")
    prefix, original = split_client_id(client_id)
    if prefix not in SIGNED_PREFIXES:
        raise RequestObjectError(
            "client_id_prefix_unsupported", f"client_id prefix {prefix!r} cannot sign"
        )
    return verify_request_signature(
        token,
        prefix=str(prefix),
        original=original,
        anchors=anchors,
        now=now,
        allowed_algs=allowed_algs,
    )


def _common(claims: Mapping[str, Any]) -> tuple[str, str, DCQLQuery, dict[str, Any], list[Any]]:
    if claims.get("response_type") != "vp_token":
        raise RequestObjectError("request_parameter_invalid", "response_type is not vp_token")
    mode = claims.get("response_mode")
    if mode not in RESPONSE_MODES:
        raise RequestObjectError("request_parameter_invalid", f"response_mode {mode!r}")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise RequestObjectError("request_parameter_invalid", "request parameter 'nonce' missing")
    try:
        query = DCQLQuery.parse(claims.get("dcql_query"))
    except AgentVPError as exc:
        raise RequestObjectError("request_parameter_invalid", f"dcql_query: {exc.reason}") from None
    metadata = claims.get("client_metadata") or {}
    td = claims.get("transaction_data") or []
    if not isinstance(metadata, dict) or not isinstance(td, list):
        raise RequestObjectError("request_parameter_invalid", "client_metadata/transaction_data")
    if mode == "dc_api.jwt" and "jwks" not in metadata:
        raise MalformedError("malformed_jwk", "dc_api.jwt without an encryption key")
    return str(mode), nonce, query, metadata, td


def verify_dc_api_request(
    request: Any,
    *,
    origin: str,
    anchors: Sequence[x509.Certificate],
    now: int,
    allowed_algs: Collection[str] = frozenset({"ES256"}),
) -> DCAPIRequest:
    """Raise unless the wallet may act on ``request`` coming from ``origin``."""
    check_origin(origin)
    if not isinstance(request, dict) or not isinstance(request.get("data"), dict):
        raise DCAPIError("dc_api_request_invalid", "the request is not {protocol, data: {...}}")
    protocol, data = request.get("protocol"), request["data"]
    cert = None
    client_id = None
    if protocol == PROTOCOL_UNSIGNED:
        if "request" in data:
            raise DCAPIError("dc_api_request_invalid", "an unsigned request with a 'request'")
        claims = dict(data)
    elif protocol == PROTOCOL_SIGNED:
        claims, cert = _signed_claims(
            data, origin=origin, anchors=anchors, now=now, allowed_algs=allowed_algs
        )
        client_id = str(claims["client_id"])
    elif protocol == PROTOCOL_MULTISIGNED:
        raise DCAPIError("dc_api_request_invalid", "multi-signed requests are not supported")
    else:
        raise DCAPIError("dc_api_request_invalid", f"protocol {protocol!r} is not OpenID4VP 1.0")
    mode, nonce, query, metadata, td = _common(claims)
    return DCAPIRequest(
        protocol=str(protocol),
        origin=origin,
        client_id=client_id,
        response_mode=mode,
        nonce=nonce,
        dcql_query=query,
        client_metadata=metadata,
        transaction_data=tuple(td),
        verifier_certificate=cert,
        claims=claims,
    )


def dc_api_answer(request: DCAPIRequest, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``DigitalCredential`` the platform hands back: ``{protocol, data}`` (VP A.4)."""
    values = {k: v for k, v in params.items() if v is not None}
    if request.response_mode == "dc_api.jwt" and "error" not in values:
        jwk, enc = select_encryption_key(request.client_metadata)
        data: dict[str, Any] = {"response": encrypt_jwe(json.dumps(values).encode(), jwk, enc=enc)}
    else:
        data = values
    return {"protocol": request.protocol, "data": data}
