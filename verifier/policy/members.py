"""Reading members of verified but untyped claim objects: a wrong type reads as absent."""

from __future__ import annotations

from typing import Any

__all__ = ["list_at", "obj_at"]


def obj_at(mapping: Any, key: str) -> dict[str, Any]:
    """``mapping[key]`` if both are objects, else ``{}``."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def list_at(mapping: Any, key: str) -> list[Any]:
    """``mapping[key]`` if ``mapping`` is an object and the member an array, else ``[]``."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, list) else []
