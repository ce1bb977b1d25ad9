"""Push delivery of SETs (RFC 8935) on the webhooks' durable queue and retry loop.

Each SET is one item of the ``ssf:push`` queue; :class:`SetPusher` is the webhook deliverer
(:class:`verifier.ops.webhooks.Webhooks`: leases, bounded exponential backoff, ``max_attempts``)
with RFC 8935's request instead of a webhook's: ``POST`` of the compact SET as
``application/secevent+jwt``, ``Accept: application/json``, the stream's
``authorization_header`` when it has one. A 202 (any 2xx) is delivered; a 400 is the receiver's
final refusal (RFC 8935 §2.3, its ``err`` is logged) and is not retried; anything else is retried.
"""

from __future__ import annotations

import logging

import httpx

from verifier.ops.fetch import FetchError
from verifier.ops.webhooks import Webhooks
from verifier.store.base import QueueItem

__all__ = ["SetPusher"]

log = logging.getLogger("agentvp.ssf")


class SetPusher(Webhooks):
    async def deliver(self, item: QueueItem) -> bool:
        url = str(item.payload["url"])
        headers = {"content-type": "application/secevent+jwt", "accept": "application/json"}
        if item.payload.get("auth"):
            headers["authorization"] = str(item.payload["auth"])
        try:
            await self.fetcher.check_target(url)
            response = await self._client.post(
                url, content=str(item.payload["set"]).encode(), headers=headers
            )
        except FetchError as exc:
            return self._failed(item, exc.reason)
        except httpx.HTTPError as exc:
            return self._failed(item, f"{url} is unreachable: {type(exc).__name__}")
        if response.status_code == 400:
            log.warning(
                "SSF receiver %s refused SET %s: %s", url, item.item_id, response.text[:200]
            )
            self.failed += 1
            return True  # final: never retried
        if not 200 <= response.status_code < 300:
            return self._failed(item, f"{url} answered {response.status_code}")
        return True
