"""What a wallet's response decides for its transaction: every check of the presentation
(:func:`verifier.protocol.verify_vp_token`), the credentials' status, the SIOPv2 ID token,
and from them the changes that make the transaction final - ``verified`` with its result,
``rejected`` with the precise failed check, or ``error`` when the wallet answered with one.

The service's steps call :func:`decide` (:meth:`PresentationService.decide
<verifier.presentations.service.PresentationService.decide>`), over the cross-device and
same-device wallet endpoints and over the DC API alike.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from verifier.presentations.config import ServiceConfig
from verifier.presentations.parsed_queries import parse_query
from verifier.presentations.results import credential_result
from verifier.presentations.status import StatusChecker
from verifier.protocol import (
    AgentVPError,
    IDTokenError,
    MalformedError,
    StatusError,
    verify_vp_token,
)
from verifier.protocol.oid4vp.response import AuthorizationResponse
from verifier.protocol.oid4vp.siop import verify_id_token
from verifier.protocol.sdjwt.vc import IssuerKeyResolver
from verifier.store.base import Transaction, TxStatus

__all__ = ["Deciding", "decide"]

log = logging.getLogger("agentvp.service")


class Deciding(Protocol):
    """What a decision reads of the service: its trust, settings, status checker and clock."""

    keys: IssuerKeyResolver
    config: ServiceConfig
    status: StatusChecker | None

    def now(self) -> int: ...


async def decide(
    service: Deciding,
    tx: Transaction,
    response: AuthorizationResponse,
    *,
    audience: str | None = None,
) -> dict[str, Any]:
    """Verify everything; the changes that make the transaction final. ``audience``: what
    every KB-JWT must name (default the client_id; ``origin:<origin>`` over the DC API)."""
    if response.error is not None:
        detail = {
            "code": response.error,
            "detail": response.error_description or "",
            "source": "wallet",
        }
        return {"status": TxStatus.ERROR, "error": detail}
    try:
        result = await _verify(service, tx, response, audience or tx.client_id)
    except AgentVPError as exc:
        log.info("presentation rejected", extra={"tx": tx.id, "check": exc.code})
        return {"status": TxStatus.REJECTED, "error": exc.as_dict()}
    return {"status": TxStatus.VERIFIED, "result": result}


async def _verify(
    service: Deciding, tx: Transaction, response: AuthorizationResponse, audience: str
) -> dict[str, Any]:
    now = service.now()
    if tx.response_type == "id_token":  # SIOPv2 alone: who holds the key, nothing more
        return {
            "credentials": {},
            "verified_at": now,
            "id_token": _id_token(tx, response, service.now()),
        }
    if response.vp_token is None:
        raise MalformedError("malformed_response", "response_type asks for a vp_token")
    keys = service.keys
    prepare = getattr(keys, "prepare", None)
    if prepare is not None:  # fetch issuer metadata before the synchronous core runs
        await prepare(response.vp_token)
    query = parse_query(tx.dcql_query)  # parsed once per query text (parsed_queries)
    verified = verify_vp_token(
        response.vp_token,
        query=query,
        keys=keys,
        audience=audience,
        nonce=tx.nonce,
        now=now,
        transaction_data=tx.transaction_data,
        policy=service.config.policy,
        max_entries=service.config.max_vp_token_entries,
    )
    checker = service.status
    credentials: dict[str, list[dict[str, Any]]] = {}
    for query_id, items in verified.credentials.items():
        credentials[query_id] = []
        for credential in items:
            status = None
            if checker is not None:
                status = await checker.check(credential, now=now)
            elif credential.status is not None:
                raise StatusError(
                    "status_list_unavailable", "credential has a status but no checker is set"
                )
            credentials[query_id].append(credential_result(credential, status))
    result: dict[str, Any] = {"credentials": credentials, "verified_at": now}
    if "id_token" in tx.response_type.split():
        result["id_token"] = _id_token(tx, response, service.now())
    return result


def _id_token(tx: Transaction, response: AuthorizationResponse, now: int) -> dict[str, str]:
    """SIOPv2 §11.1: the self-issued ID token of this request (aud, nonce, time, key)."""
    if response.id_token is None:
        raise IDTokenError("id_token_missing", "response_type asks for an id_token")
    subject = verify_id_token(response.id_token, audience=tx.client_id, nonce=tx.nonce, now=now)
    return {"sub": subject.sub, "jwk_thumbprint": subject.thumbprint}
