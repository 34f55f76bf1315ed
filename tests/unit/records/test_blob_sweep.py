"""An upload cut off by kill -9 leaves a .partial file; the server sweeps stale ones at
start-up and leaves uploads in progress alone (issue 8)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from typer.testing import CliRunner

from phivault.cli import main
from phivault.records.blobs import STALE_PARTIAL_SECONDS, BlobStore


def _partial(store: BlobStore, age_seconds: float) -> Path:
    final = store.path(uuid.uuid4(), uuid.uuid4())
    final.parent.mkdir(parents=True)
    partial = final.with_suffix(".partial")
    partial.write_bytes(b"ciphertext of an upload that never finished")
    then = time.time() - age_seconds
    os.utime(partial, (then, then))
    return partial


def test_stale_partials_go_and_uploads_in_progress_stay(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    stale = _partial(store, STALE_PARTIAL_SECONDS + 60)
    live = _partial(store, 5)
    published = store.path(uuid.uuid4(), uuid.uuid4())
    published.parent.mkdir(parents=True)
    published.write_bytes(b"a finished document")
    os.utime(published, (0, 0))
    assert store.sweep_partials() == 1
    assert not stale.exists() and live.exists() and published.exists()


def test_a_missing_store_sweeps_nothing(tmp_path: Path) -> None:
    assert BlobStore(tmp_path / "none").sweep_partials() == 0


def test_serve_sweeps_before_it_listens(env, monkeypatch) -> None:
    store = BlobStore(env.settings.blob_dir)
    stale = _partial(store, STALE_PARTIAL_SECONDS + 60)
    monkeypatch.setattr(main, "load_settings", lambda: env.settings)
    monkeypatch.setattr(
        main,
        "announcing_server",
        lambda config, ready: type("NoServer", (), {"run": lambda self: None})(),
    )
    result = CliRunner().invoke(main.app, ["serve", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert "Removed 1 unfinished upload file(s)" in result.output
    assert stale.name not in result.output
