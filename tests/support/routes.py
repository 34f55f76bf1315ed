"""Every route an application serves, including those of routers included in routers.

FastAPI 0.165 keeps an included router as one entry of ``app.routes``; its routes are found
through ``effective_route_contexts()``. A walk over ``app.routes`` alone misses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from phivault.api.deps import PERMISSION_KEY


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    permissions: tuple[str, ...]
    has_body: bool


def _walk(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_route_contexts"):
            yield from route.effective_route_contexts()


def served(app: FastAPI) -> list[Served]:
    """(method, path, declared permissions) of every API and page route, HEAD left out."""
    found = []
    for route in _walk(list(app.routes)):
        declared = tuple((route.openapi_extra or {}).get(PERMISSION_KEY, ()))
        has_body = getattr(route, "body_field", None) is not None
        for method in sorted(route.methods - {"HEAD"}):
            found.append(Served(method, route.path, declared, has_body))
    return found


def pages(app: FastAPI) -> list[Served]:
    """The web app's routes: everything served that is not the API, its docs or a file."""
    skip = ("/api/", "/static/", "/docs", "/redoc", "/openapi.json", "/health", "/favicon.ico")
    return [r for r in served(app) if not r.path.startswith(skip)]
