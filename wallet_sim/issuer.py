"""Simulated issuers: an eKYC issuer of identity credentials and a mandate issuer.

Credentials are built with the reference ``sd-jwt`` library (so the verifier is always tested
against an independent SD-JWT implementation), with two additions it lacks: decoy digests only
where claims are actually selectively disclosable, and decoy *array elements* that pad
allow-lists (agent-mandates §3.2 rule 4), so an RP cannot count the allowed merchants.

Shapes follow DESIGN.md "Credentials" and agent-mandates §3-§4:

- identity: ``verified_claims.verification.trust_framework``/``assurance_level`` in clear;
  ``time``, ``verification_process``, each ``evidence[]`` element, its ``check_details`` and
  ``document_details`` and the ``document_number`` inside, and every leaf of ``claims`` disclosable;
- mandate: ``jti``, ``agent`` (but ``model``), ``principal.type``, ``authority.actions`` and every
  constraint object with its bounds in clear; ``principal.jkt``, ``principal.verification``,
  each ``pairwise_ids`` element, each allow-list member (merchants, categories, audiences) and
  ``authority.purpose`` disclosable.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from verifier.protocol.jose import SigningKey, b64url_encode, hash_b64

__all__ = [
    "IDENTITY_VCT",
    "MANDATE_VCT",
    "IdentitySubject",
    "Issuer",
    "MandateGrant",
    "identity_claims",
    "mandate_claims",
]

IDENTITY_VCT = "https://agentvp.example/vct/verified_person/1"
MANDATE_VCT = "https://agentvp.example/vct/agent_mandate/1"
DAY = 86_400


class _ReferenceIssuer(SDJWTIssuer):  # type: ignore[misc]
    """The reference issuer, with decoys where they hide something and padded allow-lists."""

    def __init__(self, *args: Any, decoys: bool, **kwargs: Any) -> None:
        self._decoys = decoys
        super().__init__(*args, **kwargs)

    def _decoy(self) -> str:
        return str(self._b64hash(self._generate_salt().encode("ascii")))

    def _create_sd_claims_object(self, user_claims: dict[Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = super()._create_sd_claims_object(user_claims)
        if self._decoys and "_sd" in out:
            out["_sd"] = sorted(
                out["_sd"] + [self._decoy() for _ in range(1 + secrets.randbelow(3))]
            )
        return out

    def _create_sd_claims_list(self, user_claims: list[Any]) -> list[Any]:
        out: list[Any] = super()._create_sd_claims_list(user_claims)
        if self._decoys and any(isinstance(c, SDObj) for c in user_claims):
            for _ in range(1 + secrets.randbelow(3)):
                out.insert(secrets.randbelow(len(out) + 1), {"...": self._decoy()})
        return out


@dataclass(frozen=True)
class Issuer:
    """A test issuer: its ``iss``, signing key, and where its status lists live."""

    iss: str
    key: SigningKey
    status_base: str | None = None

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.public_jwk, "use": "sig", "alg": self.key.alg}]}

    def issue(
        self,
        claims: Mapping[Any, Any],
        *,
        holder_jwk: Mapping[str, Any] | None,
        decoys: bool = True,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign ``claims`` (``SDObj`` marks what is disclosable) as a ``dc+sd-jwt`` issuance."""
        issuer_key = JWK(**self.key.to_jwk())
        holder = (
            JWK(**{k: v for k, v in holder_jwk.items() if k in ("kty", "crv", "x", "y")})
            if holder_jwk
            else None
        )
        extra = {"typ": "dc+sd-jwt", "kid": self.key.kid, **(header or {})}
        result = _ReferenceIssuer(
            dict(claims),
            issuer_key,
            holder_key=holder,
            sign_alg=self.key.alg,
            decoys=decoys,
            extra_header_parameters={k: v for k, v in extra.items() if v is not None},
        )
        return str(result.sd_jwt_issuance)


@dataclass(frozen=True)
class IdentitySubject:
    """The person an identity credential describes, and how they were verified."""

    given_name: str = "Erika"
    family_name: str = "Mustermann"
    birthdate: str = "1984-01-26"
    place_of_birth: Mapping[str, str] = field(
        default_factory=lambda: {"country": "DE", "locality": "Berlin"}
    )
    nationalities: Sequence[str] = ("DEU",)
    address: Mapping[str, str] = field(
        default_factory=lambda: {
            "street_address": "Heidestraße 17",
            "locality": "Köln",
            "postal_code": "51147",
            "country": "DE",
        }
    )
    trust_framework: str = "eidas"
    assurance_level: str = "high"
    verified_at: str = "2026-03-02T09:15Z"
    evidence_type: str = "document"
    document_type: str = "idcard"
    document_number: str = "T22000129"


def identity_claims(
    subject: IdentitySubject,
    *,
    iss: str,
    now: int,
    lifetime: int = 365 * DAY,
    status: Mapping[str, Any] | None = None,
    vct: str = IDENTITY_VCT,
) -> dict[Any, Any]:
    """User claims of an IDA identity credential, with disclosability marked (12 SD claims)."""
    evidence = {
        "type": subject.evidence_type,
        SDObj("check_details"): [
            {
                "check_method": "vcrypt",
                "organization": "ekyc.example.com",
                "time": subject.verified_at,
            }
        ],
        SDObj("document_details"): {
            "type": subject.document_type,
            "issuer": {"name": "Stadt Augsburg", "country_code": "DEU"},
            "date_of_expiry": "2031-03-22",
            SDObj("document_number"): subject.document_number,
        },
    }
    claims: dict[Any, Any] = {
        "iss": iss,
        "vct": vct,
        "iat": now,
        "exp": now + lifetime,
        "verified_claims": {
            "verification": {
                "trust_framework": subject.trust_framework,
                "assurance_level": subject.assurance_level,
                SDObj("time"): subject.verified_at,
                SDObj("verification_process"): f"kyc-{uuid.uuid4()}",
                "evidence": [SDObj(evidence)],
            },
            "claims": {
                SDObj("given_name"): subject.given_name,
                SDObj("family_name"): subject.family_name,
                SDObj("birthdate"): subject.birthdate,
                SDObj("place_of_birth"): dict(subject.place_of_birth),
                SDObj("nationalities"): list(subject.nationalities),
                SDObj("address"): dict(subject.address),
            },
        },
    }
    if status is not None:
        claims["status"] = {"status_list": dict(status)}
    return claims


@dataclass(frozen=True)
class MandateGrant:
    """What a principal lets an agent do (agent-mandates §3.1). Amounts in minor units."""

    agent_id: str = "https://agents.operator.example/instances/7c1e4b2a"
    operator_id: str = "https://agents.operator.example"
    operator_name: str = "Example Agent Co."
    software_id: str = "com.operator.shopper"
    software_version: str = "4.2.0"
    actions: Sequence[str] = ("commerce.checkout", "payment.initiate")
    currency: str = "EUR"
    max_amount: int = 25_000
    min_amount: int = 0
    budget: int | None = 60_000
    max_uses: int | None = 5
    merchants: Sequence[Mapping[str, str]] = (
        {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        {"id": "merchant-0815", "name": "Tickets B", "domain": "tickets-b.example"},
    )
    categories: Sequence[Mapping[str, str]] = (
        {"scheme": "iso18245", "code": "5942"},
        {"scheme": "iso18245", "code": "7922"},
    )
    pairwise_ids: Sequence[Mapping[str, str]] = (
        {"aud": "shop-a.example", "sub": "p-7Hc2qK0v"},
        {"aud": "tickets-b.example", "sub": "p-Q91mZt3a"},
    )
    audiences: Sequence[str] = ()  # relying parties (domains) it may be presented to; () = any
    purpose: str = "Buy books and concert tickets; never more than 250 EUR per order."
    validity: int = 7 * DAY
    principal_type: str = "natural_person"
    principal_verification: Mapping[str, str] | None = field(
        default_factory=lambda: {"trust_framework": "eidas", "assurance_level": "high"}
    )
    extra_constraints: Sequence[Mapping[str, Any]] = ()


def mandate_claims(
    grant: MandateGrant,
    *,
    iss: str,
    now: int,
    principal_jkt: str | None,
    status: Mapping[str, Any] | None = None,
    vct: str = MANDATE_VCT,
    jti: str | None = None,
) -> dict[Any, Any]:
    """User claims of an agent mandate; restrictive elements in clear, allow-list members SD."""
    constraints: list[dict[Any, Any]] = [
        {
            "type": "payment.amount_range",
            "currency": grant.currency,
            "min": grant.min_amount,
            "max": grant.max_amount,
        }
    ]
    if grant.budget is not None:
        constraints.append(
            {"type": "payment.budget", "currency": grant.currency, "max": grant.budget}
        )
    if grant.max_uses is not None:
        constraints.append({"type": "mandate.max_uses", "max": grant.max_uses})
    if grant.merchants:
        constraints.append(
            {
                "type": "checkout.allowed_merchants",
                "allowed": [SDObj(dict(m)) for m in grant.merchants],
            }
        )
    if grant.categories:
        constraints.append(
            {
                "type": "checkout.allowed_categories",
                "allowed": [SDObj(dict(c)) for c in grant.categories],
            }
        )
    if grant.audiences:
        constraints.append(
            {"type": "mandate.audiences", "allowed": [SDObj(a) for a in grant.audiences]}
        )
    constraints.extend(dict(c) for c in grant.extra_constraints)
    principal: dict[Any, Any] = {"type": grant.principal_type}
    if principal_jkt is not None:
        principal[SDObj("jkt")] = principal_jkt
    if grant.principal_verification is not None:
        principal[SDObj("verification")] = dict(grant.principal_verification)
    if grant.pairwise_ids:
        principal["pairwise_ids"] = [SDObj(dict(p)) for p in grant.pairwise_ids]
    claims: dict[Any, Any] = {
        "iss": iss,
        "vct": vct,
        "jti": jti or f"urn:uuid:{uuid.uuid4()}",
        "iat": now,
        "nbf": now,
        "exp": now + grant.validity,
        "agent": {
            "id": grant.agent_id,
            "operator": {"id": grant.operator_id, "name": grant.operator_name},
            "software_id": grant.software_id,
            "software_version": grant.software_version,
        },
        "principal": principal,
        "authority": {
            "actions": list(grant.actions),
            "constraints": constraints,
            SDObj("purpose"): grant.purpose,
        },
        "delegation": {"depth": 0, "max_depth": 0},
    }
    if status is not None:
        claims["status"] = {"status_list": dict(status)}
    return claims


def random_salt() -> str:
    return b64url_encode(secrets.token_bytes(16))


def decoy_digest() -> str:
    return hash_b64(random_salt())
