"""ASGI application factory."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from phivault import __version__
from phivault.access.unit import Vault
from phivault.api import docs, problems, routes_admin, routes_people
from phivault.api.deps import declare

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
UPLOAD_SUFFIX = "/documents"


def create_app(vault: Vault) -> FastAPI:
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="phivault",
        version=__version__,
        description="Guarded, encrypted PHI vault. Every PHI route needs a bearer token and "
        "an X-Purpose-Of-Use header (treatment, payment, operations, or other with "
        "X-Purpose-Reason).",
    )
    app.state.vault = vault
    problems.install(app)

    @app.middleware("http")
    async def _envelope(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = secrets.token_hex(8)
        limit = vault.settings.max_request_bytes
        is_upload = request.method == "POST" and request.url.path.endswith(UPLOAD_SUFFIX)
        length = request.headers.get("content-length")
        if not is_upload and length is not None and (not length.isdigit() or int(length) > limit):
            response: Response = problems.problem(
                request,
                413,
                "payload-too-large",
                "Payload too large",
                f"request bodies may be at most {limit} bytes",
            )
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    @app.get("/health", openapi_extra=declare("public"), tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    docs.install(app)
    app.include_router(routes_people.router)
    app.include_router(routes_admin.router)
    return app
