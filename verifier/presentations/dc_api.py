"""The Digital Credentials API flow of a presentation (OpenID4VP 1.0 Appendix A, HAIP §5.2).

A ``flow: "dc_api"`` transaction has no request URI and no response URI: its request is handed
to the page (:func:`dc_api_request`, in every view of the transaction while it is pending), the
page passes it to ``navigator.credentials.get``, and the relying party posts what the browser
returned, with the page's origin, to ``POST /v1/presentations/{id}/dc-response``
(:func:`receive_dc_api_answer`). The wallet endpoints refuse such a transaction, and this one
refuses every other flow, so an answer can never cross from one channel to the other.

Rules enforced on an answer, in order (each a rejection with its own ``error.code``; the
transaction becomes final ``rejected``, as a processed ``direct_post`` response does):

1. ``dc_api_protocol_mismatch``: ``protocol`` is the one the request was issued with;
2. ``dc_api_origin_invalid`` / ``dc_api_origin_not_allowed``: the origin is a serialised origin
   (https, or http on loopback) and one of the transaction's ``expected_origins`` - the
   creator's list, itself within ``AGENTVP_DC_API_ORIGINS`` - by exact string comparison;
3. the ``data`` shape (:func:`~verifier.protocol.oid4vp.dc_api.parse_dc_api_response`):
   ``dc_api.jwt`` answers are one JWE for *this* transaction's key (``kid``, ``alg``, ``enc``
   checked; ``malformed_jwe``, ``jwe_decryption_failed``), ``dc_api`` answers carry a
   ``vp_token`` object, neither carries ``state`` (``dc_api_state_present``);
4. everything a ``direct_post`` presentation is checked for, with every KB-JWT ``aud`` equal to
   ``origin:<origin>`` - signed request or not (``kb_aud_not_origin``, ``kb_aud_mismatch``);
5. single use: the transaction moves ``pending`` → final by one compare-and-set; a second answer
   (or one for an expired or unknown transaction, or one of another flow) is refused with 400
   and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import ServiceError
from verifier.ops.logs import current_tx
from verifier.presentations.config import ServiceConfig
from verifier.presentations.create import CreatePresentation
from verifier.protocol import AgentVPError
from verifier.protocol.errors import DCAPIError
from verifier.protocol.oid4vp.dc_api import (
    PROTOCOL_SIGNED,
    PROTOCOL_UNSIGNED,
    check_origin,
    dc_api_request_claims,
    origin_audience,
    parse_dc_api_response,
)
from verifier.protocol.oid4vp.dc_api import build_dc_api_request as build_request
from verifier.protocol.oid4vp.request import client_metadata
from verifier.protocol.oid4vp.response import AuthorizationResponse
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = [
    "DCAPIAnswer",
    "build_dc_api_request",
    "dc_api_meta",
    "dc_api_request",
    "receive_dc_api_answer",
]

log = logging.getLogger("agentvp.dc_api")
ENC_VALUES = ("A128GCM", "A256GCM")


class Presentations(Protocol):
    """What this module uses of :class:`~verifier.presentations.service.PresentationService`:
    that module imports this one, so this one names them rather than import that class back."""

    @property
    def config(self) -> ServiceConfig: ...
    @property
    def store(self) -> TransactionStore: ...
    def now(self) -> int: ...
    async def get(self, tx_id: str) -> Transaction: ...
    async def decide(
        self, tx: Transaction, response: AuthorizationResponse, *, audience: str | None = None
    ) -> dict[str, Any]: ...
    async def notify(self, event: str, tx: Transaction) -> None: ...


class DCAPIAnswer(BaseModel):
    """What the browser returned (``DigitalCredential.protocol`` and ``.data``) and the origin
    of the page that called ``navigator.credentials.get``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    protocol: str = Field(max_length=64, description="`DigitalCredential.protocol`.")
    data: dict[str, Any] = Field(
        description='`DigitalCredential.data`: `{"response": "<JWE>"}` (`dc_api.jwt`), '
        '`{"vp_token": {...}}` (`dc_api`) or `{"error": "..."}`.'
    )
    origin: str = Field(
        max_length=512, description="The origin of the page, e.g. `https://shop.example`."
    )


def _bad(reason: str) -> ServiceError:
    return ServiceError(400, "invalid_request", reason)


def dc_api_meta(
    spec: CreatePresentation, *, allowed: Sequence[str], can_sign: bool
) -> dict[str, Any]:
    """``{"signed", "expected_origins"}`` for a DC API request (stored in ``meta["dc_api"]``);
    ``ServiceError`` when the body asks for what cannot be done."""
    if spec.redirect_uri is not None or spec.response_type != "vp_token":
        raise _bad("a dc_api request takes no redirect_uri and response_type vp_token only")
    if spec.response_mode is not None and not spec.response_mode.startswith("dc_api"):
        raise _bad("a dc_api request answers with response_mode dc_api.jwt or dc_api")
    signed = can_sign if spec.signed is None else spec.signed
    if signed and not can_sign:
        raise _bad("signed DC API requests need a signing client_id prefix (x509_hash)")
    origins = list(allowed) if spec.expected_origins is None else spec.expected_origins
    if not origins:
        raise _bad("no origin may use this request (expected_origins, AGENTVP_DC_API_ORIGINS)")
    for origin in origins:
        try:
            check_origin(origin, what="expected_origins entry")
        except AgentVPError as exc:
            raise _bad(exc.reason) from None
        if origin not in allowed:
            raise _bad(f"origin {origin!r} is not in AGENTVP_DC_API_ORIGINS")
    if len(set(origins)) != len(origins):
        raise _bad("expected_origins lists an origin twice")
    return {"signed": signed, "expected_origins": origins}


def dc_api_request(tx: Transaction) -> dict[str, Any]:
    """The entry for ``navigator.credentials.get({digital: {requests: [...]}})``, as built
    when the transaction was created (so every view shows the same, once-signed request)."""
    request: dict[str, Any] = tx.meta["dc_api"]["request"]
    return request


def build_dc_api_request(service: Presentations, tx: Transaction) -> dict[str, Any]:
    """Sign (or not) the request for ``tx``: valid from now until the transaction expires."""
    options = tx.meta["dc_api"]
    enc_public = None
    if tx.enc_jwk is not None:
        enc_public = {k: v for k, v in tx.enc_jwk.items() if k != "d"}
        enc_public.update(use="enc", alg="ECDH-ES")
    signed = bool(options["signed"])
    now = service.now()
    claims = dc_api_request_claims(
        nonce=tx.nonce,
        dcql_query=tx.dcql_query,
        response_mode=tx.response_mode,
        metadata=client_metadata(enc_public, enc_values=ENC_VALUES),
        transaction_data=tx.transaction_data,
        client_id=tx.client_id if signed else None,
        expected_origins=options["expected_origins"] if signed else (),
        iat=now,
        lifetime=max(tx.expires_at - now, 1),
    )
    key = service.config.signing_key if signed else None
    return build_request(claims, signing_key=key, x5c=service.config.x5c)


async def _decide(service: Presentations, tx: Transaction, answer: DCAPIAnswer) -> dict[str, Any]:
    """Rules 1-4: the changes that make the transaction final."""
    options = tx.meta["dc_api"]
    expected_protocol = PROTOCOL_SIGNED if options["signed"] else PROTOCOL_UNSIGNED
    try:
        if answer.protocol != expected_protocol:
            raise DCAPIError(
                "dc_api_protocol_mismatch",
                f"answer protocol {answer.protocol!r}, request {expected_protocol!r}",
            )
        origin = check_origin(answer.origin)
        if origin not in options["expected_origins"]:
            raise DCAPIError(
                "dc_api_origin_not_allowed", f"origin {origin!r} is not an expected origin"
            )
        response = parse_dc_api_response(
            answer.data,
            response_mode=tx.response_mode,
            enc_jwk=tx.enc_jwk,
            allowed_enc=ENC_VALUES,
            max_bytes=service.config.max_body_bytes,
            max_depth=service.config.max_json_depth,
        )
    except AgentVPError as exc:
        log.info("DC API answer rejected", extra={"tx": tx.id, "check": exc.code})
        return {"status": TxStatus.REJECTED, "error": exc.as_dict()}
    changes = await service.decide(tx, response, audience=origin_audience(origin))
    if changes.get("result") is not None:
        changes["result"]["dc_api"] = {"origin": origin, "protocol": answer.protocol}
    return changes


async def receive_dc_api_answer(
    service: Presentations, tx_id: str, answer: DCAPIAnswer
) -> Transaction:
    """Rule 5 around rules 1-4: the final transaction, or ``ServiceError`` and no change."""
    tx = await service.get(tx_id)
    if tx.flow != "dc_api":
        raise _bad(f"this is a {tx.flow} presentation: its wallet answers at its response URI")
    if tx.status == TxStatus.EXPIRED:
        raise _bad("the request has expired")
    if tx.final:
        raise _bad("this request was already answered")
    changes = await _decide(service, tx, answer)
    done = await service.store.update_if(
        tx.id, {"status": TxStatus.PENDING}, changes, kind=RecordKind.PRESENTATION
    )
    if done is None:
        raise _bad("this request was already answered")
    current_tx.set(tx.id)
    log.info("DC API answer processed", extra={"tx": tx.id, "status": done.status})
    await service.notify("final", done)
    return done
