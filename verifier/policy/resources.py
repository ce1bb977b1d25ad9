"""Protected resources in the policy file: which agent policy guards which resource server.

    resources:
      https://shop-a.example/mcp:          # the RFC 8707 resource indicator (absolute URI)
        policy: shop-checkout              # a name under `policies:`
        token_lifetime: 120                # optional: seconds, at most the global setting
        scopes: [mcp, mcp:refund]          # optional: OAuth scopes it knows (default [mcp])
        default_scopes: [mcp]              # optional: granted when a client asks for none
        dpop_required: false               # optional: wallet-login tokens must be DPoP-bound
        dpop_nonce: false                  # optional: token requests need a server nonce
        scope_policies: {mcp:refund: strict}  # optional: a scope's own identity rules (step-up)
        released_claims: [given_name, verification.assurance_level]  # optional: at introspection
        self_issued_login: false           # optional: a SIOPv2 self-issued id_token logs in

An agent asks ``POST /oauth/agent-authorize`` for access to one or more ``resource`` values;
each must be listed here, and all of them must name the same policy (one verification decides
for them all). A person logs in for an MCP client at ``/oauth/authorize`` (the wallet login,
:mod:`verifier.oauth.login`) by presenting what the policy's ``identity`` section asks for; the
client gets a token with the granted ``scope``. Tokens are audience-restricted to one resource
each (``aud``). Checked at startup by :func:`check_resources`.

``self_issued_login`` (default off) lets a person log in with a SIOPv2 self-issued ID token
alone (``response_type=id_token``): proof of a key, no verified claims - the token's ``sub`` is
pairwise over that key's thumbprint and it has no ``acr``. Only for a resource whose policy asks
for no identity (every ``identity`` section requires an assurance level, which a bare ID token
cannot show; such a resource is refused at startup). Its step-up scopes whose policies ask for
an identity still need the credential.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from verifier.policy.rules import AgentPolicy

__all__ = ["RELEASED_NAME", "ResourcePolicy", "check_resources", "valid_resource"]

RELEASED_NAME = r"^(verification\.)?[A-Za-z][A-Za-z0-9_]{0,63}$"  # a released_claims entry
_SCOPE = r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$"  # RFC 6749 §3.3 scope-token


class ResourcePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    policy: str = Field(min_length=1, max_length=128, description="An agent policy name.")
    token_lifetime: int | None = Field(
        None, ge=1, le=3600, description="Access token lifetime (seconds) for this resource."
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["mcp"],
        min_length=1,
        max_length=32,
        description="OAuth scopes a client may ask for at this resource (wallet login).",
    )
    default_scopes: list[str] | None = Field(
        None, description="Scopes granted when the client names none (default: all `scopes`)."
    )
    dpop_required: bool = Field(
        False, description="Wallet-login tokens for this resource must be DPoP-bound (RFC 9449)."
    )
    dpop_nonce: bool = Field(
        False,
        description="Wallet-login token requests with DPoP must carry a server nonce "
        "(RFC 9449 §8: `use_dpop_nonce` with a `DPoP-Nonce` header first).",
    )
    scope_policies: dict[str, str] = Field(
        default_factory=dict,
        description="Scope -> a policy whose identity rules a login asking for it must also "
        "meet (step-up: e.g. a higher assurance level, more claims).",
    )
    released_claims: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Verified claims of a wallet login this resource may see, at token "
        "introspection only (never in the token): person claims by name (`given_name`, "
        "`birthdate`) and `verification.<member>` (`verification.trust_framework`, "
        "`verification.assurance_level`). Default none: `sub` and `acr` only.",
    )
    self_issued_login: bool = Field(
        False,
        description="A person may log in with a SIOPv2 self-issued ID token alone (a key, no "
        "verified claims); only where the policy asks for no identity.",
    )

    @model_validator(mode="after")
    def _scopes(self) -> ResourcePolicy:
        bad = [s for s in self.scopes if not re.fullmatch(_SCOPE, s)]
        if bad:
            raise ValueError(f"scopes: {bad[0]!r} is not an RFC 6749 scope token")
        unknown = set(self.default_scopes or []) - set(self.scopes)
        if unknown:
            raise ValueError(f"default_scopes: {sorted(unknown)} are not among scopes")
        unknown = set(self.scope_policies) - set(self.scopes)
        if unknown:
            raise ValueError(f"scope_policies: {sorted(unknown)} are not among scopes")
        bad = [n for n in self.released_claims if not re.fullmatch(RELEASED_NAME, n)]
        if bad:
            raise ValueError(
                f"released_claims: {bad[0]!r} is not a claim name or verification.<member>"
            )
        return self

    @property
    def granted_by_default(self) -> list[str]:
        return list(self.default_scopes if self.default_scopes is not None else self.scopes)


def valid_resource(uri: str) -> bool:
    """An absolute http(s) URI without fragment (RFC 8707 §2)."""
    parts = urlsplit(uri)
    return parts.scheme in ("https", "http") and bool(parts.hostname) and not parts.fragment


def check_resources(
    resources: Mapping[str, ResourcePolicy], policies: Mapping[str, AgentPolicy]
) -> None:
    """``ValueError`` naming the first resource that is not a URI, names an unknown policy, or
    accepts a self-issued ID token where its policy asks for an identity."""
    for uri, rule in resources.items():
        if not valid_resource(uri):
            raise ValueError(f"resources.{uri}: not an absolute http(s) URI without fragment")
        known = ", ".join(sorted(policies)) or "none"
        if rule.policy not in policies:
            raise ValueError(f"resources.{uri}.policy: unknown policy {rule.policy!r} ({known})")
        if rule.self_issued_login and policies[rule.policy].identity is not None:
            raise ValueError(
                f"resources.{uri}.self_issued_login: policy {rule.policy!r} asks for an identity "
                "with an assurance level, which a self-issued ID token cannot show"
            )
        for scope, name in rule.scope_policies.items():
            if name not in policies:
                raise ValueError(
                    f"resources.{uri}.scope_policies.{scope}: unknown policy {name!r} ({known})"
                )
