"""FastAPI's native OpenTelemetry: off for the app's life only where nothing could receive it.

Without ``opentelemetry-sdk`` and without an ``OTEL_PYTHON_*_PROVIDER`` variable no provider
but the API's no-op one can exist, so the app does not ask the global providers on every
request; with either, FastAPI asks per request as it does by default.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import _logs, metrics, trace

from tests.e2e.harness import in_process_app
from verifier import app as app_module
from verifier.setup.data_dir import init_data_dir

pytestmark = pytest.mark.e2e

PUBLIC = "http://localhost:8080"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("otel") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


async def provider_lookups(data_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> int:
    """How often serving two requests asked for the global tracer provider."""
    app = in_process_app(*data_dir, public_url=PUBLIC)
    asked: list[Any] = []

    def counted() -> Any:  # the no-op answer, without loading the provider a variable names
        asked.append(1)
        return trace.NoOpTracerProvider()

    monkeypatch.setattr(trace, "get_tracer_provider", counted)
    monkeypatch.setattr(metrics, "get_meter_provider", metrics.NoOpMeterProvider)
    monkeypatch.setattr(_logs, "get_logger_provider", _logs.NoOpLoggerProvider)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
        for _ in range(2):
            assert (await client.get("/healthz")).status_code == 200
    return len(asked)


@pytest.mark.anyio
async def test_without_an_sdk_the_providers_are_not_asked_per_request(
    data_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert importlib.util.find_spec("opentelemetry.sdk") is None  # as installed by the gate
    for name in app_module._OTEL_PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert await provider_lookups(data_dir, monkeypatch) == 0


@pytest.mark.anyio
@pytest.mark.parametrize("name", app_module._OTEL_PROVIDER_VARIABLES)
async def test_a_provider_variable_keeps_fastapis_per_request_check(
    name: str, data_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "some_provider")
    assert await provider_lookups(data_dir, monkeypatch) >= 2


@pytest.mark.anyio
async def test_an_installed_sdk_keeps_fastapis_per_request_check(
    data_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "opentelemetry.sdk" else real(name, *a),
    )
    assert await provider_lookups(data_dir, monkeypatch) >= 2
