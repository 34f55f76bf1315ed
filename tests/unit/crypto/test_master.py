"""Master key files: created private, refused when readable by others, env override."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import pytest

from phivault.crypto.master import create_master_key, key_id_for, load_master_keys
from phivault.errors import KeyUnavailable


def test_created_key_file_is_private_and_loads(tmp_path: Path) -> None:
    kid = create_master_key(tmp_path / "keys")
    key_file = tmp_path / "keys" / "master" / f"{kid}.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"
    keys = load_master_keys(tmp_path / "keys")
    assert keys.current_key_id == kid
    wrapped_kid, wrapped = keys.wrap(b"k" * 32, b"ctx")
    assert keys.unwrap(wrapped_kid, wrapped, b"ctx") == b"k" * 32


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    kid = create_master_key(tmp_path / "keys")
    os.chmod(tmp_path / "keys" / "master" / f"{kid}.key", 0o644)
    with pytest.raises(KeyUnavailable, match="mode 644"):
        load_master_keys(tmp_path / "keys")


def test_missing_key_dir_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="phivault init"):
        load_master_keys(tmp_path / "nothing")


def test_environment_key_takes_precedence(tmp_path: Path) -> None:
    raw = secrets.token_bytes(32)
    keys = load_master_keys(tmp_path / "nothing", base64.b64encode(raw).decode())
    assert keys.current_key_id == key_id_for(raw)


def test_environment_key_must_be_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="32 bytes"):
        load_master_keys(tmp_path, base64.b64encode(b"short").decode())


def test_wrapped_key_is_bound_to_its_context(tmp_path: Path) -> None:
    create_master_key(tmp_path / "keys")
    keys = load_master_keys(tmp_path / "keys")
    kid, wrapped = keys.wrap(b"k" * 32, b"tenant-a|data|1")
    with pytest.raises(Exception):  # noqa: B017,PT011 - cryptography's InvalidTag
        keys.unwrap(kid, wrapped, b"tenant-b|data|1")
