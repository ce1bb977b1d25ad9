"""``docs/CONFIGURATION.md``, generated from the settings model (``agentvp config-docs``).

A test regenerates it and fails when the committed file is stale, so every setting, its default
and its environment variable are always documented.
"""

from __future__ import annotations

from pydantic.fields import FieldInfo

from verifier.settings import Settings

__all__ = ["render"]

HEADER = """# Configuration

Generated from `verifier/settings.py` by `agentvp config-docs` - do not edit by hand.

Every setting can be given as an environment variable (`AGENTVP_<NAME>`), or as a key of the
YAML/JSON file named by `AGENTVP_CONFIG` (without it: `<data_dir>/config.yaml`, which
`agentvp init` writes). Environment variables win over the file; the file wins over defaults.

| Setting | Environment variable | Default | Meaning |
|---|---|---|---|
"""


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value in ("", None):
        return "—"
    return f"`{value}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}` | `AGENTVP_{name.upper()}` | {_default(field)} | {meaning} |")
    return HEADER + "\n".join(rows) + "\n"
