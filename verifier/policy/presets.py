"""The policy file: named DCQL presets (``profile`` in ``POST /v1/presentations``).

``AGENTVP_POLICY_FILE`` (YAML or JSON)::

    presets:
      identity:
        description: Verified person (IDA verified_claims)
        dcql_query: {credentials: [...]}

Named agent policies (mandate, identity and transaction rules) live under ``policies:``; see
:mod:`verifier.policy.rules`. Resource servers guarded by a policy (agent access tokens) live
under ``resources:``; see :mod:`verifier.policy.resources`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from verifier.config_files import load_document
from verifier.policy.ap2 import AP2Policy
from verifier.policy.resources import ResourcePolicy
from verifier.policy.rules import AgentPolicy
from verifier.protocol import AgentVPError, DCQLQuery
from verifier.protocol.errors import first_error

__all__ = ["PolicyFile", "Preset", "load_policy_file"]


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    dcql_query: dict[str, Any]

    @field_validator("dcql_query")
    @classmethod
    def _valid_query(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            DCQLQuery.parse(value, strict=True)  # the RP's own query: no unknown members
        except AgentVPError as exc:
            raise ValueError(exc.reason) from None
        return value


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    presets: dict[str, Preset] = Field(default_factory=dict)
    policies: dict[str, AgentPolicy] = Field(default_factory=dict)
    resources: dict[str, ResourcePolicy] = Field(default_factory=dict)
    ap2_policies: dict[str, AP2Policy] = Field(default_factory=dict)  # policy/ap2.py


def load_policy_file(path: Path | None) -> PolicyFile:
    """Parse and validate; a bad file fails with its path and the bad field's location."""
    if path is None:
        return PolicyFile()
    if not path.exists():
        raise FileNotFoundError(f"policy file {path} does not exist")
    data = load_document(path)
    try:
        return PolicyFile.model_validate(data or {})
    except ValidationError as exc:
        raise ValueError(f"{path}: {first_error(exc)}") from None
