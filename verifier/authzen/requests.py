"""AuthZEN Authorization API 1.0 requests: the 4-tuple, batches, defaults and semantics.

- An evaluation (§6.1) is ``{subject, action, resource, context?}``: ``subject`` and ``resource``
  are ``{type, id, properties?}`` with string ``type`` and ``id``, ``action`` is
  ``{name, properties?}``, ``context`` an object. A missing or malformed member is refused as a
  whole (HTTP 400), never guessed.
- A batch (§7.1) has ``evaluations: [...]``; the top-level ``subject``, ``action``, ``resource``
  and ``context`` are defaults that an entry's own member replaces (§7.1.1). Without
  ``evaluations`` the request is one evaluation (backwards compatible).
- ``options.evaluations_semantic`` (§7.1.2) is ``execute_all`` (default), ``deny_on_first_deny``
  or ``permit_on_first_permit``; the short-circuiting ones stop after the first deny (permit),
  whose answer is the last one returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SEMANTICS",
    "Entity",
    "Evaluation",
    "RequestError",
    "Semantic",
    "parse_batch",
    "parse_evaluation",
]

Semantic = Literal["execute_all", "deny_on_first_deny", "permit_on_first_permit"]
SEMANTICS: tuple[Semantic, ...] = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
MAX_BATCH = 64
_FIELDS = ("subject", "action", "resource", "context")


class RequestError(ValueError):
    """A request the PDP cannot evaluate at all (HTTP 400, ``invalid_request``)."""


@dataclass(frozen=True)
class Entity:
    """A subject or resource (§5.1, §5.2)."""

    type: str
    id: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    subject: Entity
    action: str
    action_properties: Mapping[str, Any]
    resource: Entity
    context: Mapping[str, Any]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RequestError(f"{where} must be a JSON object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise RequestError(f"{where} must be a non-empty string")
    return value


def _entity(value: Any, where: str) -> Entity:
    if value is None:
        raise RequestError(f"{where} is required")
    data = _object(value, where)
    props = _object(data.get("properties", {}), f"{where}.properties")
    return Entity(
        _string(data.get("type"), f"{where}.type"), _string(data.get("id"), f"{where}.id"), props
    )


def parse_evaluation(body: Mapping[str, Any]) -> Evaluation:
    """One evaluation request (§6.1); :class:`RequestError` naming the first bad member."""
    subject = _entity(body.get("subject"), "subject")
    action = body.get("action")
    if action is None:
        raise RequestError("action is required")
    action_obj = _object(action, "action")
    name = _string(action_obj.get("name"), "action.name")
    props = _object(action_obj.get("properties", {}), "action.properties")
    resource = _entity(body.get("resource"), "resource")
    context = _object(body.get("context", {}), "context")
    return Evaluation(subject, name, props, resource, context)


def parse_batch(body: Mapping[str, Any]) -> tuple[list[Evaluation], Semantic, bool]:
    """The evaluations of a batch in request order, its semantic, and whether the request was a
    batch at all (False: answer as one evaluation, §7.1)."""
    options = _object(body.get("options", {}), "options")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise RequestError(f"options.evaluations_semantic must be one of {', '.join(SEMANTICS)}")
    entries = body.get("evaluations")
    if entries is None:
        return [parse_evaluation(body)], semantic, False
    if not isinstance(entries, list):
        raise RequestError("evaluations must be an array")
    if len(entries) > MAX_BATCH:
        raise RequestError(f"at most {MAX_BATCH} evaluations per request")
    if not entries:
        return [parse_evaluation(body)], semantic, False
    defaults = {k: body[k] for k in _FIELDS if k in body}
    parsed = []
    for n, entry in enumerate(entries):
        merged = {**defaults, **_object(entry, f"evaluations[{n}]")}
        try:
            parsed.append(parse_evaluation(merged))
        except RequestError as exc:
            raise RequestError(f"evaluations[{n}]: {exc}") from None
    return parsed, semantic, True
