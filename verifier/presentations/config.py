"""The presentation service's settings. A module of their own so that :mod:`.dc_api` can name
them without importing :mod:`.service`, which imports it; :mod:`.service` re-exports them."""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.protocol import SigningKey
from verifier.protocol.sdjwt.vc import VerificationPolicy

__all__ = ["ServiceConfig"]


@dataclass(frozen=True)
class ServiceConfig:
    public_url: str
    client_id: str  # for the redirect_uri prefix: a base, made per transaction
    signing_key: SigningKey | None  # None: unsigned requests (redirect_uri prefix)
    x5c: list[str]
    ttl: int = 300
    retention: int = 900
    default_response_mode: str = "direct_post.jwt"
    policy: VerificationPolicy = field(default_factory=VerificationPolicy)
    max_body_bytes: int = 256 * 1024
    max_json_depth: int = 32
    max_vp_token_entries: int = 16
    receipt_key: SigningKey | None = None  # signs agent decision receipts
    callbacks: bool = False  # webhooks configured: `callback_url` accepted
    dc_api_origins: tuple[str, ...] = ()  # pages that may use the Digital Credentials API
    outbound_allow_hosts: tuple[str, ...] = ()  # where webhooks may go beyond public https
