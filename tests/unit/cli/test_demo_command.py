"""`phivault demo` (and `make demo`): a busy port is named before the long build, with how to
pick another; the server says once, when it listens, where to sign in."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from phivault.cli import main
from phivault.cli.main import announcing_server, app, port_is_free

MAKEFILE = Path(__file__).resolve().parents[3] / "Makefile"


def test_demo_on_a_busy_port_says_how_to_pick_another_before_building(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        result = CliRunner().invoke(
            app,
            ["demo", "--port", str(port)],
            env={"PHIVAULT_HOME": str(tmp_path / "home"), "PHIVAULT_DATABASE_URL": ""},
        )
    assert result.exit_code == 1
    assert f"port {port} is already in use" in result.output
    assert f"PORT={port + 1} make demo" in result.output
    assert not (tmp_path / "home").exists()  # nothing was built


def test_make_demo_takes_the_port_from_PORT() -> None:
    text = MAKEFILE.read_text()
    assert "PORT   ?= 8000" in text
    assert "phivault demo --port $(PORT)" in text
    assert "PORT=8001 make demo" in text


def test_the_server_prints_one_line_when_it_is_ready(monkeypatch) -> None:
    printed: list[str] = []
    monkeypatch.setattr(main.out, "print", lambda text, **_: printed.append(text))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(FastAPI(), host="127.0.0.1", port=port, log_level="warning")
    server = announcing_server(config, "Ready: sign in at http://localhost/login")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        assert printed == []  # not before it listens
        time.sleep(0.01)
    time.sleep(0.1)
    server.should_exit = True
    thread.join(timeout=10)
    assert printed == ["Ready: sign in at http://localhost/login"]
