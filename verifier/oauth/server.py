"""The authorization server as MCP clients see it: the wallet login beside the agent grant.

:class:`LoginServer` holds the parts of the front-channel flow (:mod:`.clients`, :mod:`.login`,
:mod:`.code_grant`) and publishes the RFC 8414 §2 metadata of the whole server: the agent
grant's members (:meth:`verifier.oauth.agent_grant.AgentAccess.metadata`) plus
``authorization_endpoint``, ``registration_endpoint`` (RFC 7591), ``response_types_supported``
``["code"]``, ``response_modes_supported`` ``["query"]``, the ``authorization_code`` and
``refresh_token`` grants, ``code_challenge_methods_supported`` ``["S256"]`` (RFC 7636),
``client_id_metadata_document_supported`` (CIMD), ``authorization_response_iss_parameter_
supported`` (RFC 9207), ``scopes_supported`` (every scope of every resource) and
``dpop_signing_alg_values_supported`` (RFC 9449 §5.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verifier.oauth.agent_grant import AgentAccess
from verifier.oauth.clients import ClientRegistry
from verifier.oauth.code_grant import CodeGrants
from verifier.oauth.confirm import Confirmations
from verifier.oauth.login import WalletLogin
from verifier.policy.resources import ResourcePolicy

__all__ = ["LoginServer", "authorization_server_metadata"]


@dataclass
class LoginServer:
    access: AgentAccess
    clients: ClientRegistry
    login: WalletLogin
    grants: CodeGrants
    confirmations: Confirmations = field(init=False)
    confirm_lifetime: int = 300

    def __post_init__(self) -> None:
        self.confirmations = Confirmations(self.login, self.grants, lifetime=self.confirm_lifetime)


def authorization_server_metadata(
    access: AgentAccess, resources: Mapping[str, ResourcePolicy], *, login: bool
) -> dict[str, Any]:
    """RFC 8414 §2 metadata; with ``login`` the wallet-login (authorization code) members."""
    metadata = access.metadata()
    if not login:
        return metadata
    base = access.settings.issuer
    scopes = sorted({s for rule in resources.values() for s in rule.scopes})
    return {
        **metadata,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "registration_endpoint": f"{base}/oauth/register",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            *metadata["grant_types_supported"],
        ],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": scopes,
    }
