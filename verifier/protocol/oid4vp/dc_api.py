"""OpenID4VP 1.0 over the W3C Digital Credentials API (VP Appendix A; HAIP §5.2 "via DC API").

The page calls ``navigator.credentials.get({digital: {requests: [{protocol, data}]}})``; the
browser hands ``data`` and the page's origin to a wallet the person picks, and returns the
wallet's answer as a ``DigitalCredential`` (``protocol``, ``data``). This module is the verifier's
side of that exchange (the wallet's is :mod:`.dc_api_wallet`):

- :func:`build_dc_api_request`: one entry of ``requests`` (A.1-A.3). ``openid4vp-v1-unsigned``
  carries the parameters as ``data`` and no ``client_id``; ``openid4vp-v1-signed`` carries
  ``{"request": <JWS>}``, a Request Object (``typ`` ``oauth-authz-req+jwt``, ``x5c``) with
  ``client_id`` and ``expected_origins``. Only the parameters A.2 lists are sent: never
  ``state``, ``response_uri``, ``redirect_uri`` or ``request_uri``. ``response_mode`` is
  ``dc_api.jwt`` (HAIP: encrypted to a per-request key) or ``dc_api``.
- :func:`check_origin`: an origin as the browser serialises it (``scheme://host[:port]``,
  lowercase, no default port, no path), ``https`` - or ``http`` for a loopback host only (A.2:
  http "MUST NOT be used unless explicitly allowed for ... local development"). Origins are
  compared as exact strings (A.2), so a value that is not in this form could never match.
- :func:`parse_dc_api_response`: the ``data`` of the answer (A.4): ``{"response": <JWE>}`` for
  ``dc_api.jwt`` (decrypted with this transaction's key only, ``kid`` included), the response
  parameters for ``dc_api`` (``vp_token`` a JSON object), or ``{"error": ...}`` in either mode.
  A ``state`` is refused: the DC API has none, so a response carrying one was made for another
  (redirect-based) request.
- :func:`origin_audience`: ``origin:<origin>``, the audience every KB-JWT of a DC API response
  must name, for signed requests too (A.4) - checked by :func:`~..sdjwt.kb_jwt.verify_kb_jwt`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .. import jsonutil
from ..errors import DCAPIError
from ..jose import SigningKey, decrypt_jwe
from ..sdjwt.kb_jwt import ORIGIN_AUDIENCE_PREFIX
from .request import REQUEST_TYP, STATIC_AUDIENCE
from .response import AuthorizationResponse, response_from_params

__all__ = [
    "PROTOCOLS",
    "PROTOCOL_MULTISIGNED",
    "PROTOCOL_SIGNED",
    "PROTOCOL_UNSIGNED",
    "RESPONSE_MODES",
    "build_dc_api_request",
    "check_origin",
    "dc_api_request_claims",
    "origin_audience",
    "parse_dc_api_response",
]

PROTOCOL_UNSIGNED = "openid4vp-v1-unsigned"
PROTOCOL_SIGNED = "openid4vp-v1-signed"
PROTOCOL_MULTISIGNED = "openid4vp-v1-multisigned"  # understood by wallets; we never send it
PROTOCOLS = (PROTOCOL_UNSIGNED, PROTOCOL_SIGNED, PROTOCOL_MULTISIGNED)
RESPONSE_MODES = ("dc_api.jwt", "dc_api")
MAX_ORIGIN_LENGTH = 512
_DEFAULT_PORTS = {"https": 443, "http": 80}
_ERROR_MEMBERS = frozenset({"error", "error_description"})


def origin_audience(origin: str) -> str:
    """``origin:<origin>``: the audience of a presentation made over the DC API (VP A.4)."""
    return ORIGIN_AUDIENCE_PREFIX + origin


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_origin(value: Any, *, what: str = "origin") -> str:
    """``value`` if it is an origin a browser reports and we may bind to; raise otherwise."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ORIGIN_LENGTH:
        raise DCAPIError("dc_api_origin_invalid", f"{what} is not a non-empty string")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise DCAPIError("dc_api_origin_invalid", f"{what} {value!r} is not an origin") from None
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    canonical = f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else "")
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not host
        or not value.isascii()
        or value != canonical
        or port == _DEFAULT_PORTS[parts.scheme]
    ):
        raise DCAPIError(
            "dc_api_origin_invalid",
            f"{what} {value!r} is not a serialised origin (scheme://host[:port], lowercase)",
        )
    if parts.scheme == "http" and not _loopback(host):
        raise DCAPIError(
            "dc_api_origin_invalid", f"{what} {value!r}: http is allowed for loopback hosts only"
        )
    return value


def dc_api_request_claims(
    *,
    nonce: str,
    dcql_query: Mapping[str, Any],
    response_mode: str,
    metadata: Mapping[str, Any],
    transaction_data: Sequence[str] = (),
    client_id: str | None = None,
    expected_origins: Sequence[str] = (),
    iat: int | None = None,
    lifetime: int = 300,
) -> dict[str, Any]:
    """The request parameters (VP A.2). ``client_id`` and ``expected_origins`` only when signed
    (an unsigned request MUST omit ``client_id``); never ``state`` or any URI."""
    if response_mode not in RESPONSE_MODES:
        raise ValueError(f"response_mode {response_mode!r} is not a DC API mode")
    claims: dict[str, Any] = {
        "response_type": "vp_token",
        "response_mode": response_mode,
        "nonce": nonce,
        "dcql_query": dict(dcql_query),
        "client_metadata": dict(metadata),
    }
    if transaction_data:
        claims["transaction_data"] = list(transaction_data)
    if client_id is not None:
        if not expected_origins:
            raise ValueError("a signed DC API request needs expected_origins (VP A.2)")
        claims = {
            "aud": STATIC_AUDIENCE,
            "client_id": client_id,
            "expected_origins": list(expected_origins),
            **claims,
        }
        if iat is not None:
            claims.update(iat=iat, exp=iat + lifetime)
    return claims


def build_dc_api_request(
    claims: Mapping[str, Any],
    *,
    signing_key: SigningKey | None = None,
    x5c: Sequence[str] = (),
) -> dict[str, Any]:
    """``{"protocol", "data"}``: exactly one entry of ``digital.requests`` (VP A.1, A.3)."""
    if signing_key is None:
        return {"protocol": PROTOCOL_UNSIGNED, "data": dict(claims)}
    if "client_id" not in claims or "expected_origins" not in claims:
        raise ValueError("a signed DC API request needs client_id and expected_origins")
    token = signing_key.sign_jws({"typ": REQUEST_TYP, "x5c": list(x5c)}, dict(claims))
    return {"protocol": PROTOCOL_SIGNED, "data": {"request": token}}


def _error_response(data: Mapping[str, Any]) -> AuthorizationResponse:
    if not set(data) <= _ERROR_MEMBERS:
        raise DCAPIError("dc_api_response_malformed", "an error answer carries only 'error'")
    return response_from_params(data, encrypted=False)


def _decrypted(
    data: Mapping[str, Any],
    *,
    enc_jwk: Mapping[str, Any],
    allowed_enc: Collection[str],
    max_bytes: int,
    max_depth: int,
) -> dict[str, Any]:
    if set(data) != {"response"} or not isinstance(data["response"], str):
        raise DCAPIError(
            "dc_api_response_malformed", "dc_api.jwt answers with exactly one 'response' JWE"
        )
    kid = enc_jwk.get("kid")
    _, plaintext = decrypt_jwe(
        data["response"],
        enc_jwk,
        expected_kid=str(kid) if kid is not None else None,
        allowed_enc=allowed_enc,
        max_bytes=max_bytes,
    )
    params = jsonutil.loads(plaintext, what="JWE payload", max_depth=max_depth, max_bytes=max_bytes)
    if not isinstance(params, dict):
        raise DCAPIError("dc_api_response_malformed", "JWE payload is not a JSON object")
    return params


def parse_dc_api_response(
    data: Any,
    *,
    response_mode: str,
    enc_jwk: Mapping[str, Any] | None,
    allowed_enc: Collection[str],
    max_bytes: int,
    max_depth: int = jsonutil.DEFAULT_MAX_DEPTH,
) -> AuthorizationResponse:
    """The response parameters in a ``DigitalCredential``'s ``data`` (VP A.4); raise unless
    they are well-formed for ``response_mode`` and carry no ``state``."""
    if not isinstance(data, dict) or not data:
        raise DCAPIError("dc_api_response_malformed", "data is not a non-empty JSON object")
    if "error" in data:
        return _error_response(data)  # A.4: an error comes as {"error": ...}, even for .jwt
    if response_mode == "dc_api.jwt":
        if enc_jwk is None:
            raise ValueError("dc_api.jwt needs the transaction's decryption key")
        params = _decrypted(
            data,
            enc_jwk=enc_jwk,
            allowed_enc=allowed_enc,
            max_bytes=max_bytes,
            max_depth=max_depth,
        )
        encrypted = True
    elif "response" in data:
        raise DCAPIError("dc_api_response_malformed", "an encrypted answer to a dc_api request")
    else:
        params, encrypted = dict(data), False
    if "state" in params:
        raise DCAPIError("dc_api_state_present", "a DC API response carries no 'state' (VP A.2)")
    if "error" not in params and not isinstance(params.get("vp_token"), dict):
        raise DCAPIError("dc_api_response_malformed", "vp_token is not a JSON object")
    return response_from_params(params, encrypted=encrypted)
