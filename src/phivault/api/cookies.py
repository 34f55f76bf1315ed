"""The session and remembered-device cookies, set the same way by the API and the pages:
HttpOnly, SameSite=Strict, Secure whenever the request came over TLS."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from phivault.identity import sessions


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        sessions.SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def set_device_cookie(response: Response, request: Request, secret: str | None, days: int) -> None:
    """Remember this browser's second factor for the tenant's N days (nothing when no secret)."""
    if secret:
        response.set_cookie(
            sessions.DEVICE_COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
            max_age=days * 86400,
        )
