"""RFC 9457 problem details. Never a stack trace, never a submitted value (I-4)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from phivault.errors import PhivaultError, TooManyAttempts

log = logging.getLogger("phivault.api")
PROBLEM_BASE = "https://phivault.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request, status: int, slug: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", ""),
        **extra,
    }
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="phivault"'
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_HTTP_SLUGS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(PhivaultError)
    async def _domain(request: Request, exc: PhivaultError) -> JSONResponse:
        response = problem(request, exc.status, exc.slug, exc.title, exc.detail)
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the offending fields and what is wrong; never echo the submitted value.
        errors = [
            {
                "location": ".".join(str(p) for p in err.get("loc", ())),
                # Pydantic sometimes quotes the input after a colon: keep only the rule.
                "problem": str(err.get("msg", "")).split(":")[0].split(",")[0],
            }
            for err in exc.errors()
        ]
        return problem(
            request,
            422,
            "invalid-input",
            "The request is not valid",
            "some fields are missing or malformed",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "Request failed"))
        return problem(request, exc.status_code, slug, title, title)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled %s on %s (request %s)",
            type(exc).__name__,
            request.url.path,
            getattr(request.state, "request_id", ""),
        )
        return problem(
            request,
            500,
            "internal-error",
            "Internal error",
            "the request failed; the event was logged without its data",
        )
