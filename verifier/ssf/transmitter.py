"""Putting events on streams, exactly once per stream, and the poll endpoint (RFC 8936).

:meth:`Transmitter.emit` signs one SET per stream that delivers the event type, is not disabled
and has not removed the subject; a ``dedupe`` key (e.g. "credential-change of mandate X") is
claimed per stream first (:meth:`~verifier.store.base.TransactionStore.claim`), so however many
instances see the same change, each stream gets the event once. A SET then waits in the store:

- push streams: the ``ssf:push`` queue, delivered by :class:`verifier.ssf.push.SetPusher` with
  the webhooks' retries;
- poll streams: the ``ssf:poll:<stream_id>`` queue. A poll (RFC 8936 §2.4) first removes the
  acknowledged ``jti`` values (``ack``, and ``setErrs`` - the receiver's word that it will never
  take them), then leases up to ``maxEvents`` SETs (default 100): a SET not acknowledged within
  ``poll_lease`` seconds is returned again;
- paused streams: held (``ssf:held:<stream_id>``) and queued when the stream is enabled again;
  disabled streams: dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from verifier.errors import ServiceError
from verifier.protocol import SigningKey
from verifier.ssf.events import VERIFICATION, sign_set
from verifier.ssf.streams import POLL, PUSH, Streams
from verifier.store.base import Transaction, TransactionStore

__all__ = ["PUSH_QUEUE", "Transmitter"]

log = logging.getLogger("agentvp.ssf")
PUSH_QUEUE = "ssf:push"
MAX_EVENTS = 100


def poll_queue(stream_id: str) -> str:
    return f"ssf:poll:{stream_id}"


class Transmitter:
    def __init__(
        self,
        store: TransactionStore,
        streams: Streams,
        *,
        key: SigningKey,
        kid: str,
        issuer: str,
        clock: Callable[[], float],
        retention: int,
        poll_lease: int = 30,
    ) -> None:
        self.store = store
        self.streams = streams
        self.key = key
        self.kid = kid
        self.issuer = issuer
        self.clock = clock
        self.retention = retention
        self.poll_lease = poll_lease
        self.on_push: Callable[[], None] = lambda: None  # wakes the pusher

    async def emit(
        self, event_type: str, subject: Mapping[str, Any], event: Mapping[str, Any], *, dedupe: str
    ) -> int:
        """Queue the event on every stream that wants it; the number of streams it went to."""
        sent = 0
        for record in await self.streams.all():
            sent += await self.send(record, event_type, subject, event, dedupe=dedupe)
        return sent

    async def send(
        self,
        record: Transaction,
        event_type: str,
        subject: Mapping[str, Any],
        event: Mapping[str, Any],
        *,
        dedupe: str | None,
    ) -> bool:
        meta = record.meta
        if event_type not in meta["events_delivered"] or meta["status"] == "disabled":
            return False
        if dict(subject) in meta.get("removed", []):
            return False
        if dedupe is not None:
            marker = f"ssf:sent:{record.id}:{dedupe}"
            if not await self.store.claim(marker, ttl=self.retention):
                return False
        now = int(self.clock())
        token, jti = sign_set(
            self.key,
            self.kid,
            issuer=self.issuer,
            audience=meta["aud"],
            subject=subject,
            event_type=event_type,
            event=event,
            now=now,
        )
        if meta["status"] == "paused":
            await self.store.append_event(
                f"ssf:held:{record.id}", {"jti": jti, "set": token}, ttl=self.retention
            )
            return True
        await self._queue(record, jti, token)
        return True

    async def _queue(self, record: Transaction, jti: str, token: str) -> None:
        now = int(self.clock())
        delivery = record.meta["delivery"]
        if delivery["method"] == PUSH:
            item = {
                "stream": record.id,
                "url": delivery["endpoint_url"],
                "set": token,
                "auth": record.meta.get("authorization_header"),
            }
            await self.store.enqueue(
                PUSH_QUEUE, f"{record.id}.{jti}", item, due_at=now, ttl=self.retention
            )
            self.on_push()
        else:
            await self.store.enqueue(
                poll_queue(record.id), jti, {"set": token}, due_at=now, ttl=self.retention
            )

    async def resume(self, record: Transaction) -> None:
        """Queue what a paused stream held, once (each held SET is claimed as it is queued)."""
        for held in await self.store.read_events(f"ssf:held:{record.id}"):
            if await self.store.claim(f"ssf:released:{held['jti']}", ttl=self.retention):
                await self._queue(record, str(held["jti"]), str(held["set"]))

    async def verify(self, owner: str, body: Mapping[str, Any]) -> None:
        """SSF §8.1.4: a verification event on the stream, with the receiver's ``state``."""
        record = await self.streams.get(owner, body.get("stream_id"))
        state = body.get("state")
        if state is not None and (not isinstance(state, str) or len(state) > 1024):
            raise ServiceError(400, "invalid_request", "state must be a string")
        event = {"state": state} if state is not None else {}
        subject = {"format": "opaque", "id": record.id}
        await self.send(record, VERIFICATION, subject, event, dedupe=None)

    async def poll(self, owner: str, stream_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """RFC 8936 §2.4: acknowledge, then return up to ``maxEvents`` SETs."""
        record = await self.streams.get(owner, stream_id)
        if record.meta["delivery"]["method"] != POLL:
            raise ServiceError(400, "invalid_request", "this stream is not delivered by poll")
        acks = body.get("ack", [])
        errors = body.get("setErrs", {})
        if not isinstance(acks, list) or not all(isinstance(a, str) for a in acks):
            raise ServiceError(400, "invalid_request", "ack must be an array of jti strings")
        if not isinstance(errors, dict):
            raise ServiceError(400, "invalid_request", "setErrs must be an object")
        max_events = body.get("maxEvents", MAX_EVENTS)
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0:
            raise ServiceError(400, "invalid_request", "maxEvents must be a non-negative integer")
        max_events = min(max_events, MAX_EVENTS)
        queue = poll_queue(record.id)
        for jti in [*acks, *errors]:
            await self.store.ack(queue, jti)
        for jti, err in errors.items():
            log.warning("SSF receiver refused SET %s: %s", jti, str(err)[:200])
        if max_events == 0:
            return {"sets": {}, "moreAvailable": False}
        now = int(self.clock())
        items = await self.store.lease(
            queue, now=now, lease_for=self.poll_lease, limit=max_events + 1
        )
        more = len(items) > max_events
        for extra in items[max_events:]:
            await self.store.reschedule(queue, extra.item_id, due_at=now)
        return {
            "sets": {i.item_id: i.payload["set"] for i in items[:max_events]},
            "moreAvailable": more,
        }
