"""docs/CONFIGURATION.md must match the settings model (regenerate: agentvp config-docs)."""

from pathlib import Path

from verifier.settings import Settings
from verifier.setup.config_docs import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "CONFIGURATION.md"


def test_configuration_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/CONFIGURATION.md is stale: run `agentvp config-docs > docs/CONFIGURATION.md`"
    )


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
        assert f"`AGENTVP_{name.upper()}`" in text
