"""OpenAPI shapes of the AuthZEN and Shared Signals endpoints (documentation only: the handlers
parse bodies strictly themselves, :mod:`verifier.authzen.requests`, :mod:`verifier.ssf.streams`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuthZENConfiguration",
    "EvaluationAnswer",
    "EvaluationRequest",
    "EvaluationsAnswer",
    "EvaluationsRequest",
    "PollAnswer",
    "PollRequest",
    "SSFConfiguration",
    "StreamConfiguration",
    "StreamConfigurations",
    "StreamStatus",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Entity(_Open):
    type: str
    id: str
    properties: dict[str, Any] | None = None


class Action(_Open):
    name: str = Field(description="`tools/call`, or a mandate action such as `payment.initiate`.")
    properties: dict[str, Any] | None = None


class EvaluationRequest(_Open):
    subject: Entity = Field(description="`{type: token, id: <access token>}`, ...")
    action: Action
    resource: Entity = Field(description="`{type: tool, id, properties: {server}}` or a payee.")
    context: dict[str, Any] | None = Field(
        None, description="`amount`, `currency`, `transaction_id`; `execute: true` consumes."
    )


class EvaluationsRequest(_Open):
    subject: Entity | None = None
    action: Action | None = None
    resource: Entity | None = None
    context: dict[str, Any] | None = None
    evaluations: list[dict[str, Any]] | None = Field(None, max_length=64)
    options: dict[str, Any] | None = Field(
        None,
        description="`evaluations_semantic`: execute_all, deny_on_first_deny, "
        "permit_on_first_permit.",
    )


class EvaluationAnswer(_Open):
    decision: bool
    context: dict[str, Any] | None = Field(
        None, description="`reasons` (Reason Objects), `step_up`, or what was allowed."
    )


class EvaluationsAnswer(_Open):
    evaluations: list[EvaluationAnswer] | None = Field(None, description="In request order.")
    decision: bool | None = Field(None, description="Only when no `evaluations` were sent.")
    context: dict[str, Any] | None = None


class AuthZENConfiguration(_Open):
    policy_decision_point: str
    access_evaluation_endpoint: str
    access_evaluations_endpoint: str


class SSFConfiguration(_Open):
    spec_version: str
    issuer: str
    jwks_uri: str
    delivery_methods_supported: list[str]
    configuration_endpoint: str
    status_endpoint: str
    add_subject_endpoint: str
    remove_subject_endpoint: str
    verification_endpoint: str


class StreamConfiguration(_Open):
    """One stream; `GET /ssf/stream` without `stream_id` answers an array of these."""

    stream_id: str
    iss: str
    aud: str
    delivery: dict[str, Any]
    events_supported: list[str]
    events_requested: list[str]
    events_delivered: list[str]
    description: str | None = None


def _object_or_array(schema: dict[str, Any]) -> None:
    schema["type"] = ["object", "array"]  # properties/required constrain objects only
    schema["items"] = {"$ref": "#/components/schemas/StreamConfiguration"}


class StreamConfigurations(StreamConfiguration):
    """`GET /ssf/stream`: one stream (with `stream_id`), or an array of the receiver's."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_object_or_array)


class StreamStatus(_Open):
    stream_id: str
    status: str = Field(description="enabled, paused or disabled.")
    reason: str | None = None


class PollRequest(_Open):
    ack: list[str] | None = None
    setErrs: dict[str, Any] | None = None  # noqa: N815 (RFC 8936 member name)
    maxEvents: int | None = None  # noqa: N815
    returnImmediately: bool | None = None  # noqa: N815


class PollAnswer(_Open):
    sets: dict[str, str] = Field(description="jti -> SET (compact JWS).")
    moreAvailable: bool  # noqa: N815
