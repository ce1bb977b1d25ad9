"""Claims path pointers (OpenID4VP 1.0 §7, digest §2.3) over JSON credentials.

A pointer is a non-empty array of: a string (object member), ``null`` (every element of the
selected arrays) or a non-negative integer (one array index). Processing starts with the root as
the only selected element; a string applied to a non-object, or ``null``/an index applied to a
non-array, is an error; an empty final selection means the claim is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DCQLError

__all__ = ["PathComponent", "select_claims", "validate_path", "values_match"]

PathComponent = str | int | None


def validate_path(path: Any) -> tuple[PathComponent, ...]:
    """Check a pointer's shape (used by the DCQL models)."""
    if not isinstance(path, list | tuple) or not path:
        raise DCQLError("claims_path_invalid", "a claims path is a non-empty array")
    for component in path:
        if component is None or isinstance(component, str):
            continue
        if isinstance(component, bool) or not isinstance(component, int) or component < 0:
            raise DCQLError(
                "claims_path_invalid",
                f"path component {component!r} is not a string, null or non-negative integer",
            )
    return tuple(path)


def select_claims(root: Any, path: Sequence[PathComponent]) -> list[Any]:
    """Return the selected JSON values; raise ``claims_path_invalid`` or ``claim_missing``."""
    selected = [root]
    for component in path:
        if isinstance(component, str):
            if any(not isinstance(e, dict) for e in selected):
                raise DCQLError(
                    "claims_path_invalid", f"{list(path)}: {component!r} on a non-object"
                )
            selected = [e[component] for e in selected if component in e]
        elif component is None:
            if any(not isinstance(e, list) for e in selected):
                raise DCQLError("claims_path_invalid", f"{list(path)}: null on a non-array")
            selected = [item for e in selected for item in e]
        elif isinstance(component, int) and not isinstance(component, bool) and component >= 0:
            if any(not isinstance(e, list) for e in selected):
                raise DCQLError("claims_path_invalid", f"{list(path)}: index on a non-array")
            selected = [e[component] for e in selected if component < len(e)]
        else:
            raise DCQLError("claims_path_invalid", f"{list(path)}: bad component {component!r}")
    if not selected:
        raise DCQLError("claim_missing", f"claim {list(path)} is not present")
    return selected


def values_match(value: Any, values: Sequence[str | int | bool]) -> bool:
    """DCQL ``values``: type AND value must equal one element (``True`` is not ``1``)."""
    return any(type(value) is type(v) and value == v for v in values)
