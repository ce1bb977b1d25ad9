"""The OAuth error response of agentvp's authorization server (RFC 6749 §5.2).

Every OAuth endpoint - the agent grant, the wallet login, client registration, the token
endpoint, revocation, confirmations - refuses with :class:`OAuthError`: the HTTP status, the
OAuth ``error`` code (RFC 6749, CIBA, DPoP, RAR and RFC 8707 codes), a description, response
headers (``DPoP-Nonce`` with ``use_dpop_nonce``) and extra members of the JSON body (CIBA's
``interval``). :meth:`OAuthError.body` is that body; the routes render it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OAuthError"]


class OAuthError(Exception):
    """An OAuth error response (RFC 6749 §5.2 and the CIBA/DPoP/RAR/8707 codes)."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})  # e.g. DPoP-Nonce with use_dpop_nonce (RFC 9449 §8)
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description, **self.extra}
