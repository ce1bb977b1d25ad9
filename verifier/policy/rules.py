"""Named agent policies in the policy file (agent-mandates §6.1): mandate, identity, transaction.

    policies:
      shop-checkout:
        mandate:
          accepted_vct: [https://agentvp.example/vct/agent_mandate/1]
          accepted_issuers: [https://mandates.agentvp.example]
          max_validity: 2592000            # seconds between nbf (or iat) and exp
          status_required: true
          required_actions: [payment.initiate]
          unknown_constraint: reject
          accepted_operators: [https://agents.operator.example]
        identity:
          accepted_vct: [https://agentvp.example/vct/verified_person/1]
          accepted_issuers: [https://ekyc.agentvp.example]
          trust_frameworks:
            eidas: {levels: [low, substantial, high], min: substantial}
            de_aml: {}                      # accepted, no ordinal levels
          max_verification_age: P24M        # ISO 8601 duration or seconds
          accepted_evidence_types: [document, electronic_record]
          required_claims: [given_name, family_name, birthdate]
          required_when:
            - amount_minor_gt: 25000
            - first_use_of_principal: true
        transaction:
          td_type: https://agentvp.example/td/agent_action/1
          hash_alg: sha-256
          kb_max_age: 120
          payee_domain: shop-a.example
          rp_limits: {EUR: {per_tx_max_minor: 100000}}

The RP decides what is enough; a credential never does. Every field is validated at startup.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.protocol.mandates.authority import AGENT_ACTION_TYPE

__all__ = [
    "AgentPolicy",
    "IdentityPolicy",
    "MandatePolicy",
    "RequiredWhen",
    "TransactionPolicy",
    "parse_duration",
]

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
_UNITS = {
    "y": 365 * 86400,
    "mo": 30 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "mi": 60,
    "s": 1,
}


def parse_duration(value: int | str) -> int:
    """Seconds from an integer or an ISO 8601 duration (years = 365 days, months = 30 days)."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    match = _DURATION.fullmatch(value)
    if match is None or value in ("P", "PT"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P24M or PT12H")
    return sum(int(v) * _UNITS[k] for k, v in match.groupdict().items() if v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MandatePolicy(_Strict):
    accepted_vct: list[str] = Field(min_length=1)
    accepted_issuers: list[str] | None = None
    max_validity: int = Field(30 * 86400, ge=60)
    status_required: bool = True
    required_actions: list[str] = Field(default_factory=list)
    unknown_constraint: Literal["reject"] = "reject"
    accepted_operators: list[str] | None = None
    max_delegation_depth: int = Field(0, ge=0, le=0)


class FrameworkRule(_Strict):
    levels: list[str] | None = None
    min: str | None = None

    @model_validator(mode="after")
    def _min_is_a_level(self) -> FrameworkRule:
        if self.min is not None and (self.levels is None or self.min not in self.levels):
            raise ValueError(f"min {self.min!r} must be one of the listed levels")
        return self


class RequiredWhen(_Strict):
    amount_minor_gt: int | None = Field(None, ge=0)
    first_use_of_principal: bool | None = None
    always: bool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RequiredWhen:
        given = [
            v
            for v in (self.amount_minor_gt, self.first_use_of_principal, self.always)
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError("each required_when rule has exactly one condition")
        return self


class IdentityPolicy(_Strict):
    accepted_vct: list[str] = Field(min_length=1)
    accepted_issuers: list[str] | None = None
    trust_frameworks: dict[str, FrameworkRule] = Field(min_length=1)
    max_verification_age: int | None = None
    accepted_evidence_types: list[str] | None = None
    required_claims: list[str] = Field(default_factory=list)
    required_when: list[RequiredWhen] = Field(default_factory=list)

    @field_validator("max_verification_age", mode="before")
    @classmethod
    def _age(cls, value: Any) -> int | None:
        return None if value is None else parse_duration(value)


class RPLimit(_Strict):
    per_tx_max_minor: int = Field(ge=0)


class TransactionPolicy(_Strict):
    td_type: str = AGENT_ACTION_TYPE
    hash_alg: Literal["sha-256", "sha-384", "sha-512"] = "sha-256"
    kb_max_age: int = Field(120, ge=5)
    payee_domain: str | None = None
    rp_limits: dict[str, RPLimit] = Field(default_factory=dict)


class AgentPolicy(_Strict):
    mandate: MandatePolicy
    identity: IdentityPolicy | None = None
    transaction: TransactionPolicy = Field(default_factory=TransactionPolicy)
