"""Wallet side of an OpenID4VP request: verify the Request Object before trusting anything in it.

Digest §11 checks 2-16, in order: the ``client_id`` prefix is one we support (an ``origin:``
prefix is refused); the JOSE ``typ`` is ``oauth-authz-req+jwt``; the ``client_id`` inside equals
the one in the invocation URL, prefix included; signed prefixes must be signed (``x509_hash``:
the chain validates to a trusted verifier anchor and base64url(SHA-256(leaf DER)) equals the id;
``x509_san_dns``: the id is a dNSName SAN of the leaf and, unless the client is trusted, the
``response_uri`` host equals it), ``redirect_uri`` must *not* be signed and its id is the
response URI; a ``wallet_nonce`` we sent comes back; ``nonce``, ``response_mode`` and
``response_uri`` are present and ``redirect_uri`` is absent; exactly one of ``dcql_query`` and
``scope`` - or, for a SIOPv2 ``response_type=id_token`` request, neither ``dcql_query`` nor
``transaction_data`` (the wallet answers with a self-issued ID token only).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from .. import jsonutil
from ..dcql.query import DCQLQuery
from ..errors import AgentVPError, MalformedError, RequestObjectError, SignatureError
from ..jose import b64url_decode, check_alg, parse_unverified_jws
from ..x509.chain import dns_sans, parse_x5c, public_key_of, validate_chain, x509_hash
from .request import REQUEST_TYP, SUPPORTED_PREFIXES, split_client_id

__all__ = ["RequestObject", "verify_request_object", "verify_request_signature"]

RESPONSE_MODES = ("direct_post", "direct_post.jwt")


@dataclass(frozen=True)
class RequestObject:
    """A verified authorization request, as the wallet will act on it."""

    client_id: str
    prefix: str
    response_type: str
    response_mode: str
    response_uri: str
    nonce: str
    state: str | None
    dcql_query: DCQLQuery | None  # None: SIOPv2 ``response_type=id_token`` alone
    client_metadata: dict[str, Any] = field(default_factory=dict)
    transaction_data: tuple[str, ...] = ()
    wallet_nonce: str | None = None
    verifier_certificate: x509.Certificate | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def wants_id_token(self) -> bool:
        return "id_token" in self.response_type.split()

    @property
    def verifier_subject(self) -> str | None:
        cert = self.verifier_certificate
        return cert.subject.rfc4514_string() if cert is not None else None


def _unsigned_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = token.split(".")
    if len(parts) != 3 or parts[2]:
        raise RequestObjectError("request_parameter_invalid", "redirect_uri requests are unsigned")
    header = jsonutil.loads(b64url_decode(parts[0], what="request header"), what="request header")
    claims = jsonutil.loads(b64url_decode(parts[1], what="request"), what="request")
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "none":
        raise RequestObjectError("request_parameter_invalid", "malformed unsigned request object")
    return header, claims


def verify_request_signature(
    token: str,
    *,
    prefix: str,
    original: str,
    anchors: Sequence[x509.Certificate],
    now: int,
    allowed_algs: Collection[str],
) -> tuple[dict[str, Any], dict[str, Any], x509.Certificate]:
    """Checks 10-11: the signature by the ``x5c`` leaf, its chain to a trusted anchor, and the
    client id bound to that leaf by its prefix; ``(header, claims, leaf)``."""
    jws = parse_unverified_jws(token, what="request object")
    check_alg(jws.alg, allowed_algs, what="request object")
    if "x5c" not in jws.header:
        raise RequestObjectError("client_id_invalid", f"{prefix} requests carry an x5c chain")
    leaf = validate_chain(parse_x5c(jws.header["x5c"]), anchors, now=now)
    if not public_key_of(leaf).verify(jws.alg, jws.signing_input, jws.signature):
        raise SignatureError("request_signature_invalid", "request object signature is invalid")
    if prefix == "x509_hash" and x509_hash(leaf) != original:
        raise RequestObjectError(
            "client_id_invalid", "x509_hash does not match the leaf certificate"
        )
    if prefix == "x509_san_dns" and original not in dns_sans(leaf):
        raise RequestObjectError("client_id_invalid", "x509_san_dns is not a dNSName of the leaf")
    return jws.header, jws.payload_json(what="request object"), leaf


def _text(claims: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RequestObjectError("request_parameter_invalid", f"request parameter {name!r} missing")
    return value


def _response_parameters(
    claims: dict[str, Any], *, prefix: str, original: str, trusted: bool
) -> tuple[str, str, str]:
    """Checks 15-16: response mode and URI (legitimate for the client id), response type."""
    response_mode = str(_text(claims, "response_mode"))
    if response_mode not in RESPONSE_MODES:
        raise RequestObjectError("request_parameter_invalid", f"response_mode {response_mode!r}")
    if "redirect_uri" in claims:
        raise RequestObjectError("request_parameter_invalid", "redirect_uri with direct_post")
    response_uri = str(_text(claims, "response_uri"))
    try:
        parts = urlsplit(response_uri)
    except ValueError:  # e.g. "https://[x": "Invalid IPv6 URL"
        raise RequestObjectError("response_uri_invalid", "response_uri is not a URL") from None
    if parts.scheme not in ("https", "http") or parts.hostname is None:
        raise RequestObjectError("response_uri_invalid", "response_uri is not an http(s) URL")
    if prefix == "redirect_uri" and original != response_uri:
        raise RequestObjectError(
            "client_id_invalid", "redirect_uri client_id is not the response_uri"
        )
    if prefix == "x509_san_dns" and not trusted and parts.hostname != original:
        raise RequestObjectError("response_uri_invalid", "response_uri host is not the client id")
    response_type = str(_text(claims, "response_type"))
    if response_type not in ("vp_token", "vp_token id_token", "id_token"):
        raise RequestObjectError("request_parameter_invalid", f"response_type {response_type!r}")
    return response_mode, response_uri, response_type


def _query(claims: dict[str, Any], response_type: str) -> DCQLQuery | None:
    """The DCQL query; None for SIOPv2 ``id_token`` alone (which must carry none)."""
    if response_type == "id_token":
        if "dcql_query" in claims or "transaction_data" in claims:
            raise RequestObjectError(
                "request_parameter_invalid", "an id_token request carries no dcql_query"
            )
        return None
    try:
        return DCQLQuery.parse(claims.get("dcql_query"))
    except AgentVPError as exc:
        raise RequestObjectError("request_parameter_invalid", f"dcql_query: {exc.reason}") from None


def verify_request_object(
    token: str,
    *,
    url_client_id: str,
    anchors: Sequence[x509.Certificate],
    now: int,
    wallet_nonce: str | None = None,
    trusted_client_ids: Collection[str] = (),
    allowed_algs: Collection[str] = frozenset({"ES256"}),
) -> RequestObject:
    """Raise unless the Request Object may be acted on; return its parameters."""
    prefix, original = split_client_id(url_client_id)
    if prefix == "origin" or prefix not in SUPPORTED_PREFIXES:
        raise RequestObjectError(
            "client_id_prefix_unsupported", f"client_id prefix {prefix!r} is not supported"
        )
    cert = None
    if prefix == "redirect_uri":
        header, claims = _unsigned_claims(token)
    else:
        header, claims, cert = verify_request_signature(
            token,
            prefix=prefix,
            original=original,
            anchors=anchors,
            now=now,
            allowed_algs=allowed_algs,
        )
    if header.get("typ") != REQUEST_TYP:
        raise RequestObjectError("request_typ_invalid", f"request typ {header.get('typ')!r}")
    if claims.get("client_id") != url_client_id:
        raise RequestObjectError("client_id_mismatch", "client_id differs from the invocation URL")
    if isinstance(claims.get("exp"), int | float) and claims["exp"] < now - 60:
        raise RequestObjectError("request_expired", "the request object has expired")
    if wallet_nonce is not None and claims.get("wallet_nonce") != wallet_nonce:
        raise RequestObjectError("wallet_nonce_mismatch", "wallet_nonce was not echoed")
    response_mode, response_uri, response_type = _response_parameters(
        claims, prefix=prefix, original=original, trusted=url_client_id in trusted_client_ids
    )
    query = _query(claims, response_type)
    metadata = claims.get("client_metadata") or {}
    td = claims.get("transaction_data") or []
    if not isinstance(metadata, dict) or not isinstance(td, list):
        raise RequestObjectError("request_parameter_invalid", "client_metadata/transaction_data")
    if response_mode == "direct_post.jwt" and "jwks" not in metadata:
        raise MalformedError("malformed_jwk", "direct_post.jwt without an encryption key")
    return RequestObject(
        client_id=url_client_id,
        prefix=prefix,
        response_type=response_type,
        response_mode=response_mode,
        response_uri=response_uri,
        nonce=str(_text(claims, "nonce")),
        state=_text(claims, "state", required=False),
        dcql_query=query,
        client_metadata=metadata,
        transaction_data=tuple(td),
        wallet_nonce=claims.get("wallet_nonce"),
        verifier_certificate=cert,
        claims=claims,
    )
