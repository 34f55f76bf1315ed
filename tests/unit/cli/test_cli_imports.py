"""`phivault --help` answers at once (issue 9): the command line imports the database layer,
the settings and the web server only in the commands that use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
HEAVY = ("sqlalchemy", "uvicorn", "pydantic", "fastapi", "phivault.access", "phivault.config")


def test_loading_the_command_line_imports_nothing_heavy() -> None:
    probe = (
        f"import sys, phivault.cli.main; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert loaded == ""


def test_help_lists_every_command() -> None:
    from typer.testing import CliRunner

    from phivault.cli.main import app

    shown = CliRunner().invoke(app, ["--help"]).output
    for command in ("init", "demo", "serve", "db", "audit", "keys", "user", "sessions"):
        assert command in shown
