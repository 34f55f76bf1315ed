"""Browser tests: Playwright for Python driving the system Chromium (no browser downloads),
against a phivault server started on a free loopback port for each test.

Browser tests run on SQLite: the data layer is tested on both backends by the unit and
functional tests, and a page behaves the same whatever stores its rows. A smoke set, marked
``@both_backends`` (tests/browser/helpers.py), also runs on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import app_for, require_postgres

CHROMIUM = os.environ.get("PHIVAULT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for both backends (``@both_backends``)."""
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


class _Serving:
    """The application the process's test server hands each request to: the current test's."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[str, _Serving]]:
    """One uvicorn server per test process, in a thread: starting and stopping one for each
    test cost about half a second."""
    serving = _Serving()
    port = _free_port()
    config = uvicorn.Config(serving, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", serving
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live_server(env, _server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The test's vault, served; yields the server's base URL."""
    url, serving = _server
    serving.app = app_for(env.vault)
    yield url
    serving.app = None


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
