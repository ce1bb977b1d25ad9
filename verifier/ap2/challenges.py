"""AP2 challenges: the ``{nonce, aud}`` a mandate's last hop must carry, usable once.

A challenge is a store record (kind ``ap2_challenge``): 256-bit nonce, ``aud`` = this
verifier's client_id, a lifetime. The first verification naming it consumes it - accepted or
rejected - with one compare-and-set, so two concurrent verifications on any instances see
exactly one winner; an unknown, expired or used challenge is reported, never reused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = ["Challenges"]

KIND = RecordKind.AP2_CHALLENGE


class Challenges:
    def __init__(
        self, store: TransactionStore, *, audience: str, ttl: int, clock: Callable[[], int]
    ) -> None:
        self.store = store
        self.audience = audience
        self.ttl = ttl
        self.now = clock

    async def create(self, *, origin: str | None = None) -> Transaction:
        """A new challenge; ``origin`` marks who made it (the demo page shows only its own)."""
        now = self.now()
        challenge = Transaction(
            id=secrets.token_urlsafe(32),
            request_id=f"ap2c:{secrets.token_urlsafe(16)}",
            state="",
            nonce=secrets.token_urlsafe(32),
            client_id=self.audience,
            created_at=now,
            expires_at=now + self.ttl,
            purpose="ap2_challenge",
            kind=KIND,
            meta={"origin": origin} if origin else {},
        )
        await self.store.create(challenge, retain_until=challenge.expires_at + self.ttl)
        return challenge

    async def get(self, challenge_id: str) -> Transaction | None:
        return await self.store.get(challenge_id, kind=KIND)

    async def record_outcome(self, challenge: Transaction, outcome: dict[str, object]) -> None:
        """What the verification that used the challenge decided (for whoever made it)."""
        await self.store.update_if(
            challenge.id, {"status": TxStatus.VERIFIED}, {"result": outcome}, kind=KIND
        )

    async def consume(self, challenge_id: str) -> tuple[Transaction | None, str | None]:
        """The challenge, consumed now; or None and why (unknown, expired, used)."""
        found = await self.store.get(challenge_id, kind=KIND)
        if found is None:
            return None, "challenge_unknown"
        if found.status != TxStatus.PENDING:
            return None, "challenge_used"
        if self.now() >= found.expires_at:
            return None, "challenge_expired"
        taken = await self.store.update_if(
            challenge_id, {"status": TxStatus.PENDING}, {"status": TxStatus.VERIFIED}, kind=KIND
        )
        return (taken, None) if taken is not None else (None, "challenge_used")
