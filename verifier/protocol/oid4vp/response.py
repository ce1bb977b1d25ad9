"""OpenID4VP 1.0 authorization responses: ``direct_post`` and ``direct_post.jwt`` (VP §8.2, §8.3).

Verifier side (digest §10 checks 11-13, 16): the body must be
``application/x-www-form-urlencoded`` UTF-8 with no repeated parameter; ``direct_post`` carries
``vp_token`` (a JSON object serialised as a string) and ``state``, ``direct_post.jwt`` exactly
one ``response`` parameter: a compact JWE (``ECDH-ES`` to this transaction's key, ``kid`` of that
key, an ``enc`` we offered) whose plaintext is a JSON object with the same parameters. A wallet
that cannot encrypt may still send a plain error response. Parsing is strict JSON throughout.

Wallet side (digest §11 checks 29-32): :func:`direct_post_form` and :func:`encrypted_form`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .. import jsonutil
from ..errors import MalformedError
from ..jose import JWE_ENCS, decrypt_jwe, encrypt_jwe

__all__ = [
    "FORM_CONTENT_TYPE",
    "AuthorizationResponse",
    "direct_post_form",
    "encrypted_form",
    "parse_direct_post",
    "parse_direct_post_jwt",
    "parse_form",
    "response_from_params",
    "select_encryption_key",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_ERROR_CODE = re.compile(r"[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}")  # RFC 6749 §4.1.2.1 charset
_MAX_DESCRIPTION = 512


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """The response parameters, before any presentation is verified."""

    vp_token: Any | None = None
    state: str | None = None
    id_token: str | None = None
    error: str | None = None
    error_description: str | None = None
    encrypted: bool = False


def parse_form(body: bytes, *, max_bytes: int, max_params: int = 16) -> dict[str, str]:
    """Strict ``application/x-www-form-urlencoded``: UTF-8, bounded, no repeated names."""
    if len(body) > max_bytes:
        raise MalformedError("input_too_large", f"body is {len(body)} bytes, limit {max_bytes}")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            max_num_fields=max_params,
            errors="strict",
        )
    except UnicodeDecodeError:
        raise MalformedError("malformed_form", "form body is not valid UTF-8") from None
    except ValueError as exc:
        raise MalformedError("malformed_form", f"form body is malformed: {exc}") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise MalformedError("malformed_form", f"form parameter {name!r} repeated")
        form[name] = value
    return form


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedError("malformed_response", f"{name!r} is not a string")
    return value


def response_from_params(params: Mapping[str, Any], *, encrypted: bool) -> AuthorizationResponse:
    """The response parameters of a decoded response (any mode): an OAuth ``error`` (with a
    bounded description) or a ``vp_token`` and/or an ``id_token`` (SIOPv2; which of them the
    request asked for is the verifier's check); ``state`` and ``id_token`` must be strings."""
    error = _text(params, "error")
    if error is not None:
        if not _ERROR_CODE.fullmatch(error):
            raise MalformedError("malformed_response", "'error' is not an OAuth error code")
        description = _text(params, "error_description")
        return AuthorizationResponse(
            state=_text(params, "state"),
            error=error,
            error_description=description[:_MAX_DESCRIPTION] if description else None,
            encrypted=encrypted,
        )
    vp_token = params.get("vp_token")
    if vp_token is None and params.get("id_token") is None:
        raise MalformedError("malformed_response", "response has neither vp_token nor error")
    return AuthorizationResponse(
        vp_token=vp_token,
        state=_text(params, "state"),
        id_token=_text(params, "id_token"),
        encrypted=encrypted,
    )


def parse_direct_post(
    form: Mapping[str, str], *, max_depth: int = jsonutil.DEFAULT_MAX_DEPTH
) -> AuthorizationResponse:
    """``direct_post``: ``vp_token`` is a JSON object sent as a string."""
    params: dict[str, Any] = dict(form)
    if "vp_token" in params and "error" not in params:
        params["vp_token"] = jsonutil.loads(
            params["vp_token"], what="vp_token", max_depth=max_depth
        )
    return response_from_params(params, encrypted=False)


def parse_direct_post_jwt(
    form: Mapping[str, str],
    *,
    enc_jwk: Mapping[str, Any],
    allowed_enc: Collection[str],
    max_bytes: int,
    max_depth: int = jsonutil.DEFAULT_MAX_DEPTH,
) -> AuthorizationResponse:
    """``direct_post.jwt``: decrypt ``response`` with this transaction's key only."""
    if "response" not in form:
        if "error" in form and "vp_token" not in form:
            return parse_direct_post(form)  # VP §8.3: a plain error is allowed
        raise MalformedError("malformed_jwe", "direct_post.jwt needs the 'response' parameter")
    if len(form) != 1:
        raise MalformedError("malformed_jwe", "direct_post.jwt carries only 'response'")
    _, plaintext = decrypt_jwe(
        form["response"],
        enc_jwk,
        expected_kid=str(enc_jwk.get("kid")) if enc_jwk.get("kid") is not None else None,
        allowed_enc=allowed_enc,
        max_bytes=max_bytes,
    )
    params = jsonutil.loads(plaintext, what="JWE payload", max_depth=max_depth, max_bytes=max_bytes)
    if not isinstance(params, dict):
        raise MalformedError("malformed_response", "JWE payload is not a JSON object")
    return response_from_params(params, encrypted=True)


# ---------------------------------------------------------------------------------------------
# Wallet side


def direct_post_form(params: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for ``direct_post``: objects (``vp_token``) serialised as JSON strings."""
    return {
        k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        for k, v in params.items()
        if v is not None
    }


def select_encryption_key(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Wallet check 30: a key with ``use`` absent or ``enc`` and an ``alg``; ``enc`` from
    ``encrypted_response_enc_values_supported`` (default ``A128GCM``), ``A256GCM`` preferred."""
    jwks = metadata.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for jwk in keys if isinstance(keys, list) else ():
        if isinstance(jwk, dict) and jwk.get("use", "enc") == "enc" and jwk.get("alg") == "ECDH-ES":
            offered = metadata.get("encrypted_response_enc_values_supported") or ["A128GCM"]
            usable = [e for e in ("A256GCM", "A128GCM") if e in offered and e in JWE_ENCS]
            if usable:
                return jwk, usable[0]
    raise MalformedError("malformed_jwk", "client_metadata offers no usable ECDH-ES key")


def encrypted_form(params: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for ``direct_post.jwt``: ``response`` = JWE of the parameters."""
    jwk, enc = select_encryption_key(metadata)
    plaintext = json.dumps({k: v for k, v in params.items() if v is not None}).encode()
    return {"response": encrypt_jwe(plaintext, jwk, enc=enc)}
