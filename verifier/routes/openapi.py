"""The OpenAPI document (``/openapi.json``, ``/docs``): what the routes really answer.

The routes read their bodies themselves (strict JSON, strict forms: see :mod:`.deps`), so FastAPI
cannot see them; each route declares its body with :func:`json_request` or :func:`form_request`
(``openapi_extra``) and its error answers with :func:`errors` (``responses=``), every one in the
``{"error", "error_description"}`` shape of :class:`ErrorResponse`, and its JSON success answer
with :func:`answers` (the models of :mod:`.schemas`). :func:`document` builds the
document: the declared body models join ``components``, and FastAPI's automatic ``422`` goes,
because this service answers every validation error with ``400 invalid_request`` (``app.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

__all__ = [
    "ErrorResponse",
    "answers",
    "content",
    "document",
    "errors",
    "form_request",
    "json_request",
]

_DESCRIPTIONS = {
    400: "Invalid request (`invalid_request` or a more specific OAuth/OpenID4VP code).",
    401: "Missing or unknown API key (`invalid_token`).",
    403: "Refused (`access_denied`).",
    404: "No such resource (`not_found`; `invalid_request` for an unknown wallet request).",
    409: "Not in a state that allows this (e.g. `confirmation_pending`, `confirmation_used`).",
    413: "Request body over `AGENTVP_MAX_BODY_BYTES`.",
    415: "Wrong `Content-Type`.",
    429: "Too many requests from this client (`temporarily_unavailable`, `Retry-After`).",
    503: "The transaction store is unreachable (`temporarily_unavailable`).",
}
_BODY_MODELS: dict[str, type[BaseModel]] = {}


class ErrorResponse(BaseModel):
    """Every error this service answers (OAuth 2.0 style)."""

    error: str = Field(description="An OAuth 2.0 / OpenID4VP error code.")
    error_description: str = Field(description="Human-readable text.")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


def answers(
    model: type[BaseModel], status: int = 200, description: str = "Success."
) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry for a JSON success body shaped like ``model``
    (:mod:`verifier.routes.schemas`)."""
    return {status: {"model": model, "description": description}}


def content(media_type: str, *, binary: bool = False, description: str = "") -> dict[str, Any]:
    """A ``responses=`` entry for a non-JSON success body."""
    schema = {"type": "string", **({"format": "binary"} if binary else {})}
    return {"description": description, "content": {media_type: {"schema": schema}}}


def json_request(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required ``application/json`` body of ``model``."""
    _BODY_MODELS[model.__name__] = model
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def form_request(
    fields: dict[str, str],
    *,
    required: Iterable[str] = (),
    arrays: Iterable[str] = (),
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` declaring an ``application/x-www-form-urlencoded`` body: string
    ``fields`` (name: description), some of them repeatable (``arrays``), and header
    parameters."""
    repeat = set(arrays)
    properties = {
        name: (
            {"type": "array", "items": {"type": "string"}, "description": text}
            if name in repeat
            else {"type": "string", "description": text}
        )
        for name, text in fields.items()
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required := list(required):
        schema["required"] = required
    extra: dict[str, Any] = {
        "requestBody": {
            "required": bool(required),
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }
    if headers:
        extra["parameters"] = [
            {"name": name, "in": "header", "required": False, "description": text}
            | {"schema": {"type": "string"}}
            for name, text in headers.items()
        ]
    return extra


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (built once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _BODY_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc
