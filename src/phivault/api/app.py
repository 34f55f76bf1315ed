"""ASGI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from phivault import __version__
from phivault.access.unit import Vault
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

UPLOAD_SUFFIX = "/documents"


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

    app.add_middleware(
        Envelope,
        limit=lambda: vault.settings.max_request_bytes,
        is_upload=lambda method, path: method == "POST" and path.endswith(UPLOAD_SUFFIX),
    )

    @app.get("/health", openapi_extra=declare("public"), tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    docs.install(app)
    app.include_router(routes_people.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_workforce.router)
    app.include_router(routes_auth.router)
    return app
