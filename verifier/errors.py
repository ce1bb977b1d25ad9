"""The service-level error: what every capability raises for the HTTP layer to render.

Adapters (``routes/``, ``app.py``) answer it as ``{"error": "<code>", "error_description":
"<text>"}`` with its status and headers; the protocol core raises its own typed errors
(:mod:`verifier.protocol.errors`), which the services translate.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """An error for the HTTP layer: status code, OAuth-style ``error``, human description."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})  # extra response headers (e.g. Retry-After)
