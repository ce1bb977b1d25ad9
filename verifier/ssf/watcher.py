"""The grant watcher: re-check the mandate of every live grant on its interval, react once.

Live grants are items of the ``grants:watch`` queue (:mod:`verifier.agents.grants`), one per
mandate. Every instance runs :meth:`GrantWatcher.run`; a round leases at most ``batch`` due
items (so work per round is bounded and no two instances check the same mandate at once),
checks each mandate's Token Status List entry through the verifier's status checker, and:

- VALID: due again in ``interval`` seconds (until the last token of the mandate's grants has
  expired);
- INVALID or SUSPENDED: the mandate is marked revoked in the store (a compare-and-set: one
  instance wins), which turns its tokens inactive at introspection and its AuthZEN decisions to
  ``false``; the winner emits, per stream, one CAEP ``credential-change`` (``change_type``
  ``revoke``, or ``update`` when suspended; ``credential_type`` ``verifiable-credential``) and one
  ``session-revoked``, both naming the mandate as a ``jwt_id`` subject (its ``iss`` and ``jti``:
  the ``mandate_jti`` of every token issued under it);
- the list cannot be had now: tried again next interval (a revocation is never invented).

Identity credentials the grants rest on (items of ``kind`` ``identity``, :mod:`verifier.agents.
grants`) are checked the same way. When one is INVALID or SUSPENDED it is marked revoked (its
grants' tokens turn inactive, decisions about them ``false``) and each stream gets one CAEP
``credential-change`` naming the identity credential, one ``assurance-level-change``
(:func:`assurance_drop`: the level the credential established drops to ``none``) and one
``session-revoked`` per grant resting on it, naming the grant (``opaque``, the
``verification_id`` every token of the grant carries), and one per wallet login resting on it
(``opaque``, the login's ``sid``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from verifier.agents.grants import (
    WATCH_QUEUE,
    grants_of,
    last_valid_moment,
    logins_of,
    mark_revoked,
)
from verifier.agents.revalidation import check_status_again
from verifier.presentations.status import StatusChecker
from verifier.protocol import StatusError
from verifier.ssf.events import ASSURANCE_LEVEL_CHANGE, CREDENTIAL_CHANGE, SESSION_REVOKED
from verifier.ssf.transmitter import Transmitter
from verifier.store.base import QueueItem, TransactionStore

__all__ = ["GrantWatcher", "assurance_drop"]

log = logging.getLogger("agentvp.ssf")
_CHANGES = {"status_invalid": "revoke", "status_suspended": "update"}
NO_LEVEL = "none"


def assurance_drop(previous: str | None, namespace: str | None) -> dict[str, Any]:
    """CAEP 1.0 §3.4 ``assurance-level-change`` claims for an identity credential that stopped
    being valid: the level it established (``previous_level``, its
    ``verification.assurance_level``) drops to ``none``. ``namespace`` is the credential's
    ``verification.trust_framework`` (a custom namespace alias), ``agentvp`` when unknown."""
    event: dict[str, Any] = {
        "namespace": namespace or "agentvp",
        "current_level": NO_LEVEL,
        "change_direction": "decrease",
    }
    if previous is not None:
        event["previous_level"] = previous
    return event


class GrantWatcher:
    def __init__(
        self,
        store: TransactionStore,
        status: StatusChecker | None,
        transmitter: Transmitter | None,
        *,
        interval: int,
        batch: int,
        clock: Callable[[], float],
        retention: int,
    ) -> None:
        self.store = store
        self.status = status
        self.transmitter = transmitter
        self.interval = interval
        self.batch = batch
        self.clock = clock
        self.retention = retention
        self.revocations = 0

    async def _check(self, item: QueueItem, now: int) -> str | None:
        """The status error code of the mandate, None while it is valid; raises
        :class:`StatusError` for a list that cannot be used now."""
        status = item.payload.get("status")
        if self.status is None or not isinstance(status, dict):
            return None
        try:
            await check_status_again(
                self.status,
                iss=item.payload.get("iss"),
                vct=item.payload.get("vct"),
                status=status,
                now=now,
            )
        except StatusError as exc:
            if exc.code in _CHANGES:
                return exc.code
            raise
        return None

    async def run_once(self) -> int:
        now = int(self.clock())
        items = await self.store.lease(
            WATCH_QUEUE, now=now, lease_for=self.interval + 30, limit=self.batch
        )
        for item in items:
            await self._one(item, now)
        return len(items)

    async def _one(self, item: QueueItem, now: int) -> None:
        payload = item.payload
        if now >= int(payload.get("until", 0)):
            await self.store.ack(WATCH_QUEUE, item.item_id)
            key = str(payload["key"])
            until = await last_valid_moment(self.store, key, retention=self.retention)
            if until > now:  # a later grant of the same mandate still lives: keep watching
                renewed = {**payload, "until": until}
                await self.store.enqueue(
                    WATCH_QUEUE, key, renewed, due_at=now + self.interval, ttl=until - now
                )
            return
        try:
            code = await self._check(item, now)
        except StatusError as exc:
            log.warning("grant watch: status of %s unavailable: %s", item.item_id, exc.code)
            code = None
        if code is None:
            await self.store.reschedule(WATCH_QUEUE, item.item_id, due_at=now + self.interval)
            return
        ttl = max(int(payload["until"]) - now, 0) + 86400
        if await mark_revoked(self.store, str(payload["key"]), ttl=ttl):
            self.revocations += 1
        # Emitted by whoever gets here (again after a crash): each stream claims it once.
        if payload.get("kind") == "identity":
            await self._emit_identity(payload, _CHANGES[code], now)
        else:
            await self._emit(payload, _CHANGES[code], now)
        await self.store.ack(WATCH_QUEUE, item.item_id)

    async def _emit(self, payload: dict[str, Any], change: str, now: int) -> None:
        if self.transmitter is None:
            return
        subject = {"format": "jwt_id", "iss": str(payload["iss"]), "jti": str(payload["jti"])}
        reason = {"en": f"the mandate's status list entry changed ({change})"}
        await self.transmitter.emit(
            CREDENTIAL_CHANGE,
            subject,
            {
                "credential_type": "verifiable-credential",
                "change_type": change,
                "event_timestamp": now,
                "initiating_entity": "policy",
                "reason_admin": reason,
            },
            dedupe=f"credential-change:{payload['key']}",
        )
        await self.transmitter.emit(
            SESSION_REVOKED,
            subject,
            {"event_timestamp": now, "initiating_entity": "policy", "reason_admin": reason},
            dedupe=f"session-revoked:{payload['key']}",
        )

    async def _emit_identity(self, payload: dict[str, Any], change: str, now: int) -> None:
        if self.transmitter is None:
            return
        key = str(payload["key"])
        subject = dict(payload["subject"])
        reason = {"en": f"the identity credential's status list entry changed ({change})"}
        common = {"event_timestamp": now, "initiating_entity": "policy", "reason_admin": reason}
        await self.transmitter.emit(
            CREDENTIAL_CHANGE,
            subject,
            {"credential_type": "verifiable-credential", "change_type": change, **common},
            dedupe=f"credential-change:{key}",
        )
        level = payload.get("level")
        drop = assurance_drop(level if isinstance(level, str) else None, payload.get("namespace"))
        await self.transmitter.emit(
            ASSURANCE_LEVEL_CHANGE, subject, {**drop, **common}, dedupe=f"assurance:{key}"
        )
        for av_id in await grants_of(self.store, key):
            await self.transmitter.emit(
                SESSION_REVOKED,
                {"format": "opaque", "id": av_id},
                common,
                dedupe=f"session-revoked:grant:{av_id}",
            )
        for sid in await logins_of(self.store, key):  # wallet logins resting on it
            await self.transmitter.emit(
                SESSION_REVOKED,
                {"format": "opaque", "id": sid},
                common,
                dedupe=f"session-revoked:login:{sid}",
            )

    async def run(self, *, tick: float = 1.0) -> None:
        """The watch loop (one per process; leases keep instances apart)."""
        while True:
            try:
                handled = await self.run_once()
            except Exception:  # survive a store outage; retry next tick
                log.exception("grant watch failed; retrying")
                handled = 0
            if handled < self.batch:
                await asyncio.sleep(tick)
