"""AP2 trust and policy: trusted Agent Providers (trust file) and named AP2 policies.

Trust file additions (the format is otherwise unchanged)::

    agent_providers:                       # Trusted Agent Provider model
      - id: shopping-agents.example        # named in verification results
        iss: https://agents.example        # optional: roots with this iss are theirs
        jwks: {keys: [{kty: EC, crv: P-256, x: ..., y: ..., kid: provider-1}]}
    issuers:
      - iss: https://bank.example          # a User Credential issuer, as any other issuer
        jwks: {...}
        vct: [https://agentvp.example/vct/verified_person/1]
      - iss: https://shoes.example         # a merchant whose checkout JWTs are accepted
        jwks: {...}
        vct: [ap2.checkout_jwt]

Policy file addition (``ap2_policies:``; a verification names one, or gets the defaults)::

    ap2_policies:
      cp-default:
        modes: [direct, autonomous]
        roots: [user_credential, agent_provider]
        accepted_vct: [mandate.payment.1, mandate.checkout.1]
        identity: {...}                    # as an agent policy's identity rules: the root
                                           # User Credential must prove a verified human
        status_required: false             # the root credential must carry a status entry
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier.policy.rules import IdentityPolicy
from verifier.protocol.sdjwt.delegation import StaticProviderKeys

__all__ = ["AP2Policy", "AgentProvider", "provider_keys"]


class AgentProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256)
    iss: str | None = None
    jwks: dict[str, list[dict[str, Any]]]


Mode = Literal["direct", "autonomous"]
Root = Literal["user_credential", "agent_provider"]
ClosedVct = Literal["mandate.payment.1", "mandate.checkout.1"]


class AP2Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    modes: tuple[Mode, ...] = Field(("direct", "autonomous"), min_length=1)
    roots: tuple[Root, ...] = Field(("user_credential", "agent_provider"), min_length=1)
    accepted_vct: tuple[ClosedVct, ...] = Field(
        ("mandate.payment.1", "mandate.checkout.1"), min_length=1
    )
    identity: IdentityPolicy | None = None
    status_required: bool = False


def provider_keys(providers: list[AgentProvider]) -> StaticProviderKeys:
    return StaticProviderKeys({p.id: (p.iss, p.jwks.get("keys", [])) for p in providers})
