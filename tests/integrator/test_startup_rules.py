"""The rules behind points 1, 5 and 8 of issue 15, in-process: where ``serve`` listens
(:func:`bind_address`) and the one-line file and settings errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.config_files import ConfigFileError, load_document
from verifier.settings import Settings, public_url_problem
from verifier.setup.startup import bind_address, is_loopback_url, load_settings


def _settings(**values: object) -> Settings:
    return Settings(data_dir=Path("/nonexistent"), **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("public_url", "given", "expected"),
    [
        ("http://127.0.0.1:18080", {}, ("127.0.0.1", 18080)),
        ("http://localhost:9000/", {}, ("127.0.0.1", 9000)),
        ("http://localhost", {}, ("127.0.0.1", 80)),
        ("http://[::1]:8443", {}, ("::1", 8443)),
        ("http://localhost:9000", {"port": 9000}, ("127.0.0.1", 9000)),
        ("https://verifier.example.com", {"port": 8080}, ("127.0.0.1", 8080)),  # a proxy
        ("https://verifier.example.com", {}, ("127.0.0.1", 8080)),
        (
            "http://localhost:9000",
            {"port": 8080, "trusted_proxies": "127.0.0.1"},
            ("127.0.0.1", 8080),
        ),
        ("http://localhost:9000", {"host": "0.0.0.0"}, ("0.0.0.0", 9000)),
    ],
)
def test_where_serve_listens(
    public_url: str, given: dict[str, object], expected: tuple[str, int]
) -> None:
    assert bind_address(_settings(public_url=public_url, **given)) == expected


def test_a_chosen_port_other_than_the_local_public_urls_is_refused() -> None:
    with pytest.raises(ValueError, match=r"port 8080 \(--port / AGENTVP_PORT\) does not match"):
        bind_address(_settings(public_url="http://127.0.0.1:18080", port=8080))


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:1", True),
        ("http://a.localhost", True),
        ("http://127.9.9.9", True),
        ("http://[::1]", True),
        ("https://example.com", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback_urls(url: str, local: bool) -> None:
    assert is_loopback_url(url) is local


@pytest.mark.parametrize(
    "url", ["localhost:8080", "ftp://x", "http://", "http://a:99999", "http://u:p@a", "http://a/?q"]
)
def test_public_url_problems(url: str) -> None:
    assert public_url_problem(url) is not None


def test_settings_errors_are_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTVP_PORT", "99999")
    with pytest.raises(
        ValueError, match=r"^setting port \(--port / AGENTVP_PORT / the config"
    ) as exc:
        load_settings({"port": "--port"}, data_dir=Path("/nonexistent"))
    assert "\n" not in str(exc.value) and "pydantic" not in str(exc.value)


def test_file_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "policy.yaml"
    bad_yaml.write_text("presets:\n  a: [1, 2\n  b: 3\n")
    with pytest.raises(ConfigFileError) as exc:
        load_document(bad_yaml)
    assert str(exc.value).startswith(f"{bad_yaml}:3:")
    assert "YAML syntax error" in str(exc.value) and "\n" not in str(exc.value)
    bad_json = tmp_path / "trust.json"
    bad_json.write_text('{"issuers": [}')
    with pytest.raises(ConfigFileError, match=r"trust\.json:1:14: JSON syntax error"):
        load_document(bad_json)
    with pytest.raises(ConfigFileError, match="cannot read"):
        load_document(tmp_path / "missing.yaml")
    binary = tmp_path / "config.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load_document(binary)
