"""Point 13 of issue 15: ``/docs`` is served from files the package ships (no CDN, no inline
script, the strict CSP), and every JSON success answer of the OpenAPI document has a schema.
(``tests/browser/test_docs_page.py`` renders it in Chromium, offline.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integrator.helpers import client as app_client
from tests.integrator.helpers import data_dir
from verifier.routes.web import CSP

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(tmp_path, data_dir(tmp_path)) as http:
        yield http


async def test_docs_page_loads_only_local_files_under_the_csp(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # same origin only
    for source in sources:
        if source.startswith("/docs/assets/"):
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert asset.headers["content-security-policy"] == CSP
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert len(bundle.content) > 500_000  # Swagger UI itself, not a stub
    assert b"SwaggerUIBundle" in bundle.content


@pytest.mark.parametrize("name", ["../app.py", "core.py", "redoc.standalone.js", "x.js"])
async def test_docs_assets_are_an_allow_list(client: httpx.AsyncClient, name: str) -> None:
    answer = await client.get(f"/docs/assets/{name}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


async def test_the_cdn_pages_of_fastapi_are_gone(client: httpx.AsyncClient) -> None:
    assert (await client.get("/redoc")).status_code == 404
    assert "cdn.jsdelivr.net" not in (await client.get("/docs")).text


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


async def test_every_json_success_answer_has_a_response_schema(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    seen = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                body = response.get("content", {}).get("application/json")
                if not status.startswith("2") or body is None:
                    continue
                schema = _resolve(doc, body["schema"])
                assert schema.get("properties"), (method, path, status)
                seen += 1
    assert seen >= 14
    created = doc["paths"]["/v1/presentations"]["post"]["responses"]["201"]
    view = _resolve(doc, created["content"]["application/json"]["schema"])
    assert {"id", "status", "authorization_request_uri", "qr_png_uri"} <= set(view["required"])
