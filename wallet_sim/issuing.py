"""Issuing into a wallet directory, revocation, issuer key rotation, and serving issuers.

Used by the ``wallet-sim`` commands and by tests, so both issue exactly the same credentials.
An issuer set up with :func:`serve_issuers_at` gets an ``iss`` on the issuer server
(``<base>/<name>``, so verifiers can fetch its jwt-vc-issuer metadata) and a status list at
``<base>/status/<name>``; its credentials then carry a ``status.status_list`` entry.
"""

from __future__ import annotations

import secrets
from typing import Any

from verifier.protocol import SigningKey, jwk_thumbprint

from .issuer import IdentitySubject, MandateGrant, identity_claims, mandate_claims
from .status import StatusRegistry
from .store import StoredCredential, Wallet

__all__ = [
    "issue_credential",
    "rotate_issuer_key",
    "serve_issuers_at",
    "set_credential_status",
]

DEFAULT_ISSUER = {"identity": "ekyc", "mandate": "mandates"}
DEFAULT_HOLDER = {"identity": "human", "mandate": "agent"}


def _registry(wallet: Wallet, issuer: str) -> StatusRegistry:
    return StatusRegistry(wallet.path / "status" / f"{issuer}.json")


def serve_issuers_at(wallet: Wallet, base_url: str) -> None:
    """Re-home every issuer on the issuer server at ``base_url`` and give each a status list."""
    base = base_url.rstrip("/")
    for name in wallet.issuers():
        data = wallet.issuer_data(name)
        wallet.add_issuer(
            name,
            iss=f"{base}/{name}",
            kind=str(data["kind"]),
            key=SigningKey.from_jwk(data["key"]),
            previous_keys=data.get("previous_keys", []),
        )
        StatusRegistry.create(_registry(wallet, name).path, uri=f"{base}/status/{name}")


def issue_credential(
    wallet: Wallet,
    kind: str,
    *,
    now: int,
    issuer: str | None = None,
    holder: str | None = None,
    subject: IdentitySubject | None = None,
    grant: MandateGrant | None = None,
    principal: str = "human",
) -> StoredCredential:
    """Issue an ``identity`` or ``mandate`` credential into ``wallet`` (with a status entry
    when the issuer has a status list)."""
    if kind not in DEFAULT_ISSUER:
        raise ValueError(f"unknown credential kind {kind!r} (identity or mandate)")
    issuer = issuer or DEFAULT_ISSUER[kind]
    holder = holder or DEFAULT_HOLDER[kind]
    source = wallet.issuer(issuer)
    cred_id = f"{kind}-{secrets.token_hex(4)}"
    registry = _registry(wallet, issuer)
    status: dict[str, Any] | None = None
    if registry.path.exists():
        status = {"idx": registry.allocate(cred_id), "uri": registry.uri}
    if kind == "identity":
        claims = identity_claims(
            subject or IdentitySubject(), iss=source.iss, now=now, status=status
        )
    else:
        # Bind the principal by the key of their identity credential (principal.jkt).
        claims = mandate_claims(
            grant or MandateGrant(),
            iss=source.iss,
            now=now,
            principal_jkt=principal_jkt(wallet, principal),
            status=status,
        )
    issuance = source.issue(claims, holder_jwk=wallet.key(holder, create=True).public_jwk)
    meta = {"issuer": issuer, **({"status": status} if status else {})}
    return wallet.add_credential(
        kind=kind, issuance=issuance, holder=holder, issued_at=now, meta=meta, cred_id=cred_id
    )


def principal_jkt(wallet: Wallet, principal: str) -> str:
    """RFC 7638 thumbprint of the ``cnf`` key of the principal's identity credential."""
    identities = wallet.credentials(kind="identity", holder=principal)
    if not identities:
        raise ValueError(f"{principal!r} has no identity credential to bind (issue one first)")
    cnf = identities[-1].held().payload["cnf"]["jwk"]
    return jwk_thumbprint(cnf)


def set_credential_status(wallet: Wallet, cred_id: str, status: str) -> tuple[str, int]:
    """``valid``/``revoked``/``suspended`` in the issuer's list; returns (list URI, index)."""
    cred = wallet.credential(cred_id)
    issuer = cred.meta.get("issuer")
    if not issuer or "status" not in cred.meta:
        raise KeyError(f"credential {cred_id!r} was issued without a status list entry")
    registry = _registry(wallet, str(issuer))
    return registry.uri, registry.set(cred_id, status)


def rotate_issuer_key(wallet: Wallet, name: str) -> str:
    """A new signing key (new ``kid``); the old public key stays in the metadata JWKS."""
    data = wallet.issuer_data(name)
    old = SigningKey.from_jwk(data["key"])
    new = SigningKey.generate(kid=f"{name}-{secrets.token_hex(3)}")
    previous = [*data.get("previous_keys", []), {**old.public_jwk, "use": "sig", "alg": old.alg}]
    extra = {k: v for k, v in data.items() if k not in ("iss", "kind", "key", "previous_keys")}
    wallet.add_issuer(
        name, iss=data["iss"], kind=data["kind"], key=new, previous_keys=previous, **extra
    )
    return str(new.kid)
