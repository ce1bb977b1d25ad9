"""Webhooks: a signed POST to the relying party's ``callback_url`` on every status change.

Each event becomes an item in the store's durable queue (:meth:`TransactionStore.enqueue`), so a
restart loses none, and any verifier instance may deliver it (:meth:`~TransactionStore.lease`
hands an item to one instance at a time). A delivery that fails (network error, non-2xx) is
retried with bounded exponential backoff (``base_delay * 2**(attempt-1)``, at most
``max_delay``) up to ``max_attempts``, then given up and logged.

Format (Standard Webhooks, https://www.standardwebhooks.com):

- body: ``{"type": "presentation.status" | "agent_verification.decision", "id", "status",
  "version", "at", ...}`` - ids and states only, never claims (read the result through the API);
- ``webhook-id``: ``<transaction id>.<version>`` - the idempotency key (a retry re-sends it);
- ``webhook-timestamp``: UNIX seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``.

Verify on the receiving side (Python)::

    import base64, hashlib, hmac, time
    def verify(secret: bytes, headers, body: bytes) -> bool:
        msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
        if abs(time.time() - int(ts)) > 300:
            return False  # replayed or delayed too long
        mac = hmac.new(secret, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(mac).decode()
        return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())

Callback URLs are checked like every outbound fetch (https only, no private addresses unless
allow-listed; no redirects followed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from verifier.ops.fetch import FetchError, SafeFetcher
from verifier.store.base import QueueItem, Transaction, TransactionStore

__all__ = ["Webhooks", "sign"]

log = logging.getLogger("agentvp.webhooks")
QUEUE = "webhooks"


def sign(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Webhooks:
    def __init__(
        self,
        store: TransactionStore,
        *,
        secret: bytes,
        fetcher: SafeFetcher,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 8,
        base_delay: int = 2,
        max_delay: int = 300,
        retention: int = 86400,
        poll_interval: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        queue: str = QUEUE,
    ) -> None:
        self.store = store
        self.queue = queue
        self.secret = secret
        self.fetcher = fetcher
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retention = retention
        self.poll_interval = poll_interval
        self._client = httpx.AsyncClient(
            timeout=fetcher.timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            verify=fetcher.verify,  # the fetcher's trust (outbound_ca_file) for deliveries too
        )
        self.delivered = 0
        self.failed = 0
        self._wake = asyncio.Event()

    async def close(self) -> None:
        await self._client.aclose()

    async def on_event(self, event: str, tx: Transaction) -> None:
        """Listener: queue a delivery for every change of a transaction with a callback."""
        if not tx.callback_url or event not in ("created", "request_retrieved", "final"):
            return
        kind = (
            "agent_verification.decision"
            if tx.purpose == "agent_verification"
            else "presentation.status"
        )
        body: dict[str, Any] = {
            "type": kind,
            "id": tx.id,
            "status": tx.status,
            "version": tx.version,
            "at": int(self.clock()),
        }
        if tx.purpose == "agent_verification" and tx.result:
            body["decision"] = tx.result.get("decision")
            body["reasons"] = tx.result.get("reasons", [])
        item = {"url": tx.callback_url, "body": body}
        await self.store.enqueue(
            self.queue, f"{tx.id}.{tx.version}", item, due_at=int(self.clock()), ttl=self.retention
        )
        self.wake()

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll: something was queued on it
        (the SSF transmitter queues its SETs itself)."""
        self._wake.set()

    async def deliver(self, item: QueueItem) -> bool:
        """One attempt; True when the receiver answered 2xx. A failure is logged with its
        reason in the message itself, so every log format (text and JSON) shows it."""
        body = json.dumps(item.payload["body"], separators=(",", ":")).encode()
        timestamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": item.item_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.secret, item.item_id, timestamp, body),
        }
        url = str(item.payload["url"])
        try:
            await self.fetcher.check_target(url)
            response = await self._client.post(url, content=body, headers=headers)
        except FetchError as exc:
            return self._failed(item, exc.reason)
        except httpx.HTTPError as exc:
            return self._failed(item, f"{url} is unreachable: {type(exc).__name__}")
        if not 200 <= response.status_code < 300:
            return self._failed(item, f"{url} answered {response.status_code}")
        return True

    def _failed(self, item: QueueItem, reason: str) -> bool:
        reason = reason[:300]
        log.warning(
            "webhook %s attempt %d failed: %s",
            item.item_id,
            item.attempts,
            reason,
            extra={"webhook": item.item_id, "attempt": item.attempts, "reason": reason},
        )
        return False

    async def run_once(self, *, limit: int = 32) -> int:
        """Deliver what is due now; the number of items handled."""
        now = int(self.clock())
        # A lease covers one attempt; if this process dies mid-delivery, another (or this one,
        # restarted) retries once the lease runs out.
        lease = int(self.fetcher.timeout) + 5
        items = await self.store.lease(self.queue, now=now, lease_for=lease, limit=limit)
        for item in items:
            if await self.deliver(item):
                self.delivered += 1
                await self.store.ack(self.queue, item.item_id)
            elif item.attempts >= self.max_attempts:
                self.failed += 1
                log.warning(
                    "webhook %s given up after %d attempts",
                    item.item_id,
                    item.attempts,
                    extra={"webhook": item.item_id, "attempts": item.attempts},
                )
                await self.store.ack(self.queue, item.item_id)
            else:
                delay = min(self.base_delay * 2 ** (item.attempts - 1), self.max_delay)
                await self.store.reschedule(self.queue, item.item_id, due_at=now + delay)
        return len(items)

    async def run(self) -> None:
        """The delivery loop (one per process; the store's leases keep them from colliding)."""
        while True:
            try:
                handled = await self.run_once()
            except Exception:  # the loop must survive a store outage and retry later
                log.exception("webhook loop failed; retrying")
                handled = 0
            if handled == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
