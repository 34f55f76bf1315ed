"""ASGI application factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from phivault import __version__, web
from phivault.api import (
    docs,
    problems,
    routes_admin,
    routes_auth,
    routes_people,
    routes_workforce,
)
from phivault.api.deps import declare
from phivault.api.envelope import Envelope
from phivault.vault import Vault
from phivault.web import (
    account,
    admin,
    audit,
    dashboard,
    documents,
    emergency,
    pages,
    records,
    security,
    tokens,
    workspace,
)
from phivault.web.common import install_page_errors

UPLOAD_SUFFIX = "/documents"
FAVICON = Path(web.__file__).parent / "static" / "favicon.svg"


def create_app(vault: Vault) -> FastAPI:
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="phivault",
        version=__version__,
        description="Guarded, encrypted PHI vault. Sign in at /api/v1/auth/login (session "
        "cookie; unsafe requests carry X-CSRF-Token) or send a scoped API token as "
        "'Authorization: Bearer'. Every PHI route needs an X-Purpose-Of-Use header "
        "(treatment, payment, operations, or other with X-Purpose-Reason).",
    )
    app.state.vault = vault
    problems.install(app)
    # Pages answer input FastAPI refuses with HTML, never the API's problem JSON.
    install_page_errors(app)

    app.add_middleware(
        Envelope,
        # Read through app.state: the vault an app serves can be replaced (tests reuse one app).
        limit=lambda: app.state.vault.settings.max_request_bytes,
        is_upload=lambda method, path: method == "POST" and path.endswith(UPLOAD_SUFFIX),
    )

    @app.get("/health", openapi_extra=declare("public"), tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/favicon.ico", include_in_schema=False, openapi_extra=declare("public"))
    def favicon() -> FileResponse:
        # Browsers ask for it on any page without a <link rel="icon"> (JSON, /openapi.json).
        return FileResponse(FAVICON, media_type="image/svg+xml")

    docs.install(app)
    app.mount(
        "/static/web",
        StaticFiles(directory=Path(web.__file__).parent / "static"),
        name="web-static",
    )
    # The API first: its requests (integrations, scripts) are the many small ones, and a
    # request is matched against the routers in order. No API path overlaps a page's.
    app.include_router(routes_people.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_workforce.router)
    app.include_router(routes_auth.router)
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    # Before the workspace: "/people/new" must not be taken for a person id.
    app.include_router(records.router)
    app.include_router(workspace.router)
    app.include_router(documents.router)
    app.include_router(emergency.router)
    app.include_router(audit.router)
    app.include_router(account.router)
    app.include_router(security.router)
    app.include_router(tokens.router)
    app.include_router(admin.router)
    return app
