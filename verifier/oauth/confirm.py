"""Mid-session confirmations: the person confirms one tool call from their wallet.

A resource server (an MCP server) that wants the person behind a wallet-login token to confirm
one call (a large checkout, say) asks agentvp for a confirmation (RP API key) with that token,
the tool's name and its arguments. agentvp introspects the token (active, a wallet-login token,
for a listed resource) and binds the confirmation to its ``sub``, ``client_id`` and ``aud`` and
to the SHA-256 of the call (canonical JSON of ``{tool, arguments}``); it opens an ordinary
cross-device presentation of the resource policy's identity (a SIOPv2 self-issued ID token at
a ``self_issued_login`` resource whose policy asks for none) and answers the URL of a page that
shows the call, the QR code and ``<a id="wallet-link" href="openid4vp://…">``. The resource
hands that URL to the MCP client as a URL-mode elicitation (MCP 2025-11-25, client/elicitation:
``URLElicitationRequiredError``, -32042).

When the presentation is final (the page's poll or the redemption decides, one compare-and-set)
the confirmation is ``verified`` only when the identity meets the policy's identity rules **and**
the holder key is the person's: the pairwise ``sub`` of (issuer, client, holder-key thumbprint)
must be the token's ``sub`` - somebody else who opens the URL and presents their own identity
does not confirm it (``confirmation_wrong_person``; the elicitation spec's phishing case).

The resource then redeems it with the same person's token and the same call: single use (a
second redemption is ``confirmation_used``), before ``expires_at`` (``confirmation_expired``;
the lifetime the resource asked for, at most the presentation's), for the same ``sub``/
``client_id``/``aud`` and call (``confirmation_mismatch``). A pending confirmation answers
``confirmation_pending``; a declined or failed presentation ``confirmation_rejected``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.errors import ServiceError
from verifier.oauth.agent_grant import OAuthError
from verifier.oauth.code_grant import CodeGrants
from verifier.oauth.login import WalletLogin, pairwise_sub
from verifier.policy.identity import evaluate_identity
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["ConfirmPage", "Confirmations", "call_digest"]

log = logging.getLogger("agentvp.oauth")
KIND = RecordKind.OAUTH_CONFIRM
PURPOSE = "oauth_confirm"
MAX_LIFETIME = 600
MAX_TOOL = 128
MAX_MESSAGE = 300


@dataclass(frozen=True)
class ConfirmPage:
    """What the confirmation page shows."""

    confirmation_id: str
    client_name: str
    resource: str
    tool: str
    arguments: dict[str, Any]
    message: str
    wallet_link: str
    expires_at: int


def call_digest(tool: str, arguments: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the canonical JSON of ``{"arguments": …, "tool": …}``."""
    text = json.dumps(
        {"tool": tool, "arguments": arguments},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _refuse(status: int, error: str, description: str) -> OAuthError:
    return OAuthError(status, error, description)


class Confirmations:
    def __init__(self, login: WalletLogin, grants: CodeGrants, *, lifetime: int) -> None:
        self.login = login
        self.grants = grants
        self.presentations = login.presentations
        self.store = login.store
        self.lifetime = lifetime

    async def _claims(self, token: str) -> dict[str, Any]:
        answer = await self.grants.introspect(token)
        if answer is None or not answer.get("active"):
            raise _refuse(400, "invalid_token", "not an active wallet-login token")
        if answer.get("aud") not in self.login.resources:
            raise _refuse(400, "invalid_token", "the token's audience is not a listed resource")
        return answer

    @staticmethod
    def _call(body: Mapping[str, Any]) -> tuple[str, dict[str, Any], str]:
        """The call's tool, arguments and :func:`call_digest` - checked before anything is
        created: a number the JSON text overflows to infinity (``1e999``) has no canonical
        form, so it is refused here rather than failing the digest later."""
        tool, arguments = body.get("tool"), body.get("arguments", {})
        if not isinstance(tool, str) or not 0 < len(tool) <= MAX_TOOL:
            raise _refuse(400, "invalid_request", f"tool must be a string of 1-{MAX_TOOL} chars")
        if not isinstance(arguments, dict):
            raise _refuse(400, "invalid_request", "arguments must be a JSON object")
        try:
            digest = call_digest(tool, arguments)
        except ValueError:
            raise _refuse(400, "invalid_request", "arguments hold a number out of range") from None
        return tool, arguments, digest

    # -------------------------------------------------------------- start

    async def start(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``{confirmation_id, url, expires_at}`` for ``{token, tool, arguments, message?,
        lifetime?}``."""
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise _refuse(400, "invalid_request", "token is required")
        tool, arguments, digest = self._call(body)
        message = body.get("message", "")
        if not isinstance(message, str) or len(message) > MAX_MESSAGE:
            raise _refuse(400, "invalid_request", f"message must be at most {MAX_MESSAGE} chars")
        lifetime = body.get("lifetime", self.lifetime)
        if type(lifetime) is not int or not 1 <= lifetime <= MAX_LIFETIME:
            raise _refuse(400, "invalid_request", f"lifetime must be 1-{MAX_LIFETIME} seconds")
        claims = await self._claims(token)
        resource = str(claims["aud"])
        client_id = str(claims.get("client_id", ""))
        try:
            spec = self.login.presentation(resource, [])
        except ValueError as exc:
            raise _refuse(400, "invalid_target", str(exc)) from None
        # the client first: a refusal here (an expired record, an unreachable metadata
        # document) must not leave a presentation behind
        client = await self.login.clients.get(client_id) if client_id else None
        try:
            tx = await self.presentations.create(spec, purpose=PURPOSE)
        except ServiceError as exc:
            raise _refuse(503, "temporarily_unavailable", exc.description) from None
        now = self.presentations.now()
        record = Transaction(
            id=secrets.token_urlsafe(32),
            request_id=f"cf:{secrets.token_urlsafe(16)}",
            state="",
            nonce="",
            client_id=client_id,
            created_at=now,
            expires_at=min(now + lifetime, tx.expires_at),
            kind=KIND,
            parent_id=tx.id,
            meta={
                "sub": claims.get("sub"),
                "resource": resource,
                "client_name": (client.client_name if client else None) or client_id,
                "tool": tool,
                "arguments": arguments,
                "digest": digest,
                "message": message,
            },
        )
        retention = self.presentations.config.retention
        await self.store.create(record, retain_until=record.expires_at + retention)
        base = self.login.issuer
        return {
            "confirmation_id": record.id,
            "url": f"{base}/oauth/confirm/{record.id}",
            "expires_at": record.expires_at,
        }

    async def page(self, confirmation_id: str) -> ConfirmPage:
        record = await self._record(confirmation_id)
        tx = await self.presentations.get(str(record.parent_id))
        meta = record.meta
        return ConfirmPage(
            confirmation_id=record.id,
            client_name=str(meta["client_name"]),
            resource=str(meta["resource"]),
            tool=str(meta["tool"]),
            arguments=dict(meta["arguments"]),
            message=str(meta["message"]),
            wallet_link=self.presentations.authorization_request_uri(tx),
            expires_at=record.expires_at,
        )

    # -------------------------------------------------------------- outcome

    async def _record(self, confirmation_id: str) -> Transaction:
        record = await self.store.get(confirmation_id, kind=KIND) if confirmation_id else None
        if record is None:
            raise ServiceError(404, "not_found", "no such confirmation")
        return record

    async def status(self, confirmation_id: str) -> dict[str, Any]:
        """``{status: pending|verified|rejected|expired, reason?, redeemed?}`` (decided when
        final; a redeemed confirmation stays ``verified`` with ``redeemed: true``)."""
        record = await self._decide(await self._record(confirmation_id))
        if record.meta.get("redeemed_at"):  # spent: it was confirmed
            return {"status": str(TxStatus.VERIFIED), "redeemed": True}
        answer: dict[str, Any] = {"status": str(record.status)}
        if record.meta.get("reason"):
            answer["reason"] = record.meta["reason"]
        return answer

    async def _decide(self, record: Transaction) -> Transaction:
        """Move a pending confirmation on once its presentation is final or it expired."""
        if record.status != TxStatus.PENDING:
            return record
        now = self.presentations.now()
        tx = await self.presentations.get(str(record.parent_id))
        if now >= record.expires_at:
            status, reason = TxStatus.EXPIRED, "confirmation_expired"
        elif not tx.final:
            return record
        else:
            status, reason = self._outcome(record, tx, now)
        changes = {"status": status, "meta": {**record.meta, "reason": reason}}
        moved = await self.store.update_if(
            record.id, {"status": TxStatus.PENDING}, changes, kind=KIND
        )
        if moved is None:  # a concurrent request decided first
            return await self._record(record.id)
        log.info("confirmation %s: %s", status, reason or "confirmed", extra={"tx": tx.id})
        return moved

    def _outcome(self, record: Transaction, tx: Transaction, now: int) -> tuple[TxStatus, str]:
        if tx.status != TxStatus.VERIFIED or not tx.result:
            return TxStatus.REJECTED, f"presentation_{(tx.error or {}).get('code', tx.status)}"
        if tx.response_type == "id_token":  # a self_issued_login resource: the key alone
            identity = {"holder_jkt": tx.result["id_token"]["jwk_thumbprint"]}
        else:
            identity = tx.result["credentials"]["identity"][0]
        reasons = [
            reason.code
            for policy in self.login.policies(str(record.meta["resource"]), [])
            if policy.identity is not None and tx.response_type != "id_token"
            for reason in evaluate_identity(identity, None, policy, now=now)
        ]
        if reasons:
            return TxStatus.REJECTED, "identity_rules_failed: " + ", ".join(reasons)
        holder = str(identity.get("holder_jkt") or "")
        person = pairwise_sub(self.login.issuer, record.client_id, holder)
        if not holder or person != record.meta.get("sub"):
            return TxStatus.REJECTED, "confirmation_wrong_person"
        return TxStatus.VERIFIED, ""

    # -------------------------------------------------------------- redeem

    async def redeem(self, confirmation_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Spend a verified confirmation for ``{token, tool, arguments}`` of the same person,
        client, resource and call; OAuthError (409/403/400) otherwise."""
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise _refuse(400, "invalid_request", "token is required")
        tool, _, digest = self._call(body)
        claims = await self._claims(token)
        try:
            record = await self._record(confirmation_id)
        except ServiceError:
            raise _refuse(404, "confirmation_unknown", "no such confirmation") from None
        meta = record.meta
        same = (
            claims.get("sub") == meta.get("sub")
            and claims.get("client_id", "") == record.client_id
            and claims.get("aud") == meta.get("resource")
        )
        if not same:
            raise _refuse(403, "confirmation_mismatch", "another person, client or resource")
        if digest != meta.get("digest"):
            raise _refuse(403, "confirmation_mismatch", "the confirmation is for another call")
        record = await self._decide(record)
        if record.status == TxStatus.PENDING:
            raise _refuse(409, "confirmation_pending", "the person has not confirmed yet")
        if record.status == TxStatus.REJECTED:
            reason = str(record.meta.get("reason"))
            code = reason if reason == "confirmation_wrong_person" else "confirmation_rejected"
            raise _refuse(409, code, reason)
        if record.status == TxStatus.EXPIRED:
            used = bool(record.meta.get("redeemed_at"))
            code = "confirmation_used" if used else "confirmation_expired"
            raise _refuse(409, code, "already redeemed" if used else "it expired")
        now = self.presentations.now()
        if now >= record.expires_at:
            raise _refuse(409, "confirmation_expired", "it expired before it was redeemed")
        spent = await self.store.update_if(
            record.id,
            {"status": TxStatus.VERIFIED},
            {"status": TxStatus.EXPIRED, "meta": {**record.meta, "redeemed_at": now}},
            kind=KIND,
        )
        if spent is None:
            raise _refuse(409, "confirmation_used", "already redeemed")
        log.info("confirmation redeemed", extra={"tx": record.parent_id})
        return {"status": "confirmed", "confirmed_at": now, "tool": tool, "sub": meta["sub"]}
