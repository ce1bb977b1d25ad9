"""``/docs``: the API documentation (Swagger UI 5 over ``/openapi.json``), entirely local.

FastAPI's own ``/docs`` loads Swagger UI from a CDN with an inline script: blank offline and
against this service's CSP. Here every file comes from the installed packages: Swagger UI's
bundle and stylesheet from ``fastapi-offline`` (a dependency that ships them), the page and its
start-up script from this module - no inline script or style, so the page runs under the same
strict :data:`~verifier.routes.web.CSP` as the other pages (``default-src 'self'``). The
validator badge (an image from the internet) is switched off.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from verifier.errors import ServiceError
from verifier.routes.web import SecureRoute

__all__ = ["ASSETS", "router", "swagger_ui_dir"]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentvp API</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<script src="/docs/assets/swagger-ui-bundle.js" defer></script>
<script src="/docs/assets/init.js" defer></script>
</head>
<body>
<div id="swagger-ui"><noscript>The API documentation needs JavaScript; the document itself
is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
</body>
</html>
"""
INIT_JS = """"use strict";
// Starts Swagger UI on this verifier's OpenAPI document (no inline script: strict CSP).
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
  });
});
"""
# Served name -> media type; the Swagger UI files come from fastapi-offline's static folder.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
CACHE = {"Cache-Control": "public, max-age=3600"}


def swagger_ui_dir() -> Path:
    """The folder holding Swagger UI's ``swagger-ui-bundle.js`` and ``swagger-ui.css``."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed (pip install agentvp)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


router = APIRouter(route_class=SecureRoute, include_in_schema=False)


@router.get("/docs")
async def docs_page() -> Response:
    """The API documentation page."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    """Swagger UI's files and the page's start-up script; nothing else."""
    if name == "init.js":
        return Response(INIT_JS, media_type="text/javascript; charset=utf-8", headers=CACHE)
    media_type = ASSETS.get(name)
    path = swagger_ui_dir() / name
    if media_type is None or not path.is_file():
        raise ServiceError(404, "not_found", "no such file")
    return FileResponse(path, media_type=media_type, headers=CACHE)
