"""Credential status checking hook (Token Status List, digest §5.5); implemented in
:mod:`verifier.policy.status_check`."""

from __future__ import annotations

from typing import Any, Protocol

from verifier.protocol import VerifiedCredential

__all__ = ["StatusChecker"]


class StatusChecker(Protocol):
    async def check(self, credential: VerifiedCredential, *, now: int) -> dict[str, Any] | None:
        """None when the credential has no status reference; else a report such as
        ``{"status": "valid", "uri": ..., "idx": ..., "fetched_at": ...}``. Raises
        :class:`verifier.protocol.StatusError` for revoked/suspended/unusable lists."""
