"""The envelope around every request: request id, body-size limit, security headers, and a
problem-JSON 500 (with the same headers) for anything unexpected.

Written as plain ASGI so that it sees the body as it streams (a chunked body without a
Content-Length is cut off at the limit, not buffered whole) and so that it also wraps the
responses of unexpected errors, which Starlette's error middleware would otherwise send bare.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phivault.api.problems import MEDIA_TYPE, PROBLEM_BASE

log = logging.getLogger("phivault.api")

SECURITY_HEADERS = {
    b"cache-control": b"no-store",
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'",
}


HSTS = b"max-age=63072000; includeSubDomains"


class Envelope:
    def __init__(
        self, app: ASGIApp, *, limit: Callable[[], int], is_upload: Callable[[str, str], bool]
    ) -> None:
        self.app = app
        self.limit = limit
        self.is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        state = {"started": False, "answered": False}

        async def send_with_headers(message: Message) -> None:
            if state["answered"]:
                return  # we already refused the request; the app's own reply is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", HSTS))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        async def refuse_too_large() -> None:
            limit = self.limit()
            await _problem(
                scope,
                request_id,
                send_with_headers,
                413,
                "payload-too-large",
                "Payload too large",
                f"request bodies may be at most {limit} bytes",
            )
            state["answered"] = True

        if not self.is_upload(scope["method"], scope["path"]):
            if _declared_length(scope) > self.limit():
                await refuse_too_large()
                return
            receive = self._limited(receive, refuse_too_large)
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if state["answered"]:
                return
            log.error(
                "unhandled %s on %s (request %s)", type(exc).__name__, scope["path"], request_id
            )
            if state["started"]:
                raise
            await _problem(
                scope,
                request_id,
                send_with_headers,
                500,
                "internal-error",
                "Internal error",
                "the request failed; the event was logged without its data",
            )

    def _limited(self, receive: Receive, refuse: Callable[[], Awaitable[None]]) -> Receive:
        limit = self.limit()
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 now and tell the app the client went away: it stops reading.
                    await refuse()
                    return {"type": "http.disconnect"}
            return message

        return limited_receive


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else 1 << 62
    return 0


async def _problem(
    scope: Scope, request_id: str, send: Send, status: int, slug: str, title: str, detail: str
) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_BASE + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
