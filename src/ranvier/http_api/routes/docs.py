"""The OpenAPI document and Swagger UI, served from the installed `swagger-ui-bundle`
package so the UI works without internet access (no CDN, no online validator)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..openapi import build_document

SWAGGER_DIST = Path(swagger_ui_bundle.swagger_ui_path)
DOCUMENT_URL = "/v3/api-docs"

_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ranvier REST API</title>
  <link rel="stylesheet" href="/swagger-ui/swagger-ui.css">
  <link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/swagger-ui/swagger-ui-bundle.js" charset="utf-8"></script>
  <script src="/swagger-ui/swagger-ui-standalone-preset.js" charset="utf-8"></script>
  <script src="/swagger-ui/swagger-initializer.js" charset="utf-8"></script>
</body>
</html>
"""

# validatorUrl: null keeps the UI from calling validator.swagger.io.
_INITIALIZER = f"""window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "{DOCUMENT_URL}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  }});
}};
"""


async def get_document(request: Request) -> JSONResponse:
    return JSONResponse(build_document())


async def swagger_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/swagger-ui/index.html", status_code=302)


async def swagger_index(request: Request) -> HTMLResponse:
    return HTMLResponse(_INDEX)


async def swagger_initializer(request: Request) -> Response:
    return Response(_INITIALIZER, media_type="application/javascript")


routes = [
    Route(DOCUMENT_URL, get_document, methods=["GET"]),
    Route("/openapi.json", get_document, methods=["GET"]),
    Route("/swagger-ui.html", swagger_redirect, methods=["GET"]),
    Route("/swagger-ui", swagger_redirect, methods=["GET"]),
    Route("/swagger-ui/", swagger_redirect, methods=["GET"]),
    Route("/swagger-ui/index.html", swagger_index, methods=["GET"]),
    Route("/swagger-ui/swagger-initializer.js", swagger_initializer, methods=["GET"]),
    Mount("/swagger-ui", app=StaticFiles(directory=SWAGGER_DIST), name="swagger-ui"),
]
