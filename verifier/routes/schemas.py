"""What the JSON success answers look like, for the OpenAPI document (``/docs``).

These models document; they do not filter. The routes build their answers themselves (see
:mod:`.rp_api`, :mod:`.agent_api`, :mod:`.oauth`, :mod:`.wallet_api`, :mod:`.ops`) and each
declares its 200/201 body with :func:`verifier.routes.openapi.answers`. A field listed without a
default is always present; further members may appear (the schemas stay open), so a client must
ignore members it does not know.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "JWKS",
    "AP2Challenge",
    "AP2Verification",
    "AgentAuthorization",
    "AgentVerificationView",
    "AuditLog",
    "AuthorizationServerMetadata",
    "Health",
    "Introspection",
    "PresentationView",
    "TokenAnswer",
    "WalletResponseAnswer",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(_Open):
    status: str = Field(description="`ok` (/healthz) or `ready` (/readyz).")


class StatusReport(_Open):
    """A credential's Token Status List entry as checked during verification."""

    status: str = Field(description="`valid`, or `unknown` when unreachable lists are accepted.")
    checked: bool = Field(description="False only for `unknown`: the list could not be fetched.")
    uri: str
    idx: int
    reason: str | None = Field(None, description="Why the list was not checked (`unknown`).")
    fetched_at: int | None = None
    list_iat: int | None = None
    list_exp: int | None = None


class CredentialResult(_Open):
    """One verified presentation."""

    vct: str
    iss: str | None = Field(description="The issuer (`iss` of the issuer-signed JWT).")
    claims: dict[str, Any] = Field(description="The disclosed claims, processed.")
    holder_jkt: str | None = Field(description="RFC 7638 thumbprint of the holder key (`cnf`).")
    status: StatusReport | None = Field(description="Null when the credential has no status.")
    iat: int | None
    exp: int | None
    nbf: int | None = None
    disclosed: int = Field(description="How many disclosures the wallet sent.")
    kb_iat: int | None = None
    presentation_sha256: str | None = None


class PresentationResult(_Open):
    credentials: dict[str, list[CredentialResult]] = Field(
        description="Per DCQL credential query id, the presentations that satisfied it."
    )
    verified_at: int
    id_token: dict[str, str] | None = Field(
        None, description="SIOPv2: `{sub, jwk_thumbprint}` (response_type `vp_token id_token`)."
    )


class PresentationError(_Open):
    code: str = Field(description="The failing check (e.g. `kb_nonce_mismatch`) or the wallet's.")
    detail: str
    source: str | None = Field(None, description="`wallet` when the wallet sent an error.")


class PresentationView(_Open):
    """A presentation request: where the wallet gets it, and once final its outcome."""

    id: str
    status: str = Field(
        description="`pending`, `request_retrieved`, `verified`, `rejected`, `expired`, `error`."
    )
    flow: str = Field(description="`cross_device` or `same_device`.")
    response_mode: str
    created_at: int
    expires_at: int
    authorization_request_uri: str = Field(
        description="`openid4vp://?client_id=…&request_uri=…&request_uri_method=post`."
    )
    request_uri: str
    qr_png_uri: str
    qr_svg_uri: str
    status_uri: str
    events_uri: str
    result: PresentationResult | None = Field(
        None, description="Once `verified` (same-device: only with `?response_code=`)."
    )
    error: PresentationError | None = Field(
        None, description="Once `rejected`, `error` or `expired` (same-device: with the code)."
    )


class Reason(_Open):
    code: str
    detail: str


class AgentVerificationView(_Open):
    """An agent verification: the decision, why, and the requests that answer it."""

    id: str
    policy: str
    decision: str = Field(description="`pending`, `allow` or `deny`.")
    reasons: list[str] = Field(description="One code per failed rule (empty when allowed).")
    details: list[Reason]
    action: dict[str, Any] = Field(description="The agent-action transaction data payload.")
    created_at: int
    expires_at: int
    events_uri: str | None = None
    agent_request: PresentationView | None = Field(
        None, description="The request to hand to the agent."
    )
    human_request: PresentationView | None = Field(
        None, description="Step-up: the request to show the person (QR code or link)."
    )
    mandate: dict[str, Any] | None = None
    agent: dict[str, Any] | None = None
    principal: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    receipt: str | None = Field(None, description="The signed decision receipt (a JWT).")


class AuditLog(_Open):
    events: list[dict[str, Any]] = Field(description="Hash-chained events, oldest first.")


class JWKS(_Open):
    keys: list[dict[str, Any]]


class AuthorizationServerMetadata(_Open):
    """RFC 8414 metadata of the authorization server (agent grant and wallet login)."""

    issuer: str
    token_endpoint: str
    jwks_uri: str


class RequestLink(_Open):
    authorization_request_uri: str
    request_uri: str | None = None
    expires_at: int | None = None


class AgentAuthorization(_Open):
    auth_req_id: str
    expires_in: int
    interval: int
    agent_request: RequestLink
    human_request: RequestLink | None = None


class TokenAnswer(_Open):
    access_token: str
    token_type: str = Field(description="`DPoP`, or `Bearer` for a wallet login without DPoP.")
    expires_in: int
    authorization_details: list[dict[str, Any]] | None = Field(
        None, description="Agent grant: the granted action."
    )
    scope: str | None = Field(None, description="Wallet login: the granted scopes.")
    refresh_token: str | None = Field(None, description="Wallet login: rotated on each use.")


class Introspection(_Open):
    active: bool
    verified_claims: dict[str, Any] | None = Field(
        None,
        description="A wallet-login token whose resource lists `released_claims`: those of "
        "them the person presented, as `{verification: {...}, claims: {...}}` (never in the "
        "token itself).",
    )


class WalletResponseAnswer(_Open):
    redirect_uri: str | None = Field(
        None, description="Same-device: where the wallet sends the user (with `response_code`)."
    )


class AP2Challenge(_Open):
    """A single-use challenge the mandate's last hop must answer."""

    id: str
    nonce: str = Field(description="The terminal hop's `nonce` must be exactly this.")
    aud: str = Field(description="The terminal hop's `aud` must be exactly this (this verifier).")
    expires_at: int


class AP2Verification(_Open):
    """The decision on one AP2 mandate (a chain, or a single SD-JWT with key binding)."""

    id: str
    decision: str = Field(description="`accept` or `reject`.")
    mode: str = Field(description="`direct` (human present) or `autonomous` (a `~~` chain).")
    vct: str | None = Field(description="The closed mandate's `vct`; null when none verified.")
    mandate: dict[str, Any] | None = Field(description="The closed mandate's disclosed content.")
    open_mandate: dict[str, Any] | None = Field(
        None, description="The open mandate the agent closed (autonomous mode)."
    )
    principal: dict[str, Any] | None = Field(
        None, description="The root: a User Credential (issuer, claims, status) or a provider."
    )
    reasons: list[Reason] = Field(description="One per failed rule; empty on accept.")
    receipt: str | None = Field(description="The AP2 receipt, signed by agentvp (also on reject).")
