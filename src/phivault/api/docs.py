"""Interactive API documentation served entirely by phivault (no CDN, strict CSP).

Swagger UI is vendored in ``api/static/swagger`` (swagger-ui-dist 5.x, see its VERSION file):
FastAPI writes OpenAPI 3.1, which Swagger UI reads from version 5 on (the 4.x of the
``swagger-ui-bundle`` package showed only "Unable to render this definition")."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from phivault.api.deps import declare

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phivault API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/api/docs-init.js"></script></body></html>"""


def install(app: FastAPI) -> None:
    static = Path(__file__).parent / "static"
    app.mount("/static/swagger", StaticFiles(directory=static / "swagger"), name="swagger")
    app.mount("/static/api", StaticFiles(directory=static), name="api")

    @app.get("/docs", include_in_schema=False, openapi_extra=declare("public"))
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_CSP})
