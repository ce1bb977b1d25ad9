"""Protected resources in the policy file: which agent policy guards which resource server.

    resources:
      https://shop-a.example/mcp:          # the RFC 8707 resource indicator (absolute URI)
        policy: shop-checkout              # a name under `policies:`
        token_lifetime: 120                # optional: seconds, at most the global setting

An agent asks ``POST /oauth/agent-authorize`` for access to one or more ``resource`` values;
each must be listed here, and all of them must name the same policy (one verification decides
for them all). Tokens are audience-restricted to one resource each (``aud``). Checked at startup
by :func:`check_resources`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResourcePolicy", "check_resources", "valid_resource"]


class ResourcePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    policy: str = Field(min_length=1, max_length=128, description="An agent policy name.")
    token_lifetime: int | None = Field(
        None, ge=1, le=3600, description="Access token lifetime (seconds) for this resource."
    )


def valid_resource(uri: str) -> bool:
    """An absolute http(s) URI without fragment (RFC 8707 §2)."""
    parts = urlsplit(uri)
    return parts.scheme in ("https", "http") and bool(parts.hostname) and not parts.fragment


def check_resources(resources: Mapping[str, ResourcePolicy], policies: Collection[str]) -> None:
    """``ValueError`` naming the first resource that is not a URI or names an unknown policy."""
    for uri, rule in resources.items():
        if not valid_resource(uri):
            raise ValueError(f"resources.{uri}: not an absolute http(s) URI without fragment")
        if rule.policy not in policies:
            known = ", ".join(sorted(policies)) or "none"
            raise ValueError(f"resources.{uri}.policy: unknown policy {rule.policy!r} ({known})")
