"""Agent access to resource servers (MCP tools): the vocabulary the three parties share.

The verifier (authorization server), the resource server (an MCP server) and the agent agree on:

- the grant type of the token request (:data:`GRANT_TYPE`) and the access token ``typ``
  (``at+jwt``, RFC 9068 §2.1);
- **authorization details** (RFC 9396 §2): one object of type :data:`AUTHORIZATION_DETAILS_TYPE`
  - the agent-action transaction-data type - whose other members are exactly the
  :class:`~verifier.protocol.mandates.authority.AgentAction` fields (``action``, ``transaction_id``,
  ``payee``, ``category``, ``payment_amount``, ``mandate_jti``) plus the common ``locations``
  field (RFC 9396 §2.2) naming the resource. The agent asks for it, the verifier has the
  agent's mandate sign exactly that action, the token carries it;
- **tool bindings**: how one tool call becomes an action. A resource server publishes, in its
  RFC 9728 metadata under :data:`TOOL_BINDINGS_METADATA`, per tool: the ``action`` name, the
  action fields it ``fixed`` itself (a shop fixes the payee: itself) and which tool
  ``arguments`` fill the others (action field path -> argument name). The agent builds the
  action it asks for from the call it wants to make (:func:`action_for_call`); the resource
  server checks each call against the granted action (:func:`check_call`): same action, every
  bound field equal, except that an amount may be lower than granted, never higher.

Pure: no I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from ..mandates.authority import AGENT_ACTION_TYPE, AgentAction, Reason

__all__ = [
    "ACCESS_TOKEN_TYP",
    "ACTION_PATHS",
    "AUTHORIZATION_DETAILS_TYPE",
    "GRANT_TYPE",
    "TOOL_BINDINGS_METADATA",
    "ToolBinding",
    "action_for_call",
    "authorization_details_for",
    "check_call",
    "granted_action",
]

GRANT_TYPE = "urn:agentvp:params:oauth:grant-type:agent-verification"
ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 - a media type, not a secret
AUTHORIZATION_DETAILS_TYPE = AGENT_ACTION_TYPE
TOOL_BINDINGS_METADATA = "agentvp_tool_bindings"
ACTION_PATHS = frozenset(
    {
        "transaction_id",
        "payee.id",
        "payee.name",
        "payee.domain",
        "category.scheme",
        "category.code",
        "payment_amount.amount",
        "payment_amount.currency",
    }
)
AMOUNT = "payment_amount.amount"
_MISSING = object()


class ToolBinding(BaseModel):
    """One tool's action: ``{"action": ..., "fixed": {path: value}, "arguments": {path: arg}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: StrictStr = Field(min_length=1, max_length=128)
    fixed: dict[str, StrictStr | StrictInt] = Field(
        default_factory=dict, description="Action fields the resource server sets itself."
    )
    arguments: dict[str, StrictStr] = Field(
        default_factory=dict, description="Action field path -> name of the tool argument."
    )

    @model_validator(mode="after")
    def _paths(self) -> ToolBinding:
        unknown = (set(self.fixed) | set(self.arguments)) - ACTION_PATHS
        if unknown:
            raise ValueError(f"unknown action paths {sorted(unknown)}")
        if set(self.fixed) & set(self.arguments):
            raise ValueError("a path is either fixed or bound to an argument, not both")
        return self


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, tail = path.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value
        else:
            out[head] = value
    return out


def _flatten(action: AgentAction) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in action.model_dump(exclude_none=True).items():
        if isinstance(value, dict):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def action_for_call(
    binding: ToolBinding,
    arguments: Mapping[str, Any],
    *,
    mandate_jti: str,
    transaction_id: str | None = None,
) -> AgentAction:
    """The action a call of the bound tool performs (agent side); ``ValueError`` if the
    arguments cannot make one."""
    flat: dict[str, Any] = dict(binding.fixed)
    for path, name in binding.arguments.items():
        if name not in arguments:
            raise ValueError(f"the tool call lacks argument {name!r} ({path})")
        flat[path] = arguments[name]
    raw = _nest(flat)
    raw.setdefault("transaction_id", transaction_id or f"tx-{secrets.token_urlsafe(9)}")
    return AgentAction.model_validate({**raw, "action": binding.action, "mandate_jti": mandate_jti})


def authorization_details_for(
    action: AgentAction, locations: Iterable[str]
) -> list[dict[str, Any]]:
    """RFC 9396 ``authorization_details`` granting exactly ``action`` at ``locations``."""
    return [
        {
            "type": AUTHORIZATION_DETAILS_TYPE,
            "locations": list(locations),
            **action.model_dump(exclude_none=True),
        }
    ]


def granted_action(details: Any, *, location: str | None = None) -> AgentAction:
    """The one agent action in ``authorization_details``; ``ValueError`` naming the problem.

    Any other ``type`` is refused (RFC 9396 §5 ``invalid_authorization_details``); with
    ``location``, an entry that lists ``locations`` must list it.
    """
    if not isinstance(details, list) or not details:
        raise ValueError("authorization_details must be a non-empty JSON array")
    if not all(isinstance(d, dict) for d in details):
        raise ValueError("every authorization_details entry must be a JSON object")
    others = sorted({str(d.get("type")) for d in details} - {AUTHORIZATION_DETAILS_TYPE})
    if others:
        raise ValueError(f"unsupported authorization_details types {others}")
    if len(details) != 1:
        raise ValueError("exactly one agent action is supported per request")
    entry = dict(details[0])
    entry.pop("type")
    locations = entry.pop("locations", None)
    if locations is not None and (
        not isinstance(locations, list) or not all(isinstance(x, str) for x in locations)
    ):
        raise ValueError("authorization_details locations must be an array of strings")
    if location is not None and locations is not None and location not in locations:
        raise ValueError(f"{location} is not among the granted locations")
    return AgentAction.model_validate(entry)


def _compare(path: str, name: str, value: Any, granted: Any) -> Reason | None:
    if granted is _MISSING:
        return Reason("value_not_granted", f"{path} is not part of the grant")
    if path == AMOUNT:
        ok = (
            isinstance(value, int)
            and not isinstance(value, bool)
            and isinstance(granted, int)
            and 0 <= value <= granted
        )
        return None if ok else Reason("amount_exceeds_grant", f"{name}={value!r} > {granted!r}")
    if value != granted:
        return Reason("value_not_granted", f"{name}={value!r} is not the granted {path}")
    return None


def check_call(
    binding: ToolBinding, arguments: Mapping[str, Any], granted: AgentAction
) -> list[Reason]:
    """Every way this tool call goes beyond the granted action (empty: within it)."""
    reasons: list[Reason] = []
    if granted.action != binding.action:
        reasons.append(
            Reason(
                "action_not_granted",
                f"the tool performs {binding.action!r}, not the granted {granted.action!r}",
            )
        )
    have = _flatten(granted)
    for path, value in binding.fixed.items():
        reason = _compare(path, path, value, have.get(path, _MISSING))
        if reason is not None:
            reasons.append(reason)
    for path, name in binding.arguments.items():
        value = arguments.get(name, _MISSING)
        if value is _MISSING:
            reasons.append(Reason("argument_missing", f"the call has no {name!r}"))
            continue
        reason = _compare(path, name, value, have.get(path, _MISSING))
        if reason is not None:
            reasons.append(reason)
    return reasons
