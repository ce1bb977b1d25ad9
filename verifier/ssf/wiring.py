"""Build the SSF transmitter, its push deliverer and the grant watcher (used by ``app.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.ops.fetch import SafeFetcher
from verifier.presentations.service import PresentationService
from verifier.protocol import SigningKey
from verifier.settings import Settings
from verifier.ssf.push import SetPusher
from verifier.ssf.streams import Streams
from verifier.ssf.transmitter import PUSH_QUEUE, Transmitter
from verifier.ssf.watcher import GrantWatcher

__all__ = ["SSF", "build_ssf"]


@dataclass
class SSF:
    transmitter: Transmitter | None
    pusher: SetPusher | None
    watcher: GrantWatcher


def build_ssf(
    settings: Settings, svc: PresentationService, key: SigningKey | None, kid: str
) -> SSF:
    """Without a signing key there is no transmitter, but grants are still watched (revocation
    still turns tokens inactive and decisions to deny)."""
    transmitter = pusher = None
    retention = settings.ssf_event_retention
    if key is not None:
        streams = Streams(svc.store, issuer=settings.public_url, clock=svc.clock)
        transmitter = Transmitter(
            svc.store,
            streams,
            key=key,
            kid=kid,
            issuer=settings.public_url,
            clock=svc.clock,
            retention=retention,
            poll_lease=settings.ssf_poll_lease,
        )
        pusher = SetPusher(
            svc.store,
            secret=b"",
            fetcher=SafeFetcher(
                timeout=settings.outbound_timeout,
                allow_hosts=settings.outbound_allow_list,
                ca_file=settings.outbound_ca_file,
            ),
            clock=svc.clock,
            max_attempts=settings.webhook_max_attempts,
            base_delay=settings.webhook_base_delay,
            retention=retention,
            queue=PUSH_QUEUE,
        )
        transmitter.on_push = pusher.wake
    watcher = GrantWatcher(
        svc.store,
        svc.status,
        transmitter,
        interval=settings.grant_watch_interval,
        batch=settings.grant_watch_batch,
        clock=svc.clock,
        retention=settings.result_ttl,
    )
    return SSF(transmitter, pusher, watcher)
