"""Build the PDP from the agent verifications and the agent access tokens (used by ``app.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.agents.grants import GrantIndex
from verifier.agents.verifications import AgentVerifications
from verifier.authzen.pdp import PDP
from verifier.authzen.subjects import SubjectResolver, TokenKind
from verifier.resource.tokens import AccessError, verify_access_token

__all__ = ["AgentAccessTokens", "build_pdp", "metadata"]


@dataclass(frozen=True)
class AgentAccessTokens:
    """The agent access tokens of :mod:`verifier.oauth.agent_grant` (RFC 9068, any audience)."""

    keys: tuple[Mapping[str, Any], ...]
    issuer: str

    def verify(self, token: str, *, now: int) -> Mapping[str, Any] | None:
        try:
            return verify_access_token(
                token, self.keys, issuer=self.issuer, audience=None, now=now, leeway=0
            )
        except AccessError:
            return None


def build_pdp(
    agents: AgentVerifications,
    token_kinds: list[TokenKind],
    *,
    cache_ttl: int,
    grants: GrantIndex | None = None,
) -> PDP:
    subjects = SubjectResolver(agents.presentations, token_kinds=token_kinds, cache_ttl=cache_ttl)
    return PDP(agents, subjects, grants)


def metadata(public_url: str) -> dict[str, Any]:
    """``/.well-known/authzen-configuration`` (AuthZEN 1.0 §13)."""
    return {
        "policy_decision_point": public_url,
        "access_evaluation_endpoint": f"{public_url}/access/v1/evaluation",
        "access_evaluations_endpoint": f"{public_url}/access/v1/evaluations",
    }
