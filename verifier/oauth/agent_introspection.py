"""Introspecting agent access tokens (RFC 7662): is the grant behind one still in force?

:func:`introspect_agent_token` answers ``POST /oauth/introspect`` for the tokens of
:mod:`.agent_grant`. It reports ``active: false`` for a token that does not verify, has
expired, was revoked on its own (RFC 7009), whose verification is gone, whose mandate's - or the
identity credential's the person stepped up with - status list now says revoked or suspended
(the grant watcher's mark, or checked afresh, failing closed), or whose mandate's uses are spent
by *later* actions: once the mandate's ``mandate.max_uses`` are all used, only the token of the
action that used the last one stays active (:mod:`verifier.agents.revalidation`). An active
token is answered with its claims and ``token_type`` ``DPoP``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.agents.counters import mandate_key
from verifier.agents.grants import (
    grant_identity,
    identity_revoked_mark,
    is_revoked,
    token_is_revoked,
)
from verifier.agents.revalidation import mandate_revoked, uses_spent_by_later_actions
from verifier.presentations.status import StatusChecker
from verifier.resource.access_token import AccessError, verify_access_token
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = ["introspect_agent_token"]


async def introspect_agent_token(
    token: str,
    *,
    public_jwk: Mapping[str, Any],
    issuer: str,
    store: TransactionStore,
    status: StatusChecker | None,
    now: int,
) -> dict[str, Any]:
    """RFC 7662 §2.2: the claims of an active token signed with ``public_jwk`` by ``issuer``,
    else just ``{"active": false}``."""
    inactive = {"active": False}
    try:
        claims = verify_access_token(
            token, [public_jwk], issuer=issuer, audience=None, now=now, leeway=0
        )
    except AccessError:
        return inactive
    av = await store.get(str(claims.get("verification_id")), kind=RecordKind.AGENT_VERIFICATION)
    if av is None or av.status != TxStatus.VERIFIED:
        return inactive
    agent_tx = await store.get(av.meta["agent_tx"], kind=RecordKind.PRESENTATION)
    if agent_tx is None or not agent_tx.result:
        return inactive
    mandate = agent_tx.result["credentials"]["mandate"][0]
    if await _ended(store, status, now, av, mandate, claims):
        return inactive
    return {"active": True, "token_type": "DPoP", **claims}


async def _ended(
    store: TransactionStore,
    status: StatusChecker | None,
    now: int,
    av: Transaction,
    mandate: Mapping[str, Any],
    claims: Mapping[str, Any],
) -> bool:
    """True when the grant behind a token no longer holds, or the token was revoked."""
    if await is_revoked(store, mandate_key(mandate)) or await mandate_revoked(
        mandate, status, now=now
    ):  # the grant watcher's mark, or the status list now
        return True
    if await uses_spent_by_later_actions(store, av.id, dict(mandate)):
        return True
    if await token_is_revoked(store, claims.get("jti")):
        return True
    identity = await grant_identity(store, av)
    # the person's identity credential behind the grant: the watcher's mark, or its list now
    return identity is not None and (
        await identity_revoked_mark(store, identity)
        or await mandate_revoked(identity, status, now=now)
    )
