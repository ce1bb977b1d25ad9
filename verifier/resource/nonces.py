"""Server-provided DPoP nonces at a resource server (RFC 9449 §9).

A resource that wants proofs to be provably fresh - not pre-computed by a client that holds the
key and the token for a while - gives ``ResourceGuard(dpop_nonces=DPoPNonces(secret))``. Every
DPoP proof must then carry a nonce this resource issued recently; one without (or with another)
is refused with 401, ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` and a fresh nonce in the
``DPoP-Nonce`` header, so the client retries once with a new proof. Every answer of the
protected path carries the current nonce, so a client that keeps it does not pay the retry
again.

A nonce is ``base64url(HMAC-SHA256(key, resource || window))[:18 bytes]`` with ``window`` the
current ``window``-second period: stateless, so every instance of the resource that shares the
``secret`` issues and accepts the same nonces (no store), nobody without the secret can make
one, and one is accepted during its own period and the next (between ``window`` and twice that
long). The resource URI is part of the MAC: a nonce of one resource is no nonce at another that
shares the secret, and nonces of agentvp's token endpoint (RFC 9449 §8, keyed with agentvp's
signing key) are never valid here - the two are different servers, each with its own nonces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

__all__ = ["MIN_SECRET_BYTES", "DPoPNonces"]

MIN_SECRET_BYTES = 16


class DPoPNonces:
    """Issues and checks one resource server's DPoP nonces (HMAC over a time window)."""

    def __init__(
        self, secret: bytes, *, window: int = 60, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a DPoP nonce secret needs at least {MIN_SECRET_BYTES} bytes")
        if not 5 <= window <= 3600:
            raise ValueError("the DPoP nonce window is between 5 and 3600 seconds")
        self._key = hashlib.sha256(b"agentvp resource dpop nonce\x00" + secret).digest()
        self.window = window
        self.clock = clock

    def current(self, resource: str) -> str:
        """The nonce to hand out now for ``resource``."""
        return self._nonce(resource, int(self.clock()) // self.window)

    def accepts(self, nonce: str | None, resource: str) -> bool:
        """Whether ``nonce`` was issued for ``resource`` in this period or the one before."""
        if not nonce:
            return False
        period = int(self.clock()) // self.window
        return any(
            hmac.compare_digest(nonce.encode(), self._nonce(resource, p).encode())
            for p in (period, period - 1)
        )

    def _nonce(self, resource: str, period: int) -> str:
        message = f"{resource}\x00{period}".encode()
        mac = hmac.new(self._key, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
